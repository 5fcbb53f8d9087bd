// The web page's moderation, reactions, replies and mentions in headless Chromium: a room's owner
// removes a message (everyone's page shows it removed by a moderator) and bans a user, whose page
// loses the room at once; reactions, a reply with its quote, a mention highlighted and counted.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { gql, signUp, type Session } from './support/client.js';
import { pageSuite, messageIn, openPage, roomButton, screenshot, send, signInThroughForm } from './support/browser.js';

const suite = pageSuite();

async function pageFor(user: Session): Promise<{ page: Page; problems: string[] }> {
  const opened = await openPage(suite.browser, `${suite.server.url}/`);
  await signInThroughForm(opened.page, user.username, user.password, 'login');
  return opened;
}

async function openRoomByName(page: Page, room: string) {
  await page.fill('#room-name', room);
  await page.click('#room-form button[type="submit"]');
  await page.locator('#room-title', { hasText: `# ${room}` }).waitFor();
}

describe('moderation and interactions on the web page', () => {
  it('the owner removes a message and bans a user, whose page loses the room; reactions, replies and mentions show live', async () => {
    const [owner, bob] = [await signUp(suite.server.httpUrl, 'own'), await signUp(suite.server.httpUrl, 'bob')];
    const { page: o, problems: ownerProblems } = await pageFor(owner);
    const { page: b, problems: bobProblems } = await pageFor(bob);
    const room = `town-${Date.now() % 1e6}`;

    await openRoomByName(o, room);
    await o.locator('#my-role', { hasText: 'you: owner' }).waitFor();
    await send(o, 'Welcome to the town square!\nBe nice.');
    await openRoomByName(b, room);
    await messageIn(b, 'Welcome to the town square').waitFor();
    // who runs the room shows next to their name
    await messageIn(b, 'Welcome to the town square').locator('.role-badge', { hasText: 'owner' }).waitFor();
    await expect(b.locator('#room-actions').isHidden()).resolves.toBe(true); // a member of a public room: no members panel

    // a reaction from the palette, seen live; the owner adds theirs by clicking the chip
    const welcome = (page: Page) => messageIn(page, 'Welcome to the town square');
    await welcome(b).hover();
    await welcome(b).locator('button.pick-reaction').click();
    await welcome(b).locator('.palette button', { hasText: '👍' }).click();
    await welcome(o).locator('.reaction', { hasText: '👍1' }).waitFor();
    await expect(welcome(o).locator('.reaction').getAttribute('aria-pressed')).resolves.toBe('false');
    await welcome(o).locator('.reaction').click();
    await welcome(b).locator('.reaction[aria-pressed="true"]', { hasText: '👍2' }).waitFor();
    await welcome(o).locator('.reaction[aria-pressed="true"]', { hasText: '👍2' }).waitFor();

    // a reply quotes the first line of what it answers
    await welcome(b).hover();
    await welcome(b).locator('button.reply').click();
    await b.locator('#reply-bar', { hasText: `Replying to ${owner.username}: Welcome to the town square!` }).waitFor();
    await send(b, 'Thanks, glad to be here');
    await b.locator('#reply-bar').waitFor({ state: 'hidden' });
    const reply = messageIn(o, 'glad to be here');
    await reply.locator('.quote', { hasText: `${owner.username} Welcome to the town square!` }).waitFor();

    // a mention of the owner is highlighted on the owner's page; read elsewhere, it is counted in the sidebar
    await send(b, `@${owner.username} when is the next meetup?`);
    await messageIn(o, 'next meetup').locator('.mention.me', { hasText: `@${owner.username}` }).waitFor();
    await o.click('.sidebar button.room[data-room="general"]');
    await o.locator('#room-title', { hasText: '# general' }).waitFor();
    await send(b, `@${owner.username} are you there?`);
    await roomButton(o, room).locator('.mentions', { hasText: '@1' }).waitFor();
    await o.click(`.sidebar button.room[data-room="${room}"]`);
    await messageIn(o, 'are you there?').waitFor();
    await roomButton(o, room).locator('.mentions').waitFor({ state: 'detached' });

    // the owner removes bob's message: both pages show it was removed by a moderator
    await send(b, 'Buy cheap watches at example.com');
    const spam = messageIn(o, 'Buy cheap watches');
    await spam.hover();
    await spam.locator('button.delete', { hasText: 'Remove' }).click();
    await spam.locator('button.confirm-delete').click();
    for (const page of [o, b]) {
      await page.locator('#messages li.message.removed', { hasText: 'Message removed by a moderator' }).waitFor();
      await messageIn(page, 'Buy cheap watches').waitFor({ state: 'detached' });
    }
    const history = await gql(suite.server.httpUrl, 'query($r:String!){ recentMessages(room:$r){ text } }', { r: room }, bob.accessToken);
    expect(JSON.stringify(history.data)).not.toContain('watches');

    // the owner bans bob from the members panel: bob's page loses the room at once
    await o.click('#members-toggle');
    const member = o.locator('#member-list li.member', { hasText: bob.username });
    await member.locator('button', { hasText: 'Ban' }).click();
    await o.locator('#chat-note', { hasText: `${bob.username} is banned from #${room}` }).waitFor();
    await o.locator('#messages .notice-line', { hasText: `you banned ${bob.username}` }).waitFor();
    await o.locator('#ban-list li', { hasText: bob.username }).waitFor();
    await b.locator('#chat-error', { hasText: `You were banned from #${room} by ${owner.username}` }).waitFor();
    await b.locator('#room-title', { hasText: '# general' }).waitFor();
    await roomButton(b, room).waitFor({ state: 'detached' });
    await screenshot(o, 'web-moderation-owner.png');
    await screenshot(b, 'web-moderation-banned.png');
    // and cannot come back by name
    await b.fill('#room-name', room);
    await b.click('#room-form button[type="submit"]');
    await b.locator('#chat-error', { hasText: 'banned' }).waitFor();
    await expect(b.locator('#room-title').textContent()).resolves.toBe('# general');

    // lifted: bob may join again
    await o.locator('#ban-list li', { hasText: bob.username }).locator('button', { hasText: 'Lift ban' }).click();
    await o.locator('#chat-note', { hasText: `${bob.username} may come back` }).waitFor();
    await openRoomByName(b, room);
    await messageIn(b, 'Be nice.').waitFor();

    expect(ownerProblems).toEqual([]);
    expect(bobProblems.filter((p) => !/status of 4\d\d|Failed to load resource/.test(p))).toEqual([]);
  }, 120_000);
});
