// The web chat page (web/, built with Vite) in Debian's headless Chromium, driven by playwright-core.
// Two browser contexts sign up as two users; one sends, the other sees the message appear.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp } from './support/client.js';
import { startServer, type RunningServer } from './support/server.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = `${root}test-artifacts`;
// as root, without the network: no sandbox, no GPU, and none of Chromium's background connections
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let server: RunningServer;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (Debian's package; no browser download)`);
  // the page as `npm run web:build` makes it, into web/dist, which the server serves at /
  await run(process.execPath, [`${root}node_modules/vite/bin/vite.js`, 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], { cwd: root });
  server = await startServer({ MESSAGE_RATE_LIMIT: '0' });
  // playwright gives every launch a new, empty --user-data-dir
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function openAs(username: string, password: string, mode: 'signup' | 'login'): Promise<Page> {
  const context = await browser!.newContext({ viewport: { width: 1100, height: 680 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(`${server.url}/`);
  await page.locator('#auth-form').waitFor();
  if (mode === 'signup') {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}/web-sign-in.png` });
  }
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click(mode === 'signup' ? '#signup' : '#login');
  await page.locator('#chat-view').waitFor({ state: 'visible' });
  await page.locator('#status[data-state="live"]').waitFor();
  expect(problems).toEqual([]);
  return page;
}

const messageIn = (page: Page, text: string) => page.locator('#messages li.message', { hasText: text });

describe('the web chat page in headless Chromium', () => {
  it('the page and the client module type-check against the browser library, without Node types', async () => {
    await run(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '--noEmit', '-p', 'web/tsconfig.json'], { cwd: root });
  }, 60_000);

  it('is served at / while GraphiQL stays at /graphql', async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('id="auth-form"');
    const graphiql = await fetch(server.httpUrl, { headers: { accept: 'text/html' } });
    expect(await graphiql.text()).toMatch(/graphiql/i);
    expect((await fetch(`${server.url}/nothing-here`)).status).toBe(404);
    expect((await fetch(`${server.url}/%2e%2e/package.json`)).status).toBe(404);
  });

  it('two users in two browser contexts: one sends, the other sees it appear', async () => {
    const suffix = Date.now() % 100000;
    const alice = await openAs(`alice_${suffix}`, 'alice password', 'signup');
    // bob exists already and logs in
    const bobUser = await signUp(server.httpUrl, 'bob');
    const bob = await openAs(bobUser.username, bobUser.password, 'login');

    for (const page of [alice, bob]) await expect(page.locator('#room-title').textContent()).resolves.toBe('# general');
    await expect(alice.locator('#room-list .room[aria-current="true"]').textContent()).resolves.toContain('general');

    await alice.fill('#message-input', 'Hello Bob! Is the new page working for you?');
    await alice.press('#message-input', 'Enter');
    await messageIn(bob, 'Hello Bob!').waitFor();
    await expect(messageIn(bob, 'Hello Bob!').locator('.author').textContent()).resolves.toBe(`alice_${suffix}`);
    await expect(messageIn(alice, 'Hello Bob!').getAttribute('class')).resolves.toContain('mine');

    await bob.fill('#message-input', 'Loud and clear, it shows up right away. <b>No HTML</b> gets through.');
    await bob.click('#send');
    await messageIn(alice, 'Loud and clear').waitFor();
    await expect(messageIn(alice, 'Loud and clear').locator('.text').textContent()).resolves.toContain('<b>No HTML</b>');
    await alice.fill('#message-input', 'Great. Let us move to #design.');
    await alice.press('#message-input', 'Enter');
    await messageIn(bob, 'move to #design').waitFor();

    // a room of its own: created on one side, joined on the other, history shown on joining
    await alice.fill('#room-name', 'secret-plans');
    await alice.check('#room-private');
    await alice.click('#room-form button');
    await alice.locator('#room-list .room[data-room="secret-plans"] .badge', { hasText: 'private' }).waitFor();
    await alice.fill('#room-name', 'design');
    await alice.click('#room-form button');
    await alice.locator('#room-title', { hasText: '# design' }).waitFor();
    await alice.fill('#message-input', 'First message in #design');
    await alice.press('#message-input', 'Enter');
    await messageIn(alice, 'First message in #design').waitFor();
    await bob.fill('#room-name', 'design');
    await bob.click('#room-form button');
    await messageIn(bob, 'First message in #design').waitFor();
    await bob.locator('#room-list .room[data-room="design"]').waitFor();
    await bob.click('#room-list .room[data-room="general"]');
    await messageIn(bob, 'move to #design').waitFor();

    mkdirSync(ARTIFACTS, { recursive: true });
    await bob.screenshot({ path: `${ARTIFACTS}/web-chat.png` });
    await alice.screenshot({ path: `${ARTIFACTS}/web-chat-alice.png` });
    expect(existsSync(`${ARTIFACTS}/web-chat.png`)).toBe(true);
  }, 60_000);
});
