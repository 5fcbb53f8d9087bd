// The web page's conversations in headless Chromium: direct messages (started with a username,
// listed with unread counts, live), private rooms (invite, remove by the creator, leave), and the
// screenshot of the page the README shows (made here on every run as test-artifacts/web-chat-readme.png;
// `UPDATE_DOCS=1 npm test` copies it to docs/web-chat.png, the committed one).
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { pageSuite, messageIn, openPage, ROOT, roomButton, screenshot, send, signInThroughForm, unreadBadge } from './support/browser.js';
import { gql, signUp, type Session } from './support/client.js';
import { startServer, type RunningServer } from './support/server.js';

const suite = pageSuite();
const problems: string[][] = [];
// every page's problems, once the file's tests are done
afterAll(() => {
  for (const p of problems) expect(p).toEqual([]);
});

async function pageFor(user: Session, viewport?: { width: number; height: number }, on = suite.server): Promise<Page> {
  const opened = await openPage(suite.browser, `${on.url}/`, viewport);
  problems.push(opened.problems);
  await signInThroughForm(opened.page, user.username, user.password, 'login');
  return opened.page;
}

/** A user with a fixed, readable name on `on` (a server of its own, in memory). */
async function user(on: RunningServer, username: string): Promise<Session> {
  const password = 'correct horse battery';
  const r = await gql(on.httpUrl, 'mutation($u:String!,$p:String!){ register(username:$u,password:$p){ accessToken refreshToken user { id } } }', { u: username, p: password });
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return { username, password, accessToken: r.data.register.accessToken, refreshToken: r.data.register.refreshToken, userId: r.data.register.user.id };
}

async function say(from: Session, room: string, text: string, on = suite.server) {
  const r = await gql(on.httpUrl, 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }', { r: room, t: text }, from.accessToken);
  expect(r.errors).toBeUndefined();
}

async function openRoomByName(page: Page, room: string, isPrivate = false) {
  await page.fill('#room-name', room);
  if (isPrivate) await page.check('#room-private');
  await page.click('#room-form button[type="submit"]');
  await page.locator('#room-title', { hasText: `# ${room}` }).waitFor();
}

describe('direct messages', () => {
  it('starts a conversation with a username; the other side gets it live in its list with an unread count, and both write', async () => {
    const [ann, ben] = [await signUp(suite.server.httpUrl, 'ann'), await signUp(suite.server.httpUrl, 'ben')];
    const a = await pageFor(ann);
    const b = await pageFor(ben);
    const dm = `dm:${[ann.username, ben.username].sort().join(':')}`;

    await a.fill('#dm-user', ben.username);
    await a.click('#dm-form button');
    await a.locator('#room-title', { hasText: `@ ${ben.username}` }).waitFor();
    await a.locator('.history-start', { hasText: `beginning of your conversation with ${ben.username}` }).waitFor();
    await expect(a.locator('#room-actions').isHidden()).resolves.toBe(true); // no members panel in a direct conversation
    await send(a, 'Hi Ben, a word in private?');
    await messageIn(a, 'a word in private').waitFor();
    await roomButton(a, dm).waitFor();

    // ben's sidebar: the conversation appears with its count, without a reload
    await unreadBadge(b, dm, '1').waitFor();
    await expect(roomButton(b, dm).textContent()).resolves.toContain(`@ ${ann.username}`);
    await b.click(`.sidebar button.room[data-room="${dm}"]`);
    await messageIn(b, 'a word in private').waitFor();
    await roomButton(b, dm).locator('.unread').waitFor({ state: 'detached' });
    await send(b, 'Sure, go ahead.');
    await messageIn(a, 'Sure, go ahead.').waitFor();

    // while ann reads general, ben's next message counts on her conversation
    await a.click('.sidebar button.room[data-room="general"]');
    await a.locator('#room-title', { hasText: '# general' }).waitFor();
    await send(b, 'One more thing');
    await unreadBadge(a, dm, '1').waitFor();
  });

  it('says so when the username does not exist, and stays in the open conversation', async () => {
    const page = await pageFor(await signUp(suite.server.httpUrl, 'cal'));
    await page.fill('#dm-user', 'nobody_by_that_name');
    await page.click('#dm-form button');
    await page.locator('#chat-error', { hasText: 'There is no user named "nobody_by_that_name"' }).waitFor();
    await expect(page.locator('#room-title').textContent()).resolves.toBe('# general');
  });
});

describe('private rooms: invite, remove, leave', () => {
  it('the creator invites and removes a member, whose page loses the room at once; a member leaves', async () => {
    const [owner, guest] = [await signUp(suite.server.httpUrl, 'own'), await signUp(suite.server.httpUrl, 'gst')];
    const o = await pageFor(owner);
    const g = await pageFor(guest);
    const room = `plans-${Date.now() % 1e6}`;

    await openRoomByName(o, room, true);
    await roomButton(o, room).locator('.badge', { hasText: 'private' }).waitFor();
    await send(o, 'Only for invited eyes');
    await messageIn(o, 'Only for invited eyes').waitFor();
    // not a member yet: the server refuses, the page says why
    await g.fill('#room-name', room);
    await g.click('#room-form button[type="submit"]');
    await g.locator('#chat-error', { hasText: 'private' }).waitFor();

    await o.click('#members-toggle');
    await expect(o.locator('#members-toggle').getAttribute('aria-expanded')).resolves.toBe('true');
    await o.fill('#invite-user', guest.username);
    await o.press('#invite-user', 'Enter');
    await o.locator('#chat-note', { hasText: `${guest.username} can now read and write in #${room}` }).waitFor();
    // the guest's list shows it when it is read again (on focus, or every minute): here, on focus
    await g.evaluate(() => window.dispatchEvent(new Event('focus')));
    await roomButton(g, room).waitFor();
    await g.click(`.sidebar button.room[data-room="${room}"]`);
    await messageIn(g, 'Only for invited eyes').waitFor();

    // a member who is neither its owner nor a moderator cannot remove anyone
    await g.click('#members-toggle');
    await g.fill('#remove-user', owner.username);
    await g.press('#remove-user', 'Enter');
    await g.locator('#chat-error', { hasText: 'Only its moderators can remove members' }).waitFor();

    // the creator removes the guest: the guest's page leaves the room at once and drops it from the list
    await o.fill('#remove-user', guest.username);
    await o.press('#remove-user', 'Enter');
    await o.locator('#chat-note', { hasText: `${guest.username} was removed from #${room}` }).waitFor();
    await g.locator('#chat-error', { hasText: `You no longer have access to #${room}` }).waitFor();
    await g.locator('#room-title', { hasText: '# general' }).waitFor();
    await roomButton(g, room).waitFor({ state: 'detached' });

    // invited again, the guest leaves by itself
    await o.fill('#invite-user', guest.username);
    await o.press('#invite-user', 'Enter');
    await o.locator('#chat-note', { hasText: 'can now read' }).waitFor();
    await openRoomByName(g, room);
    await g.click('#leave-room');
    await g.click('#leave-yes');
    await g.locator('#chat-note', { hasText: `You left #${room}` }).waitFor();
    await g.locator('#room-title', { hasText: '# general' }).waitFor();
    await roomButton(g, room).waitFor({ state: 'detached' });
    const rooms = await gql(suite.server.httpUrl, '{ rooms { name } }', {}, guest.accessToken);
    expect(rooms.data.rooms.map((r: { name: string }) => r.name)).not.toContain(room);
  });
});

describe('the README screenshot', () => {
  let own: RunningServer | undefined;
  afterAll(() => own?.stop());

  it('a conversation with rooms, direct messages, unread counts, who is online and typing (docs/web-chat.png)', async () => {
    // a server of its own: only these four users, with readable names
    own = await startServer({ MESSAGE_RATE_LIMIT: '0' });
    const on = own;
    const [alice, bob, carol, dave] = [await user(on, 'alice'), await user(on, 'bob'), await user(on, 'carol'), await user(on, 'dave')];
    const run = (query: string, who: Session) => gql(on.httpUrl, query, {}, who.accessToken);
    await run('mutation { createRoom(name: "design") { name } }', alice);
    await run('mutation { createRoom(name: "launch", private: true) { name } }', carol);
    await run('mutation { inviteToRoom(room: "launch", username: "alice") { name } }', carol);
    await say(carol, 'general', 'Morning all! The new build is on staging.', on);
    await say(bob, 'general', 'Nice. Is the reconnect fix in it?', on);
    await say(carol, 'general', 'Yes: restart an instance while you chat, nothing gets lost or shown twice.', on);
    const a = await pageFor(alice, { width: 1200, height: 720 }, on);
    await a.locator('#room-title', { hasText: '# general' }).waitFor();
    const b = await pageFor(bob, undefined, on); // online too
    await send(a, 'Trying it now.');
    await messageIn(a, 'Trying it now').waitFor();
    await send(b, 'Works for me: I killed app2 and the page just said "reconnecting" for a second.');
    await messageIn(a, 'killed app2').waitFor();
    for (const text of ['Mockups for the sidebar are up', 'Feedback welcome before Friday']) await say(dave, 'design', text, on);
    await say(carol, 'launch', 'Draft of the announcement is ready', on);
    await run('mutation { sendDirectMessage(to: "alice", text: "Lunch at 12?") { id } }', dave);
    await unreadBadge(a, 'design', '2').waitFor();
    await unreadBadge(a, 'launch', '1').waitFor();
    await unreadBadge(a, 'dm:alice:dave', '1').waitFor();
    await a.locator('#online', { hasText: 'bob, alice (you)' }).waitFor();
    await run('mutation { startTyping(room: "general") }', carol);
    await a.locator('#typing', { hasText: 'carol is typing' }).waitFor();
    await a.mouse.move(0, 0);
    await a.evaluate(() => document.querySelector<HTMLTextAreaElement>('#message-input')?.blur());

    const shot = await screenshot(a, 'web-chat-readme.png');
    // the committed image changes only on request, so a test run leaves the working tree clean
    if (process.env.UPDATE_DOCS === '1') {
      mkdirSync(join(ROOT, 'docs'), { recursive: true });
      copyFileSync(shot, join(ROOT, 'docs/web-chat.png'));
    }
    // closed before their server stops: reconnecting to it would log refused connections as the page's problems
    await Promise.all([a.context().close(), b.context().close()]);
  });
});
