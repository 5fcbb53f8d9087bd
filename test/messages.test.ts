import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { StoredMessage } from '../src/pubsub/types.js';
import type { ChatHooks, Services } from '../src/resolvers/context.js';
import { recentMessages, sendDirectMessage, sendMessage } from '../src/resolvers/messages.js';
import { createRoom, ensureDefaultRooms } from '../src/resolvers/rooms.js';
import { directMessageAdded, messageAdded } from '../src/resolvers/subscriptions.js';
import { expectCode, expectStrictlyIncreasing, failure, newUser, type TestUser } from './support/rules.js';
import { memoryServices, type TestServicesOptions } from './support/services.js';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');

let services: Services;
let alice: TestUser;
let bob: TestUser;

/** Fresh services with users alice and bob; `delivered` sees every message the engine hands to a subscriber. */
async function setUp(options: TestServicesOptions = {}, settings: Partial<Services['settings']> = {}, delivered?: (m: StoredMessage) => void) {
  const base = memoryServices(options);
  const engine = base.engine;
  services = {
    ...base,
    settings: { ...base.settings, ...settings },
    engine: delivered
      ? {
          ...engine,
          delivery: {
            subscribe: (topic, listener) =>
              engine.delivery.subscribe(topic, (m) => {
                delivered(m as StoredMessage);
                return listener(m);
              }),
          },
        }
      : engine,
  };
  await ensureDefaultRooms(services);
  alice = await newUser(services, 'alice');
  bob = await newUser(services, 'bob');
}

const send = (user: TestUser, text: string, room = 'general') => sendMessage(user.ctx, { room, text });

/** Reads `count` messages from a subscription. */
async function take(sub: AsyncIterator<StoredMessage>, count: number): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  while (out.length < count) {
    const r = await sub.next();
    if (r.done) throw new Error(`subscription ended after ${out.length} of ${count} messages`);
    out.push(r.value);
  }
  return out;
}

describe('sendMessage', () => {
  beforeEach(() => setUp());

  it('returns the stored message with an id of the form <ms>-<seq>', async () => {
    await setUp({ now: () => T0 });
    const m = await send(alice, 'hello');
    expect(m).toEqual({
      id: `${T0}-0`,
      room: 'general',
      text: 'hello',
      authorId: alice.id,
      authorName: 'alice',
      createdAt: new Date(T0).toISOString(),
    });
  });

  it('ids strictly increase, also within one millisecond', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) ids.push((await send(i % 2 ? alice : bob, `m${i}`)).id);
    expectStrictlyIncreasing(ids);
    const parallel = await Promise.all(Array.from({ length: 50 }, (_, i) => send(alice, `p${i}`)));
    expectStrictlyIncreasing([ids.at(-1)!, ...parallel.map((m) => m.id)]);
  });

  it('ids strictly increase when the clock stands still or steps back', async () => {
    let now = T0;
    await setUp({ now: () => now });
    const a = await send(alice, 'a');
    const b = await send(alice, 'b');
    now = T0 - 5000;
    const c = await send(alice, 'c');
    now = T0 + 1;
    const d = await send(alice, 'd');
    expect([a.id, b.id, c.id, d.id]).toEqual([`${T0}-0`, `${T0}-1`, `${T0}-2`, `${T0 + 1}-0`]);
  });
});

describe('recentMessages', () => {
  let now: number;
  let sent: StoredMessage[];
  beforeEach(async () => {
    now = T0;
    await setUp({ now: () => now });
    sent = [];
    for (let i = 0; i < 10; i++) {
      now = T0 + i * 10;
      sent.push(await send(i % 2 ? alice : bob, `m${i}`));
    }
  });
  const texts = (ms: StoredMessage[]) => ms.map((m) => m.text);

  it('returns the retained messages oldest first', async () => {
    await expect(recentMessages(alice.ctx, { room: 'general' })).resolves.toEqual(sent);
  });

  it('returns the newest `limit`, oldest first', async () => {
    expect(texts(await recentMessages(alice.ctx, { room: 'general', limit: 3 }))).toEqual(['m7', 'm8', 'm9']);
  });

  it('with before, returns only older messages', async () => {
    expect(texts(await recentMessages(alice.ctx, { room: 'general', before: sent[5]!.id }))).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(texts(await recentMessages(alice.ctx, { room: 'general', before: sent[5]!.id, limit: 2 }))).toEqual(['m3', 'm4']);
    await expect(recentMessages(alice.ctx, { room: 'general', before: sent[0]!.id })).resolves.toEqual([]);
  });

  it('with before a never-issued id, compares by the two numbers', async () => {
    // m5 is `${T0 + 50}-0`
    expect(texts(await recentMessages(alice.ctx, { room: 'general', before: `${T0 + 55}-0` }))).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    expect(texts(await recentMessages(alice.ctx, { room: 'general', before: `${T0 + 50}-7`, limit: 2 }))).toEqual(['m4', 'm5']);
    // 9 < 10 as numbers although '9' > '10' as strings
    expect(texts(await recentMessages(alice.ctx, { room: 'general', before: `${T0 + 9}-0` }))).toEqual(['m0']);
    await expect(recentMessages(alice.ctx, { room: 'general', before: '0-0' })).resolves.toEqual([]);
    await expect(recentMessages(alice.ctx, { room: 'general', before: `${T0 * 2}-0` })).resolves.toEqual(sent);
  });

  it('paging back with before visits every message once', async () => {
    const pages: StoredMessage[][] = [];
    let before: string | undefined;
    for (;;) {
      const page = await recentMessages(alice.ctx, { room: 'general', limit: 3, before });
      if (page.length === 0) break;
      pages.unshift(page);
      before = page[0]!.id;
    }
    expect(pages.map((p) => p.length)).toEqual([1, 3, 3, 3]);
    expect(pages.flat()).toEqual(sent);
  });

  it('an unknown room is NOT_FOUND', async () => {
    await expectCode(recentMessages(alice.ctx, { room: 'nowhere' }), 'NOT_FOUND');
  });

  it('a room without messages returns []', async () => {
    await createRoom(alice.ctx, { name: 'empty' });
    await expect(recentMessages(bob.ctx, { room: 'empty' })).resolves.toEqual([]);
  });
});

describe('MESSAGE_RATE_LIMIT', () => {
  beforeEach(() => setUp({ messageRateLimit: { count: 3, seconds: 10 } }));

  it('over the limit, a send is RATE_LIMITED with an integer retryAfter, and not stored', async () => {
    for (let i = 0; i < 3; i++) await send(alice, `m${i}`);
    const err = await expectCode(send(alice, 'one too many'), 'RATE_LIMITED');
    expect(Number.isInteger(err.extensions.retryAfter)).toBe(true);
    expect(err.extensions.retryAfter).toBeGreaterThanOrEqual(1);
    expect(err.extensions.retryAfter).toBeLessThanOrEqual(10);
    expect((await recentMessages(alice.ctx, { room: 'general' })).map((m) => m.text)).toEqual(['m0', 'm1', 'm2']);
  });

  it('counts per user across rooms and direct messages', async () => {
    await createRoom(alice.ctx, { name: 'lounge' });
    await send(alice, 'a');
    await send(alice, 'b', 'lounge');
    await sendDirectMessage(alice.ctx, { to: 'bob', text: 'c' });
    await expectCode(sendDirectMessage(alice.ctx, { to: 'bob', text: 'd' }), 'RATE_LIMITED');
    await expectCode(send(alice, 'e', 'lounge'), 'RATE_LIMITED');
    await expect(send(bob, 'bob is not limited')).resolves.toMatchObject({ authorId: bob.id });
  });

  it('parallel sends cannot exceed the limit', async () => {
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => send(alice, `m${i}`)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    await expect(recentMessages(alice.ctx, { room: 'general' })).resolves.toHaveLength(3);
  });
});

describe('messageAdded', () => {
  beforeEach(() => setUp());

  it('delivers live messages in order, from every sender, and none from before it subscribed', async () => {
    await send(alice, 'history');
    const sub = await messageAdded(bob.ctx, { room: 'general' });
    const sent: StoredMessage[] = [];
    for (let i = 0; i < 20; i++) sent.push(await send(i % 2 ? alice : bob, `live ${i}`));
    await expect(take(sub, 20)).resolves.toEqual(sent);
    await sub.return?.();
  });

  it('delivers only the room’s messages', async () => {
    await createRoom(alice.ctx, { name: 'lounge' });
    const sub = await messageAdded(bob.ctx, { room: 'lounge' });
    await send(alice, 'elsewhere', 'general');
    const here = await send(alice, 'here', 'lounge');
    await expect(sub.next()).resolves.toEqual({ done: false, value: here });
    await sub.return?.();
  });

  it('with after, yields the retained messages newer than after, then live ones', async () => {
    const history: StoredMessage[] = [];
    for (let i = 0; i < 5; i++) history.push(await send(alice, `old ${i}`));
    const sub = await messageAdded(bob.ctx, { room: 'general', after: history[1]!.id });
    const live = await send(alice, 'new');
    await expect(take(sub, 4)).resolves.toEqual([...history.slice(2), live]);
    await sub.return?.();
  });

  it('with after a never-issued id, compares by the two numbers; with after the newest id, yields only live ones', async () => {
    let now = T0;
    await setUp({ now: () => now });
    const history: StoredMessage[] = [];
    for (let i = 0; i < 12; i++) {
      now = T0 + i;
      history.push(await send(alice, `old ${i}`));
    }
    const fromNeverIssued = await messageAdded(bob.ctx, { room: 'general', after: `${T0 + 9}-5` });
    const fromZero = await messageAdded(bob.ctx, { room: 'general', after: '0-0' });
    const fromNewest = await messageAdded(bob.ctx, { room: 'general', after: history.at(-1)!.id });
    const live = await send(alice, 'new');
    await expect(take(fromNeverIssued, 3)).resolves.toEqual([history[10], history[11], live]);
    await expect(take(fromZero, 13)).resolves.toEqual([...history, live]);
    await expect(take(fromNewest, 1)).resolves.toEqual([live]);
    for (const sub of [fromNeverIssued, fromZero, fromNewest]) await sub.return?.();
  });

  it('with after, while messages are being sent, yields the log after `after` with no gap and no duplicate', async () => {
    await setUp({ historyLimit: 10_000 });
    const TOTAL = 1500;
    const SUBSCRIBE_AT = 700;
    const AFTER = 50; // the resumed backlog (~650) spans more than one page of the log (500)
    const sent: StoredMessage[] = [];
    let reachedMidway!: () => void;
    const midway = new Promise<void>((resolve) => (reachedMidway = resolve));
    const sender = (async () => {
      for (let i = 0; i < TOTAL; i++) {
        sent.push(await send(alice, `m${i}`));
        if (i === SUBSCRIBE_AT) reachedMidway();
        // hand over to the subscriber between sends, so its catch-up overlaps with live sends
        await nextMacrotask();
      }
    })();

    await midway;
    const after = sent[AFTER]!.id;
    const sub = await messageAdded(bob.ctx, { room: 'general', after });
    expect(sent.length).toBeLessThan(TOTAL); // still sending while the subscription starts
    const received = await take(sub, TOTAL - AFTER - 1);
    await sender;

    const log = await services.engine.log.range('general', { after, limit: TOTAL, from: 'oldest' });
    expect(log.map((m) => m.id)).toEqual(sent.slice(AFTER + 1).map((m) => m.id));
    expectStrictlyIncreasing(received.map((m) => m.id));
    expect(received.map((m) => m.id)).toEqual(log.map((m) => m.id));
    await sub.return?.();
  });

  it('with after, several concurrent senders: still exactly the log after `after`', async () => {
    const PER_SENDER = 200;
    const senders = [alice, bob, alice, bob];
    const sent: StoredMessage[] = [];
    let started!: () => void;
    const someSent = new Promise<void>((resolve) => (started = resolve));
    const sending = Promise.all(
      senders.map(async (user, s) => {
        for (let i = 0; i < PER_SENDER; i++) {
          sent.push(await send(user, `s${s} m${i}`));
          if (sent.length === 100) started();
        }
      }),
    );
    await someSent;
    const after = sent[10]!.id;
    const sub = await messageAdded(bob.ctx, { room: 'general', after });
    await sending;
    const log = await services.engine.log.range('general', { after, limit: 1000, from: 'oldest' });
    const received = await take(sub, log.length);
    expect(received.map((m) => m.id)).toEqual(log.map((m) => m.id));
    expectStrictlyIncreasing(received.map((m) => m.id));
    // and then it goes on live
    const live = await send(alice, 'after all that');
    await expect(sub.next()).resolves.toEqual({ done: false, value: live });
    await sub.return?.();
  });

  it('return() unsubscribes: subscriptionClosed once, a pending next() ends, later sends do not pile up', async () => {
    const hooks = { subscriptionOpened: vi.fn(), subscriptionClosed: vi.fn() } satisfies Partial<ChatHooks>;
    const delivered = vi.fn();
    await setUp({ hooks }, {}, delivered);

    const sub = await messageAdded(bob.ctx, { room: 'general' });
    expect(hooks.subscriptionOpened).toHaveBeenCalledTimes(1);
    await send(alice, 'one');
    await expect(sub.next()).resolves.toMatchObject({ done: false, value: { text: 'one' } });
    expect(delivered).toHaveBeenCalledTimes(1);

    const pending = sub.next();
    await expect(sub.return?.()).resolves.toMatchObject({ done: true });
    await expect(pending).resolves.toMatchObject({ done: true });
    expect(hooks.subscriptionClosed).toHaveBeenCalledTimes(1);

    for (let i = 0; i < 5; i++) await send(alice, `after ${i}`);
    expect(delivered).toHaveBeenCalledTimes(1);
    await expect(sub.next()).resolves.toMatchObject({ done: true });
    await sub.return?.();
    expect(hooks.subscriptionClosed).toHaveBeenCalledTimes(1);
  });

  it('a subscriber that never reads gets RATE_LIMITED once more than subscriberQueueLimit events pile up', async () => {
    const hooks = { subscriptionClosed: vi.fn() } satisfies Partial<ChatHooks>;
    const LIMIT = 5;
    const delivered = vi.fn();
    await setUp({ hooks }, { subscriberQueueLimit: LIMIT }, delivered);

    const keepsUp = await messageAdded(bob.ctx, { room: 'general' });
    const slow = await messageAdded(bob.ctx, { room: 'general' });
    const sent: StoredMessage[] = [];
    for (let i = 0; i < LIMIT; i++) sent.push(await send(alice, `m${i}`));
    // exactly the limit is still fine: it is all there
    await expect(take(keepsUp, LIMIT)).resolves.toEqual(sent);

    sent.push(await send(alice, 'one more'));
    await expect(take(keepsUp, 1)).resolves.toEqual([sent.at(-1)]);
    // the overflowing subscription is dropped at once, before its reader comes back
    expect(hooks.subscriptionClosed).toHaveBeenCalledTimes(1);
    const deliveredSoFar = delivered.mock.calls.length;
    await send(alice, 'later');
    expect(delivered).toHaveBeenCalledTimes(deliveredSoFar + 1); // only to the subscriber that keeps up

    const err = await expectCode(slow.next(), 'RATE_LIMITED');
    expect(err.extensions.retryAfter).toBeGreaterThanOrEqual(1);
    // reported once; then the stream is over
    await expect(slow.next()).resolves.toMatchObject({ done: true });
    expect(hooks.subscriptionClosed).toHaveBeenCalledTimes(1);
    await keepsUp.return?.();
  });

  it('a subscriber that never reads with after also fails instead of growing without bound', async () => {
    await setUp({}, { subscriberQueueLimit: 3 });
    const first = await send(alice, 'first');
    const slow = await messageAdded(bob.ctx, { room: 'general', after: first.id });
    for (let i = 0; i < 4; i++) await send(alice, `m${i}`);
    const err = await failure(async () => {
      for (let i = 0; i < 10; i++) await slow.next();
    });
    expect(err.extensions.code).toBe('RATE_LIMITED');
  });
});

describe('directMessageAdded', () => {
  it('receives direct messages sent to the viewer by someone else, not the viewer’s own', async () => {
    await setUp();
    const carol = await newUser(services, 'carol');
    const sub = await directMessageAdded(alice.ctx);

    await sendDirectMessage(alice.ctx, { to: 'bob', text: 'own, not delivered' });
    const fromBob = await sendDirectMessage(bob.ctx, { to: 'alice', text: 'from bob' });
    await send(bob, 'a room message is not a direct message');
    const fromCarol = await sendDirectMessage(carol.ctx, { to: 'ALICE', text: 'from carol' });
    await sendMessage(alice.ctx, { room: 'dm:alice:bob', text: 'own again, not delivered' });
    const viaRoom = await sendMessage(bob.ctx, { room: 'dm:alice:bob', text: 'from bob via sendMessage' });
    await sendDirectMessage(bob.ctx, { to: 'carol', text: 'between others' });
    const last = await sendDirectMessage(carol.ctx, { to: 'alice', text: 'last' });

    await expect(take(sub, 4)).resolves.toEqual([fromBob, fromCarol, viaRoom, last]);
    expect(fromBob.room).toBe('dm:alice:bob');
    expect(fromCarol.room).toBe('dm:alice:carol');
    await sub.return?.();
  });

  it('is per viewer: the recipient gets it, a third user does not', async () => {
    await setUp();
    const carol = await newUser(services, 'carol');
    const bobs = await directMessageAdded(bob.ctx);
    const carols = await directMessageAdded(carol.ctx);
    const toBob = await sendDirectMessage(alice.ctx, { to: 'bob', text: 'for bob' });
    const toCarol = await sendDirectMessage(alice.ctx, { to: 'carol', text: 'for carol' });
    await expect(bobs.next()).resolves.toEqual({ done: false, value: toBob });
    await expect(carols.next()).resolves.toEqual({ done: false, value: toCarol });
    await bobs.return?.();
    await carols.return?.();
  });

  it('a dm is also delivered to messageAdded on its room, for both members', async () => {
    await setUp();
    await sendDirectMessage(alice.ctx, { to: 'bob', text: 'open the conversation' });
    const alices = await messageAdded(alice.ctx, { room: 'dm:alice:bob' });
    const bobs = await messageAdded(bob.ctx, { room: 'dm:alice:bob' });
    const m = await sendDirectMessage(alice.ctx, { to: 'bob', text: 'hi' });
    await expect(alices.next()).resolves.toEqual({ done: false, value: m });
    await expect(bobs.next()).resolves.toEqual({ done: false, value: m });
    await alices.return?.();
    await bobs.return?.();
  });
});
