// The web page's connection in headless Chromium: "reconnecting" while its server restarts (and
// everything sent meanwhile shown once after), "session ended" when its login is revoked, a send
// whose answer is lost retried without a duplicate, and `npm run web:dev` live through Vite's proxy.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuild, launchBrowser, messageIn, openPage, pageSession, ROOT, screenshot, send, signInThroughForm } from './support/browser.js';
import { gql, signUp } from './support/client.js';
import { freePort, waitFor } from './support/net.js';
import { startDeployment, type Deployment } from './support/deployment.js';
import { startServer, type RunningServer, type ServerProcess } from './support/server.js';

let browser: Browser | undefined;
beforeAll(async () => {
  await ensureWebBuild();
  browser = await launchBrowser();
}, 120_000);
afterAll(() => browser?.close());

describe('the page while its server restarts (two instances on one Redis)', () => {
  let deployment: Deployment | undefined;
  afterAll(() => deployment?.stop());

  it('says "reconnecting" while it is down, keeps a message typed meanwhile, and shows everything once when it is back', async () => {
    deployment = await startDeployment({ env: { MESSAGE_RATE_LIMIT: '0', SHUTDOWN_TIMEOUT: '5' } });
    const [first, other] = deployment.servers as [ServerProcess, ServerProcess];
    const writer = await signUp(other.httpUrl, 'writer');
    const reader = await signUp(other.httpUrl, 'reader');
    const { page, problems } = await openPage(browser!, `${first.url}/`);
    await signInThroughForm(page, reader.username, reader.password, 'login');
    await expect(page.locator('#banner').isHidden()).resolves.toBe(true);

    // the page's attempts to reconnect, refused while the server is down
    let refused = 0;
    page.on('websocket', (ws) => ws.on('close', () => refused++));
    expect(await first.stop()).toBe(0); // SIGTERM: closes the page's socket with 1001
    await page.locator('#status[data-state="reconnecting"]').waitFor();
    await page.locator('#banner', { hasText: 'Reconnecting… The server is restarting.' }).waitFor();
    // a refused attempt (1006) does not change why the connection went
    await waitFor(() => refused >= 1, { timeoutMs: 20_000, what: 'a refused reconnection attempt' });
    await expect(page.locator('#banner-text').textContent()).resolves.toContain('Reconnecting… The server is restarting.');
    await screenshot(page, 'web-reconnecting.png');
    await gql(other.httpUrl, 'mutation { sendMessage(room: "general", text: "sent while the server was down") { id } }', {}, writer.accessToken);
    // sent while down: the client retries it (same clientId) until the server answers
    await send(page, 'typed while the server was down');

    await deployment.add({ PORT: String(first.port) });
    await page.locator('#status[data-state="live"]').waitFor({ timeout: 30_000 });
    await page.locator('#banner').waitFor({ state: 'hidden' });
    await messageIn(page, 'sent while the server was down').waitFor();
    await messageIn(page, 'typed while the server was down').waitFor({ timeout: 30_000 });
    await expect(messageIn(page, 'sent while the server was down').count()).resolves.toBe(1);
    await expect(messageIn(page, 'typed while the server was down').count()).resolves.toBe(1);
    await expect(page.locator('#chat-error').textContent()).resolves.toBe('');
    // page errors only: the browser logs the refused connections themselves as console errors
    expect(problems.filter((p) => p.startsWith('uncaught'))).toEqual([]);
  }, 90_000);
});

describe('the page with one in-memory server', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ MESSAGE_RATE_LIMIT: '0' });
  });
  afterAll(() => server?.stop());

  it('says "session ended" and shows the sign-in form when its login is revoked elsewhere', async () => {
    const user = await signUp(server.httpUrl, 'ended');
    const { page, problems } = await openPage(browser!, `${server.url}/`);
    await signInThroughForm(page, user.username, user.password, 'login');
    const { refreshToken } = await pageSession(page);
    // logging out elsewhere revokes the login: the server closes the page's socket with 4403 and refuses its refresh
    const r = await gql(server.httpUrl, 'mutation($t:String!){ logout(refreshToken:$t) }', { t: refreshToken });
    expect(r.data).toEqual({ logout: true });
    await page.locator('#auth-notice', { hasText: 'Your session ended' }).waitFor();
    await expect(page.locator('#chat-view').isHidden()).resolves.toBe(true);
    await expect(page.evaluate(() => sessionStorage.getItem('chat.session'))).resolves.toBeNull();
    await screenshot(page, 'web-session-ended.png');
    expect(problems).toEqual([]);
    // and signs in again from there
    await signInThroughForm(page, user.username, user.password, 'login');
    await page.locator('#auth-notice').waitFor({ state: 'hidden' });
  });

  it('a send whose answer is lost on the way is retried with the same clientId and shown once (server-side deduplication)', async () => {
    const user = await signUp(server.httpUrl, 'lost');
    const { page } = await openPage(browser!, `${server.url}/`);
    await signInThroughForm(page, user.username, user.password, 'login');
    const keys: unknown[] = [];
    let cut = false;
    await page.route('**/graphql', async (route) => {
      const body = route.request().postDataJSON() as { operationName?: string; variables?: { clientId?: unknown } } | null;
      if (body?.operationName !== 'SendMessage') return route.continue();
      keys.push(body.variables?.clientId);
      if (cut) return route.continue();
      cut = true;
      await route.fetch(); // the server stores the message...
      await route.abort('connectionreset'); // ...and the page never hears the answer
    });
    await send(page, 'answer lost on the way');
    await messageIn(page, 'answer lost on the way').waitFor();
    await waitFor(() => keys.length === 2, { what: 'the retry' });
    expect(keys[1]).toBe(keys[0]);
    const log = await gql(server.httpUrl, '{ recentMessages(room: "general", limit: 200) { text } }', {}, user.accessToken);
    expect(log.data.recentMessages.filter((m: { text: string }) => m.text === 'answer lost on the way')).toHaveLength(1);
    await expect(messageIn(page, 'answer lost on the way').count()).resolves.toBe(1);
  });
});

describe('npm run web:dev', () => {
  let server: RunningServer;
  let vite: ChildProcess | undefined;
  afterAll(async () => {
    if (vite?.exitCode === null) {
      const exited = new Promise((r) => vite!.once('exit', r));
      vite.kill('SIGTERM');
      await exited;
    }
    await server?.stop();
  });

  it('goes live through Vite\'s proxy (HTTP and WebSocket), without ALLOWED_ORIGINS on the server', async () => {
    server = await startServer({ MESSAGE_RATE_LIMIT: '0' }); // ALLOWED_ORIGINS unset: same origin only
    const port = await freePort();
    // what `npm run web:dev` runs, on a free port, pointed at this server (CHAT_SERVER)
    vite = spawn(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), '--config', 'web/vite.config.ts', '--port', String(port), '--strictPort', '--host', '127.0.0.1'], {
      cwd: ROOT,
      env: { ...process.env, CHAT_SERVER: server.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    vite.stdout!.on('data', (d) => (out += d));
    vite.stderr!.on('data', (d) => (out += d));
    const url = `http://127.0.0.1:${port}/`;
    await waitFor(() => fetch(url).then((r) => r.ok, () => false), { timeoutMs: 30_000, what: `vite on ${url}: ${out}` });

    const [me, other] = [await signUp(server.httpUrl, 'dev'), await signUp(server.httpUrl, 'dev')];
    const { page, problems } = await openPage(browser!, url);
    await signInThroughForm(page, me.username, me.password, 'login'); // waits for "live": the WebSocket is up
    await send(page, 'hello through the dev server');
    await messageIn(page, 'hello through the dev server').waitFor();
    await gql(server.httpUrl, 'mutation { sendMessage(room: "general", text: "and back from the server") { id } }', {}, other.accessToken);
    await messageIn(page, 'and back from the server').waitFor();
    expect(problems).toEqual([]);
    expect(out).not.toMatch(/error/i);
  }, 90_000);
});
