// The README's first steps in GraphiQL, in Debian's headless Chromium: a subscription to `general`
// in one tab, signed in through GraphiQL's Headers, receives a message sent from another tab.
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ARTIFACTS, pageSuite } from './support/browser.js';
import { signUp } from './support/client.js';
import { waitFor } from './support/net.js';

const suite = pageSuite({ webPage: false });

/** GraphiQL with `query` in its editor and the Authorization header in its Headers tab, then run. */
async function runInGraphiQL(query: string, token: string): Promise<Page> {
  const context = await suite.browser.newContext({ viewport: { width: 1200, height: 700 } });
  const page = await context.newPage();
  // what a user types into the Headers tab is kept in localStorage, where GraphiQL reads it back
  await page.addInitScript((headers) => localStorage.setItem('graphiql:headers', headers), JSON.stringify({ Authorization: `Bearer ${token}` }));
  await page.goto(`${suite.server.httpUrl}?query=${encodeURIComponent(query)}`);
  await page.locator('.graphiql-execute-button').click();
  return page;
}

describe('GraphiQL, as the README walks a new user through it', () => {
  it('serves GraphiQL from the package itself (no CDN)', async () => {
    const html = await (await fetch(suite.server.httpUrl, { headers: { accept: 'text/html' } })).text();
    expect(html).toContain('GraphiQL');
    expect(html).not.toMatch(/unpkg\.com|jsdelivr/);
  });

  it('a subscription to general in one tab shows a message sent from another tab', async () => {
    const alice = await signUp(suite.server.httpUrl, 'gqli');
    const subscriber = await runInGraphiQL('subscription { messageAdded(room: "general") { text author { username } } }', alice.accessToken);
    // wait until the server has the subscription, then send from a second tab
    await waitFor(async () => /^chat_active_subscriptions 1/m.test(await (await fetch(`${suite.server.url}/metrics`)).text()), { timeoutMs: 20_000, what: 'the subscription to reach the server' });
    const sender = await runInGraphiQL('mutation { sendMessage(room: "general", text: "hello from the other tab") { id } }', alice.accessToken);
    await sender.locator('.result-window', { hasText: '"id"' }).waitFor({ timeout: 20_000 });
    // a tab in the background may not render: look at the subscriber's, as a user would
    await subscriber.bringToFront();
    await subscriber.locator('.result-window', { hasText: 'hello from the other tab' }).waitFor({ timeout: 20_000 });
    expect(await subscriber.locator('.result-window').textContent()).toContain(alice.username);
    mkdirSync(ARTIFACTS, { recursive: true });
    await subscriber.screenshot({ path: `${ARTIFACTS}/graphiql-subscription.png` });
  }, 60_000);
});
