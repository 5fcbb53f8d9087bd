// The web page's layout and history in headless Chromium: the list scrolls inside a page that
// stays the size of the window (checked by element geometry), long messages wrap, older history
// loads when the reader scrolls up, and the list follows new messages unless the reader scrolled up.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuild, launchBrowser, messageIn, openPage, screenshot, signInThroughForm } from './support/browser.js';
import { gql, signUp, type Session } from './support/client.js';
import { startServer, type RunningServer } from './support/server.js';

let server: RunningServer;
let browser: Browser | undefined;
let alice: Session;
let bob: Session;

beforeAll(async () => {
  await ensureWebBuild();
  server = await startServer({ MESSAGE_RATE_LIMIT: '0' });
  browser = await launchBrowser();
  alice = await signUp(server.httpUrl, 'alice');
  bob = await signUp(server.httpUrl, 'bob');
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function say(user: Session, room: string, text: string): Promise<string> {
  const r = await gql(server.httpUrl, 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }', { r: room, t: text }, user.accessToken);
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return r.data.sendMessage.id;
}

/** A room with `count` numbered messages from bob, then one 4000-character message without a space. */
async function busyRoom(count: number): Promise<string> {
  const room = `busy-${Date.now() % 1e6}-${count}`;
  await gql(server.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, bob.accessToken);
  for (let i = 1; i <= count; i++) await say(bob, room, `message number ${i} in a busy room`);
  await say(bob, room, `${'W'.repeat(3990)}-long-word`);
  return room;
}

async function openRoom(page: Page, room: string) {
  await page.fill('#room-name', room);
  await page.click('#room-form button[type="submit"]');
  await page.locator('#room-title', { hasText: `# ${room}` }).waitFor();
}

interface Box {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** Where the parts of the page are, and how the document and the list scroll. */
function geometry(page: Page) {
  return page.evaluate(() => {
    const box = (selector: string): Box => {
      const r = document.querySelector(selector)!.getBoundingClientRect();
      return { top: r.top, bottom: r.bottom, left: r.left, right: r.right };
    };
    const list = document.querySelector<HTMLElement>('#messages')!;
    const doc = document.scrollingElement!;
    return {
      viewport: { width: innerWidth, height: innerHeight },
      document: { scrollHeight: doc.scrollHeight, scrollWidth: doc.scrollWidth },
      header: box('.topbar'),
      roomTitle: box('#room-title'),
      sendBox: box('#send-form'),
      sidebar: box('.sidebar'),
      list: { ...box('#messages'), scrollTop: list.scrollTop, scrollHeight: list.scrollHeight, clientHeight: list.clientHeight, scrollWidth: list.scrollWidth, clientWidth: list.clientWidth },
      longMessage: box('#messages li.message:last-child'),
    };
  });
}

const inside = (inner: Box, outer: { width: number; height: number }) => inner.top >= 0 && inner.left >= 0 && inner.bottom <= outer.height + 0.5 && inner.right <= outer.width + 0.5;

describe('the page stays the size of the window; the message list scrolls', () => {
  for (const viewport of [
    { width: 1200, height: 800 },
    { width: 390, height: 844 }, // a phone
  ]) {
    it(`with 100 messages and one of 4000 characters (${viewport.width}x${viewport.height}): header and send box in view, the newest message shown`, async () => {
      const room = await busyRoom(100);
      const { page, problems } = await openPage(browser!, `${server.url}/`, viewport);
      await signInThroughForm(page, alice.username, alice.password, 'login');
      await openRoom(page, room);
      await messageIn(page, '-long-word').waitFor();
      const g = await geometry(page);

      expect(g.document.scrollHeight).toBeLessThanOrEqual(g.viewport.height); // the page does not grow
      expect(g.document.scrollWidth).toBeLessThanOrEqual(g.viewport.width);
      expect(inside(g.header, g.viewport)).toBe(true);
      expect(inside(g.roomTitle, g.viewport)).toBe(true);
      expect(inside(g.sendBox, g.viewport)).toBe(true);
      expect(inside(g.list, g.viewport)).toBe(true);
      // the list scrolls, and is at its end: the long newest message is what the reader sees
      expect(g.list.scrollHeight).toBeGreaterThan(g.list.clientHeight);
      expect(g.list.scrollHeight - g.list.scrollTop - g.list.clientHeight).toBeLessThan(2);
      expect(g.longMessage.bottom).toBeLessThanOrEqual(g.list.bottom + 1);
      // the word of 4000 characters wraps inside the list: nothing sticks out sideways
      expect(g.list.scrollWidth).toBeLessThanOrEqual(g.list.clientWidth);
      expect(g.longMessage.right).toBeLessThanOrEqual(g.list.right);
      await screenshot(page, `web-layout-${viewport.width}x${viewport.height}.png`);
      expect(problems).toEqual([]);
      await page.context().close();
    });
  }
});

describe('older history and following new messages', () => {
  it('loads older pages when the reader scrolls up (recentMessages before:), keeping the view in place, down to the beginning', async () => {
    const room = await busyRoom(71); // 72 messages: pages of 30 (the page's conversationHistoryQuery), 30 + 30 + 12
    const { page } = await openPage(browser!, `${server.url}/`, { width: 1000, height: 700 });
    await signInThroughForm(page, alice.username, alice.password, 'login');
    await openRoom(page, room);
    await messageIn(page, '-long-word').waitFor();
    const count = () => page.locator('#messages li.message').count();
    expect(await count()).toBe(30);
    await expect(page.locator('#load-older').isVisible()).resolves.toBe(true);

    // scroll to the top: the next page comes in above, and the message that was on top stays in view
    const firstShown = 'message number 43 in a busy room';
    await page.locator('#messages').evaluate((list) => {
      list.scrollTop = 0;
    });
    await messageIn(page, 'message number 13 in a busy room').waitFor({ state: 'attached' });
    expect(await count()).toBe(60);
    const stays = await messageIn(page, firstShown).evaluate((li) => {
      const list = document.querySelector('#messages')!.getBoundingClientRect();
      const r = li.getBoundingClientRect();
      return r.bottom > list.top && r.top < list.bottom;
    });
    expect(stays).toBe(true);

    // the keyboard way: the button at the top loads the rest, then the list says where it begins
    await page.locator('#load-older').focus();
    await page.keyboard.press('Enter');
    await page.locator('.history-start', { hasText: `This is the beginning of #${room}.` }).waitFor();
    expect(await count()).toBe(72);
    const texts = await page.locator('#messages li.message .text').allTextContents();
    expect(texts.slice(0, 3)).toEqual(['message number 1 in a busy room', 'message number 2 in a busy room', 'message number 3 in a busy room']);
    expect(new Set(await page.locator('#messages li.message').evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.id))).size).toBe(72);
    await page.context().close();
  });

  it('stays at the newest message as messages arrive, but not while the reader is scrolled up ("new messages" takes them down)', async () => {
    const room = await busyRoom(60);
    const { page } = await openPage(browser!, `${server.url}/`, { width: 1000, height: 700 });
    await signInThroughForm(page, alice.username, alice.password, 'login');
    await openRoom(page, room);
    // each wait shorter than the test's: a failure names the step (one run in about ten hung here once, under a full suite)
    const step = { timeout: 8_000 };
    await messageIn(page, '-long-word').waitFor(step);
    const list = page.locator('#messages');
    const atEnd = () => list.evaluate((l) => l.scrollHeight - l.scrollTop - l.clientHeight < 2);

    await say(bob, room, 'arrives while at the end');
    await messageIn(page, 'arrives while at the end').waitFor(step);
    await expect.poll(atEnd).toBe(true);

    // scrolled up a little (not to the top, which loads older history): new messages do not move the view
    // and the page has seen the scroll (its listener runs before this one) before a message comes:
    // the scroll event fires at the next frame, which a busy machine can put after the message
    await list.evaluate(
      (l) =>
        new Promise<void>((resolve) => {
          l.addEventListener('scroll', () => resolve(), { once: true });
          l.scrollTop = l.scrollHeight - l.clientHeight - 600;
        }),
    );
    const before = await list.evaluate((l) => l.scrollTop);
    await say(bob, room, 'arrives while reading older ones');
    await page.locator('#jump', { hasText: '1 new message' }).waitFor(step);
    await say(bob, room, 'and another one');
    await page.locator('#jump', { hasText: '2 new messages' }).waitFor(step);
    expect(await list.evaluate((l) => l.scrollTop)).toBe(before);

    await page.click('#jump');
    await expect.poll(atEnd).toBe(true);
    await page.locator('#jump').waitFor({ state: 'hidden', ...step });
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('message-input');
    await page.context().close();
  });
});
