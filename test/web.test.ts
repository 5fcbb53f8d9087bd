// The web chat page (web/, built with Vite) in Debian's headless Chromium, driven by playwright-core.
// Two browser contexts sign up as two users; one sends, the other sees the message appear, and
// what the page shows beyond messages: typing, who is online, unread badges, edits and deletions.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { gql, signUp } from './support/client.js';
import { pageSuite, messageIn, openPage, ROOT, screenshot, send, signInThroughForm, unreadBadge } from './support/browser.js';

const run = promisify(execFile);

const suite = pageSuite();
const problems: string[][] = [];

async function openAs(username: string, password: string, mode: 'signup' | 'login'): Promise<Page> {
  const opened = await openPage(suite.browser, `${suite.server.url}/`);
  problems.push(opened.problems);
  if (mode === 'signup') await screenshot(opened.page, 'web-sign-in.png');
  await signInThroughForm(opened.page, username, password, mode);
  expect(opened.problems).toEqual([]);
  return opened.page;
}

const typingLine = (page: Page, text: string) => page.locator('#typing', { hasText: text });
/** The room header's online line, listing every one of `usernames`. */
const onlineLine = (page: Page, usernames: string[]) => usernames.reduce((line, name) => line.filter({ hasText: name }), page.locator('#online'));

async function unreadOnServer(token: string, room: string): Promise<number | undefined> {
  const r = await gql(suite.server.httpUrl, '{ rooms { name unreadCount } }', {}, token);
  return (r.data?.rooms as { name: string; unreadCount: number }[] | undefined)?.find((x) => x.name === room)?.unreadCount;
}

describe('the web chat page in headless Chromium', () => {
  it('the page and the client module type-check against the browser library, without Node types', async () => {
    await run(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '--noEmit', '-p', 'web/tsconfig.json'], { cwd: ROOT });
  }, 60_000);

  it('is served at / while GraphiQL stays at /graphql', async () => {
    const page = await fetch(`${suite.server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('id="auth-form"');
    const graphiql = await fetch(suite.server.httpUrl, { headers: { accept: 'text/html' } });
    expect(await graphiql.text()).toMatch(/graphiql/i);
    expect((await fetch(`${suite.server.url}/nothing-here`)).status).toBe(404);
    expect((await fetch(`${suite.server.url}/%2e%2e/package.json`)).status).toBe(404);
  });

  it('two users in two browser contexts: messages, typing, presence, unread badges, edits and deletions', async () => {
    const suffix = Date.now() % 100000;
    const aliceName = `alice_${suffix}`;
    const alice = await openAs(aliceName, 'alice password', 'signup');
    // bob exists already and logs in
    const bobUser = await signUp(suite.server.httpUrl, 'bob');
    const bob = await openAs(bobUser.username, bobUser.password, 'login');
    for (const page of [alice, bob]) await expect(page.evaluate(() => document.visibilityState)).resolves.toBe('visible');

    // the page opens general once its rooms list has loaded: wait for it rather than read it at once
    for (const page of [alice, bob]) await page.locator('#room-title', { hasText: /^# general$/ }).waitFor();
    await expect(alice.locator('#room-list .room[aria-current="true"]').textContent()).resolves.toContain('general');

    // the online line of the room header lists both, on both pages
    for (const page of [alice, bob]) await onlineLine(page, [aliceName, bobUser.username]).waitFor();
    await expect(bob.locator('#online .you').textContent()).resolves.toBe(`${bobUser.username} (you)`);

    await alice.fill('#message-input', 'Hello Bob! Is the new page working for you?');
    await alice.press('#message-input', 'Enter');
    await messageIn(bob, 'Hello Bob!').waitFor();
    await expect(messageIn(bob, 'Hello Bob!').locator('.author').textContent()).resolves.toBe(aliceName);
    await expect(messageIn(alice, 'Hello Bob!').getAttribute('class')).resolves.toContain('mine');
    // edit and delete are offered on one's own messages only (reply and react on every one)
    await expect(messageIn(alice, 'Hello Bob!').locator('.actions button.edit').count()).resolves.toBe(1);
    await expect(messageIn(bob, 'Hello Bob!').locator('.actions button.edit, .actions button.delete').count()).resolves.toBe(0);
    await expect(messageIn(bob, 'Hello Bob!').locator('.actions button.reply').count()).resolves.toBe(1);

    await bob.fill('#message-input', 'Loud and clear, it shows up right away. <b>No HTML</b> gets through.');
    await bob.click('#send');
    await messageIn(alice, 'Loud and clear').waitFor();
    await expect(messageIn(alice, 'Loud and clear').locator('.text').textContent()).resolves.toContain('<b>No HTML</b>');
    await alice.fill('#message-input', 'Great. Let us move to #design.');
    await alice.press('#message-input', 'Enter');
    await messageIn(bob, 'move to #design').waitFor();

    // typing: the message that arrived ended alice's typing line on bob's page; typing again shows it
    await typingLine(bob, `${aliceName} is typing`).waitFor({ state: 'hidden' });
    await alice.locator('#message-input').pressSequentially('On my way');
    await typingLine(bob, `${aliceName} is typing`).waitFor();
    await expect(alice.locator('#typing').textContent()).resolves.toBe(''); // not one's own
    await alice.press('#message-input', 'Enter');
    await messageIn(bob, 'On my way').waitFor();
    await typingLine(bob, 'is typing').waitFor({ state: 'hidden' });

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

    // unread badge: messages arrive in #design while bob reads #general
    await alice.fill('#message-input', 'Second message in #design, while Bob reads #general');
    await alice.press('#message-input', 'Enter');
    await unreadBadge(bob, 'design', '1').waitFor();
    await alice.fill('#message-input', 'And a third one');
    await alice.press('#message-input', 'Enter');
    await unreadBadge(bob, 'design', '2').waitFor();
    await expect(bob.locator('#room-list .room[data-room="general"] .unread').count()).resolves.toBe(0);
    await expect(bob.title()).resolves.toBe('(2) Chat');
    await expect(alice.locator('#room-list .unread').count()).resolves.toBe(0); // her own, in her open room
    // opening the room shows them and clears the badge, on the page and on the server (markRead)
    await bob.click('#room-list .room[data-room="design"]');
    await messageIn(bob, 'And a third one').waitFor();
    await bob.locator('#room-list .room[data-room="design"] .unread').waitFor({ state: 'detached' });
    await expect.poll(() => unreadOnServer(bobUser.accessToken, 'design'), { timeout: 10_000 }).toBe(0);
    await expect(bob.title()).resolves.toBe('Chat');
    await onlineLine(bob, [aliceName, bobUser.username]).waitFor();

    // alice edits her message: bob's page shows the new text, marked "(edited)"
    await alice.fill('#message-input', 'Meeting at 3pm in the small room');
    await alice.press('#message-input', 'Enter');
    await messageIn(bob, 'Meeting at 3pm').waitFor();
    const meeting = messageIn(alice, 'Meeting at 3pm');
    await meeting.hover();
    await meeting.locator('button.edit').click();
    await alice.locator('#messages .edit-input').fill('Meeting at 4pm in the big room');
    await alice.press('#messages .edit-input', 'Enter');
    await messageIn(bob, 'Meeting at 4pm in the big room').locator('.edited', { hasText: '(edited)' }).waitFor();
    await messageIn(bob, 'Meeting at 3pm').waitFor({ state: 'detached' });
    await messageIn(alice, 'Meeting at 4pm in the big room').locator('.edited').waitFor();

    // alice deletes one: it disappears from bob's page (and hers)
    await alice.fill('#message-input', 'Oops, this was meant for someone else');
    await alice.press('#message-input', 'Enter');
    await messageIn(bob, 'Oops, this was meant').waitFor();
    const oops = messageIn(alice, 'Oops, this was meant');
    await oops.hover();
    await oops.locator('button.delete').click();
    await oops.locator('button.confirm-delete').click();
    await messageIn(bob, 'Oops, this was meant').waitFor({ state: 'detached' });
    await messageIn(alice, 'Oops, this was meant').waitFor({ state: 'detached' });
    await expect(messageIn(bob, 'Meeting at 4pm').count()).resolves.toBe(1);

    // for the screenshots: a message in #general from a third user while bob reads #design,
    // alice typing, and her own message hovered (edit and delete shown)
    const carol = await signUp(suite.server.httpUrl, 'carol');
    const sent = await gql(suite.server.httpUrl, 'mutation { sendMessage(room: "general", text: "Lunch anyone?") { id } }', {}, carol.accessToken);
    expect(sent.errors).toBeUndefined();
    await unreadBadge(bob, 'general', '1').waitFor();
    await alice.locator('#message-input').pressSequentially('Sounds good');
    await typingLine(bob, `${aliceName} is typing`).waitFor();
    await messageIn(alice, 'Meeting at 4pm').hover();
    await messageIn(alice, 'Meeting at 4pm').locator('button.edit').waitFor();

    await screenshot(bob, 'web-chat.png');
    await screenshot(alice, 'web-chat-alice.png');
    for (const p of problems) expect(p).toEqual([]);
  }, 60_000);

  it('loads without console errors or warnings, and its room-name field refuses what the server would', async () => {
    const { page, problems: logged } = await openPage(suite.browser, `${suite.server.url}/`);
    const user = await signUp(suite.server.httpUrl, 'valid');
    await signInThroughForm(page, user.username, user.password, 'login');
    // browsers compile `pattern` with the v flag: an invalid one is logged and checks nothing
    expect(logged).toEqual([]);
    const valid = (value: string) => page.locator('#room-name').evaluate((input: HTMLInputElement, v) => {
      input.value = v;
      return input.checkValidity();
    }, value);
    expect(await valid('release-2_0')).toBe(true);
    expect(await valid('bad name!')).toBe(false);
    expect(await valid('-leading-dash')).toBe(false);
  });

  it('sends every message with its own clientId (the idempotency key retries reuse)', async () => {
    const user = await signUp(suite.server.httpUrl, 'keys');
    const page = await openAs(user.username, user.password, 'login');
    const keys: unknown[] = [];
    page.on('request', (request) => {
      const body = request.postDataJSON() as { operationName?: string; variables?: { clientId?: unknown } } | null;
      if (body?.operationName === 'SendMessage') keys.push(body.variables?.clientId);
    });
    for (const text of ['first with a key', 'second with a key']) {
      await send(page, text);
      await messageIn(page, text).waitFor();
    }
    expect(keys).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/), expect.stringMatching(/^[0-9a-f-]{36}$/)]);
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('works from the keyboard: Shift+Enter for a new line, Up edits the last own message, Escape leaves it, Alt+Up/Down switch conversations, and others\' messages are read out', async () => {
    const [a, b] = [await signUp(suite.server.httpUrl, 'keyb'), await signUp(suite.server.httpUrl, 'keyb')];
    const page = await openAs(a.username, a.password, 'login');
    await page.locator('#message-input').pressSequentially('two');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('lines');
    await page.keyboard.press('Enter');
    await expect(messageIn(page, 'two').locator('.text').textContent()).resolves.toBe('two\nlines');
    await expect(page.locator('#message-input').inputValue()).resolves.toBe('');
    // Up in the empty box edits it; Escape leaves the edit; Enter saves
    await page.keyboard.press('ArrowUp');
    await page.locator('#messages .edit-input').waitFor();
    await page.keyboard.press('Escape');
    await page.locator('#messages .edit-input').waitFor({ state: 'detached' });
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('message-input');
    await page.keyboard.press('ArrowUp');
    await page.locator('#messages .edit-input').waitFor();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('one line now');
    await page.keyboard.press('Enter');
    await messageIn(page, 'one line now').locator('.edited').waitFor();
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('message-input');
    // Alt+Down and Alt+Up move through the sidebar's conversations
    await gql(suite.server.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: `kbd-${Date.now() % 1e6}` }, b.accessToken);
    await page.evaluate(() => window.dispatchEvent(new Event('focus'))); // the list is read again
    await page.locator('.sidebar button.room[data-room^="kbd-"]').waitFor();
    const order = await page.locator('.sidebar button.room').evaluateAll((buttons) => buttons.map((b) => (b as HTMLElement).dataset.room!));
    const next = order[(order.indexOf('general') + 1) % order.length]!;
    await page.keyboard.press('Alt+ArrowDown');
    await page.locator(`.sidebar button.room[aria-current="true"][data-room="${next}"]`).waitFor();
    await page.keyboard.press('Alt+ArrowUp');
    await page.locator('#room-title', { hasText: '# general' }).waitFor();
    // a message from someone else is announced in the polite live region
    await gql(suite.server.httpUrl, 'mutation { sendMessage(room: "general", text: "read me out") { id } }', {}, b.accessToken);
    await page.locator('#announcer', { hasText: `${b.username}: read me out` }).waitFor();
    await expect(page.locator('#announcer').getAttribute('aria-live')).resolves.toBe('polite');
  });
});
