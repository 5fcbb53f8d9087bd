// Debian's headless Chromium driven by playwright-core, and the web page as `npm run web:build`
// makes it: what the browser tests of the page share.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { chromiumPath } from '../../scripts/test-prereqs.js';
import { waitFor } from './net.js';
import { startServer, type RunningServer } from './server.js';

const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CHROMIUM = chromiumPath();
export const ARTIFACTS = join(ROOT, 'test-artifacts');
// as root, without the network: no sandbox, no GPU, and none of Chromium's background connections
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Chromium, or a failure saying how to install it. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (Debian's package; no browser download), or set CHROMIUM_PATH; npm test installs it as root on Debian`);
  // playwright gives every launch a new, empty --user-data-dir
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}

const newest = (path: string): number =>
  statSync(path).isDirectory() ? readdirSync(path).reduce((t, f) => Math.max(t, newest(join(path, f))), 0) : statSync(path).mtimeMs;

/**
 * web/dist as `npm run web:build` makes it (which the server serves at /), built when older than
 * its sources. Test files run in parallel: one builds while the others wait on the lock.
 */
export async function ensureWebBuild(): Promise<void> {
  const built = join(ROOT, 'web/dist/index.html');
  const sources = ['web/index.html', 'web/src', 'web/vite.config.ts', 'client'].map((p) => join(ROOT, p));
  const fresh = () => existsSync(built) && statSync(built).mtimeMs > Math.max(...sources.map(newest));
  const lock = join(ROOT, 'web/.build-lock');
  let mine = false;
  await waitFor(
    () => {
      if (fresh()) return true;
      try {
        mkdirSync(lock); // atomic: one process at a time
      } catch {
        // a lock older than any build is left over from a killed run
        if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
        return false;
      }
      mine = true;
      return true;
    },
    { timeoutMs: 120_000, intervalMs: 200, what: 'the web page build of another test file' },
  );
  if (!mine) return;
  try {
    if (!fresh()) await run(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], { cwd: ROOT });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface OpenPage {
  readonly page: Page;
  /** Uncaught errors, console errors and console warnings of the page so far. */
  readonly problems: string[];
}

/** A new browser context (its own storage: one user) on `url`. */
export async function openPage(browser: Browser, url: string, viewport = { width: 1100, height: 680 }): Promise<OpenPage> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.stack || err.message || `${err.name}: ${String(err)}`}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()}`);
  });
  await page.goto(url);
  return { page, problems };
}

/** Signs in through the page's form and waits until it is live. */
export async function signInThroughForm(page: Page, username: string, password: string, mode: 'signup' | 'login'): Promise<void> {
  await page.locator('#auth-form').waitFor();
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click(mode === 'signup' ? '#signup' : '#login');
  await page.locator('#chat-view').waitFor({ state: 'visible' });
  await page.locator('#status[data-state="live"]').waitFor();
}

/** The access and refresh tokens the page keeps for its tab. */
export async function pageSession(page: Page): Promise<{ accessToken: string; refreshToken: string; user: { username: string } }> {
  return JSON.parse((await page.evaluate(() => sessionStorage.getItem('chat.session'))) ?? 'null');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  await page.screenshot({ path });
  return path;
}

export const messageIn = (page: Page, text: string) => page.locator('#messages li.message', { hasText: text });
export const roomButton = (page: Page, room: string) => page.locator(`.sidebar button.room[data-room="${room}"]`);
export const unreadBadge = (page: Page, room: string, count: string) => roomButton(page, room).locator('.unread', { hasText: new RegExp(`^${count}$`) });

/** Types a message into the send box and sends it with Enter. */
export async function send(page: Page, text: string) {
  await page.fill('#message-input', text);
  await page.press('#message-input', 'Enter');
}

/** What a page suite shares for its whole file. */
export interface PageSuite {
  readonly server: RunningServer;
  readonly browser: Browser;
}

/**
 * The built page, one in-memory server (rate limits off) and Chromium, for every test of the file
 * that calls it (at its top level); closed after the file's own afterAll hooks have run.
 * `webPage: false` for a suite that drives no page of ours (GraphiQL): nothing is built.
 */
export function pageSuite(options: { readonly webPage?: boolean } = {}): PageSuite {
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (options.webPage !== false) await ensureWebBuild();
    server = await startServer({ MESSAGE_RATE_LIMIT: '0' });
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });
  return {
    get server() {
      if (!server) throw new Error('pageSuite: the server is not started yet (use it inside tests or hooks)');
      return server;
    },
    get browser() {
      if (!browser) throw new Error('pageSuite: the browser is not started yet (use it inside tests or hooks)');
      return browser;
    },
  };
}
