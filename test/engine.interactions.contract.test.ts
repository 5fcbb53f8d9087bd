// The engine's contract for what people do with messages and what moderators do in rooms: replies,
// mentions, reactions, bans, mutes, roles and moderators' deletions. Each capability on every
// engine: the memory one, and two engines on their own connections (two instances) on a single
// Redis and on a Redis Cluster (every key of a room in its slot, sharded pub/sub).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClusterEngine } from '../src/pubsub/cluster/index.js';
import { createMemoryEngine } from '../src/pubsub/memory/index.js';
import { createRedisEngine } from '../src/pubsub/redis/index.js';
import { WriteRefused, type Engine, type LogEntry, type Topic } from '../src/pubsub/types.js';
import { createRedisClient, createRedisCluster, type RedisClient, waitUntilReady } from '../src/store/redis-client.js';
import { waitFor } from './support/net.js';
import { keyValue, testPrefix } from './support/redis.js';
import { sharedCluster } from './support/redis-cluster.js';

// one real cluster (three masters) for the file's cluster suite
const cluster = sharedCluster({ replicasPerMaster: 0 });
afterAll(() => cluster.dispose());

interface Factory {
  readonly name: string;
  setup(): Promise<void>;
  /** Two engines seeing the same data (two instances); for memory, the same one twice. */
  pair(): Promise<[Engine, Engine]>;
  /** A room's keys and their values (text) and TTLs (ms, -1: none); null where they cannot be read from outside. */
  stored(room: string): Promise<{ readonly text: string; readonly ttls: Record<string, number> } | null>;
  dispose(): Promise<void>;
}

/** What a room's keys hold, read through `raw` (one node, or each master of a cluster). */
async function roomDump(nodes: Redis[], pattern: string) {
  const text: unknown[] = [];
  const ttls: Record<string, number> = {};
  for (const node of nodes) {
    for (const key of await node.keys(pattern)) {
      text.push(await keyValue(node, key));
      ttls[key.slice(key.lastIndexOf(':') + 1)] = await node.pttl(key);
    }
  }
  return { text: JSON.stringify(text), ttls };
}

const memory = (): Factory => ({
  name: 'memory',
  async setup() {},
  async pair() {
    const engine = createMemoryEngine();
    return [engine, engine];
  },
  async stored() {
    return null;
  },
  async dispose() {},
});

const redis = (): Factory => {
  const { prefix, cleanup } = testPrefix();
  const made: Engine[] = [];
  let url = '';
  const make = async () => {
    const client = createRedisClient(url, { commandTimeoutMs: 3000, name: 'interactions' });
    const subscriber = createRedisClient(url, { commandTimeoutMs: 3000, name: 'interactions-sub' });
    await Promise.all([waitUntilReady(client, 5000), waitUntilReady(subscriber, 5000)]);
    const engine = createRedisEngine({ client, subscriber, keyPrefix: prefix, historyLimit: 1000, historyTtl: 604_800 });
    made.push(engine);
    return engine;
  };
  return {
    name: 'redis',
    async setup() {
      url = inject('redisUrl');
    },
    async pair() {
      return [await make(), await make()];
    },
    async stored(room) {
      const raw = new Redis(url);
      try {
        return await roomDump([raw], `${prefix}room:{${room}}*`);
      } finally {
        raw.disconnect();
      }
    },
    async dispose() {
      try {
        await Promise.all(made.map((e) => e.close()));
      } finally {
        await cleanup(url);
      }
    },
  };
};

const onCluster = (): Factory => {
  const { prefix } = testPrefix();
  const made: (Engine | RedisClient)[] = [];
  const make = async () => {
    const client = createRedisCluster((await cluster.get()).seeds.split(','), { commandTimeoutMs: 3000, name: 'interactions' });
    await waitUntilReady(client, 10_000);
    const engine = createClusterEngine({ cluster: client, keyPrefix: prefix, historyLimit: 1000, historyTtl: 604_800 });
    made.push(engine);
    return engine;
  };
  return {
    name: 'cluster',
    async setup() {
      await cluster.get();
    },
    async pair() {
      return [await make(), await make()];
    },
    async stored(room) {
      const raw = createRedisCluster((await cluster.get()).seeds.split(','), { commandTimeoutMs: 3000, name: 'interactions-raw' });
      try {
        await waitUntilReady(raw, 10_000);
        return await roomDump(raw.nodes('master'), `${prefix}room:{${room}}*`);
      } finally {
        raw.disconnect();
      }
    },
    // the cluster goes with the file
    async dispose() {
      await Promise.all(made.map((e) => ('close' in e ? e.close() : undefined)));
    },
  };
};

const roomName = () => `room-${randomUUID().slice(0, 12)}`;
const ann = { id: 'u-ann', username: 'ann' };
const bob = { id: 'u-bob', username: 'bob' };
const cat = { id: 'u-cat', username: 'cat' };
const by = (user: { id: string; username: string }, text: string, extra: object = {}) => ({ text, authorId: user.id, authorName: user.username, ...extra });

async function listen(engine: Engine, topic: Topic) {
  const received: LogEntry[] = [];
  const subscription = await engine.delivery.subscribe(topic, (e) => received.push(e));
  return { received, subscription };
}

async function refusal(write: Promise<unknown>): Promise<WriteRefused> {
  const err = await write.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WriteRefused);
  return err as WriteRefused;
}

function contract(factory: Factory) {
  let a: Engine;
  let b: Engine;
  beforeAll(async () => {
    await factory.setup();
    [a, b] = await factory.pair();
  });
  afterAll(() => factory.dispose());

  describe('replies', () => {
    it('a reply shows the first line of the message it answers, as that message is now, on every read and live', async () => {
      const room = roomName();
      const live = await listen(b, { kind: 'room', room });
      const quoted = await a.log.append(room, by(ann, 'first line\nsecond line'));
      const reply = await a.log.append(room, by(bob, 'agreed', { replyTo: quoted.id }));
      expect(reply.replyTo).toEqual({ id: quoted.id, authorId: ann.id, authorName: ann.username, firstLine: 'first line' });
      await waitFor(() => live.received.length === 2, { what: 'both live' });
      expect(live.received[1]).toMatchObject({ id: reply.id, replyTo: { id: quoted.id, firstLine: 'first line' } });
      await a.log.change(room, { kind: 'edited', target: quoted.id, text: 'better line\nmore', authorId: ann.id, authorName: ann.username });
      const [, history] = await b.log.range(room, { limit: 10, from: 'oldest' });
      expect(history!.replyTo).toMatchObject({ firstLine: 'better line' });
      await live.subscription.unsubscribe();
    });

    it('a reply to a deleted message shows a tombstone, and the deleted text is nowhere in storage', async () => {
      const room = roomName();
      const quoted = await a.log.append(room, by(ann, 'a secret-ish remark'));
      const reply = await a.log.append(room, by(bob, 'what?', { replyTo: quoted.id }));
      await a.log.change(room, { kind: 'deleted', target: quoted.id, text: '', authorId: ann.id, authorName: ann.username });
      const [history] = await b.log.range(room, { limit: 10, from: 'oldest' });
      expect(history).toMatchObject({ id: reply.id, replyTo: { id: quoted.id } });
      expect(history!.replyTo!.firstLine).toBeUndefined();
      const replayed = (await b.log.entries(room, { limit: 10 })).find((e) => e.id === reply.id);
      expect(replayed).toMatchObject({ replyTo: { id: quoted.id } });
      expect(JSON.stringify(replayed)).not.toContain('secret-ish');
      const stored = await factory.stored(room);
      if (stored !== null) expect(stored.text).not.toContain('secret-ish');
    });

    it('a reply to a message that is not in the room’s log is refused, and nothing is written', async () => {
      const room = roomName();
      const here = await a.log.append(room, by(ann, 'here'));
      const edit = await a.log.change(room, { kind: 'edited', target: here.id, text: 'here, edited', authorId: ann.id, authorName: ann.username });
      // ids are per room: one never issued here, and an entry that is not a message
      expect((await refusal(a.log.append(room, by(bob, 'to what?', { replyTo: '1-0' })))).reason).toBe('reply-not-found');
      expect((await refusal(a.log.append(room, by(bob, 'to what?', { replyTo: edit.ok ? edit.change.id : '' })))).reason).toBe('reply-not-found');
      expect(await b.log.range(room, { limit: 10, from: 'oldest' })).toHaveLength(1);
    });
  });

  describe('mentions', () => {
    it('a mention is stored with the message, counted for the mentioned user until they read it, and reaches their topic', async () => {
      const room = roomName();
      const topic = await listen(b, { kind: 'user', userId: bob.id });
      const m = await a.log.append(room, by(ann, 'hi @bob and @cat', { mentions: [bob, cat], notifyMentioned: [bob.id, cat.id] }));
      expect(m.mentions).toEqual([bob, cat]);
      await a.log.append(room, by(ann, 'no mention'));
      const second = await a.log.append(room, by(ann, '@bob again', { mentions: [bob], notifyMentioned: [bob.id] }));
      expect((await b.reads.readMarks(bob.id, [room])).get(room)).toMatchObject({ unread: 3, mentions: 2 });
      expect((await b.reads.readMarks(cat.id, [room])).get(room)).toMatchObject({ mentions: 1 });
      await waitFor(() => topic.received.length === 2, { what: 'bob notified twice' });
      expect(topic.received.map((e) => e.id)).toEqual([m.id, second.id]);
      expect((await b.log.range(room, { limit: 10, from: 'oldest' }))[0]!.mentions).toEqual([bob, cat]);
      expect(await a.reads.markRead(room, bob.id, m.id)).toMatchObject({ unread: 2, mentions: 1 });
      // a deleted mention no longer counts
      await a.log.change(room, { kind: 'deleted', target: second.id, text: '', authorId: ann.id, authorName: ann.username });
      expect((await b.reads.readMarks(bob.id, [room])).get(room)).toMatchObject({ mentions: 0 });
      expect(await a.reads.markRead(room, cat.id, second.id)).toMatchObject({ mentions: 0 });
      await topic.subscription.unsubscribe();
    });
  });

  describe('reactions', () => {
    it('one reaction per user per emoji per message, idempotent both ways, live with the message as it now is', async () => {
      const room = roomName();
      const m = await a.log.append(room, by(ann, 'react to me'));
      const live = await listen(b, { kind: 'room', room });
      const react = (user: typeof ann, emoji: string, add = true) => a.log.react(room, { target: m.id, emoji, add, authorId: user.id, authorName: user.username }, { maxEmoji: 3 });
      const first = await react(bob, '👍');
      expect(first.ok && first.change?.message.reactions).toEqual([{ emoji: '👍', userIds: [bob.id] }]);
      const again = await react(bob, '👍');
      expect(again).toMatchObject({ ok: true, change: null });
      await react(cat, '👍');
      await react(cat, '🎉');
      const removed = await react(bob, '👍', false);
      expect(removed.ok && removed.message.reactions).toEqual([
        { emoji: '👍', userIds: [cat.id] },
        { emoji: '🎉', userIds: [cat.id] },
      ]);
      expect(await react(bob, '👍', false)).toMatchObject({ ok: true, change: null });
      await waitFor(() => live.received.length === 4, { what: 'four reaction changes live' });
      expect(live.received.map((e) => 'kind' in e && e.kind === 'reaction' && [e.emoji, e.added, e.authorName])).toEqual([
        ['👍', true, 'bob'],
        ['👍', true, 'cat'],
        ['🎉', true, 'cat'],
        ['👍', false, 'bob'],
      ]);
      expect((await b.log.range(room, { limit: 5, from: 'oldest' }))[0]!.reactions).toEqual([
        { emoji: '👍', userIds: [cat.id] },
        { emoji: '🎉', userIds: [cat.id] },
      ]);
      await live.subscription.unsubscribe();
    });

    it('a bounded set of emoji per message; a deleted message takes its reactions with it', async () => {
      const room = roomName();
      const m = await a.log.append(room, by(ann, 'many'));
      const react = (emoji: string) => a.log.react(room, { target: m.id, emoji, add: true, authorId: bob.id, authorName: bob.username }, { maxEmoji: 2 });
      await react('🍎');
      await react('🍐');
      expect(await react('🍋')).toEqual({ ok: false, reason: 'too-many' });
      await a.log.change(room, { kind: 'deleted', target: m.id, text: '', authorId: ann.id, authorName: ann.username });
      expect(await react('🍎')).toEqual({ ok: false, reason: 'not-found' });
      const replay = await b.log.entries(room, { limit: 10 });
      expect(replay.map((e) => ('kind' in e ? e.kind : 'message'))).toEqual(['deleted']);
    });

    it('replay keeps one reaction entry per message, the latest, showing every reaction', async () => {
      const room = roomName();
      const m = await a.log.append(room, by(ann, 'replayed'));
      for (const [user, emoji] of [[bob, '👍'], [cat, '👍'], [cat, '❤️']] as const) {
        await a.log.react(room, { target: m.id, emoji, add: true, authorId: user.id, authorName: user.username }, { maxEmoji: 20 });
      }
      const edit = await a.log.change(room, { kind: 'edited', target: m.id, text: 'replayed, edited', authorId: ann.id, authorName: ann.username });
      // an edit keeps the message's reactions
      expect(edit.ok && edit.change.reactions).toHaveLength(2);
      const replay = await b.log.entries(room, { limit: 10 });
      expect(replay.map((e) => ('kind' in e ? e.kind : 'message'))).toEqual(['message', 'reaction', 'edited']);
      const reaction = replay[1]!;
      expect(reaction).toMatchObject({ kind: 'reaction', emoji: '❤️', added: true, message: { text: 'replayed, edited' } });
      expect('message' in reaction && reaction.message.reactions).toEqual([
        { emoji: '👍', userIds: [bob.id, cat.id] },
        { emoji: '❤️', userIds: [cat.id] },
      ]);
    });
  });

  describe('moderation', () => {
    const mod = { id: 'u-mod', username: 'moderator' };

    it('a ban refuses the user’s writes in the write’s own step, is an event in the log, and is undone by an unban', async () => {
      const room = roomName();
      const m = await a.log.append(room, by(bob, 'before the ban'));
      const live = await listen(b, { kind: 'room', room });
      const [banned] = await a.moderation.apply(room, { action: 'ban', actor: mod, target: bob });
      expect(banned).toMatchObject({ kind: 'moderation', action: 'banned', targetId: bob.id, targetName: bob.username, authorId: mod.id });
      expect(await a.moderation.apply(room, { action: 'ban', actor: mod, target: bob })).toEqual([]);
      expect((await refusal(b.log.append(room, by(bob, 'after')))).reason).toBe('banned');
      expect((await refusal(b.log.react(room, { target: m.id, emoji: '👍', add: true, authorId: bob.id, authorName: bob.username }, { maxEmoji: 20 }))).reason).toBe('banned');
      expect((await refusal(b.log.change(room, { kind: 'edited', target: m.id, text: 'x', authorId: bob.id, authorName: bob.username }))).reason).toBe('banned');
      expect(await b.moderation.standing(room, bob.id)).toEqual({ role: null, ownerId: null, banned: true, mutedUntil: null });
      expect(await b.moderation.bannedFrom(bob.id, [room, roomName()])).toEqual(new Set([room]));
      expect((await b.moderation.state(room)).bans).toMatchObject([{ id: bob.id, username: bob.username, byId: mod.id, byName: mod.username }]);
      const [unbanned] = await b.moderation.apply(room, { action: 'unban', actor: mod, target: bob });
      expect(unbanned).toMatchObject({ action: 'unbanned' });
      expect(await b.moderation.apply(room, { action: 'unban', actor: mod, target: bob })).toEqual([]);
      await a.log.append(room, by(bob, 'back'));
      await waitFor(() => live.received.length === 3, { what: 'ban, unban and message live' });
      expect(live.received.map((e) => ('kind' in e ? e.kind === 'moderation' && e.action : e.text))).toEqual(['banned', 'unbanned', 'back']);
      const replay = await a.log.entries(room, { limit: 10 });
      expect(replay.map((e) => ('kind' in e ? e.kind === 'moderation' && e.action : e.text))).toEqual(['before the ban', 'banned', 'unbanned', 'back']);
      await live.subscription.unsubscribe();
    });

    it('a mute refuses writes until it ends, saying until when, and can be lifted early', async () => {
      const room = roomName();
      const until = Date.now() + 60_000;
      const [muted] = await a.moderation.apply(room, { action: 'mute', actor: mod, target: bob, until });
      expect(muted).toMatchObject({ action: 'muted', until: new Date(until).toISOString() });
      const refused = await refusal(b.log.append(room, by(bob, 'hello?')));
      expect(refused).toMatchObject({ reason: 'muted', until: new Date(until).toISOString() });
      expect((await b.moderation.standing(room, bob.id)).mutedUntil).toBe(new Date(until).toISOString());
      expect((await b.moderation.state(room)).mutes).toMatchObject([{ id: bob.id, until: new Date(until).toISOString() }]);
      const [unmuted] = await b.moderation.apply(room, { action: 'unmute', actor: mod, target: bob });
      expect(unmuted).toMatchObject({ action: 'unmuted' });
      expect(await b.moderation.apply(room, { action: 'unmute', actor: mod, target: bob })).toEqual([]);
      await b.log.append(room, by(bob, 'free again'));
      // a mute that has ended refuses nothing, and lifting it is no event
      await a.moderation.apply(room, { action: 'mute', actor: mod, target: cat, until: Date.now() - 1 });
      await b.log.append(room, by(cat, 'never really muted'));
      expect(await a.moderation.apply(room, { action: 'unmute', actor: mod, target: cat })).toEqual([]);
    });

    it('roles: moderators named and dismissed, ownership handed over, each change an event', async () => {
      const room = roomName();
      const added = await a.moderation.apply(room, { action: 'role', actor: ann, changes: [{ target: bob, role: 'moderator' }] });
      expect(added).toMatchObject([{ action: 'role', targetId: bob.id, role: 'moderator' }]);
      expect(await a.moderation.apply(room, { action: 'role', actor: ann, changes: [{ target: bob, role: 'moderator' }] })).toEqual([]);
      expect((await b.moderation.standing(room, bob.id)).role).toBe('moderator');
      const handover = await a.moderation.apply(room, {
        action: 'role',
        actor: ann,
        changes: [
          { target: cat, role: 'owner' },
          { target: ann, role: 'moderator' },
        ],
      });
      expect(handover.map((e) => [e.targetName, e.role])).toEqual([
        ['cat', 'owner'],
        ['ann', 'moderator'],
      ]);
      expect(await b.moderation.state(room)).toMatchObject({ owner: cat, moderators: [ann, bob] });
      expect(await b.moderation.standing(room, cat.id)).toMatchObject({ role: 'owner', ownerId: cat.id });
      expect(await b.moderation.standing(room, ann.id)).toMatchObject({ role: 'moderator', ownerId: cat.id });
      await a.moderation.apply(room, { action: 'role', actor: cat, changes: [{ target: bob, role: 'member' }] });
      expect((await b.moderation.state(room)).moderators).toEqual([ann]);
      // a ban takes the role away
      await a.moderation.apply(room, { action: 'ban', actor: cat, target: ann });
      expect((await b.moderation.state(room)).moderators).toEqual([]);
    });

    it('a moderator deletes someone’s message: gone like an author’s deletion, the event names the moderator', async () => {
      const room = roomName();
      const m = await a.log.append(room, by(bob, 'spam spam spam'));
      expect(await a.log.change(room, { kind: 'deleted', target: m.id, text: '', authorId: mod.id, authorName: mod.username })).toEqual({ ok: false, reason: 'not-author' });
      const done = await a.log.change(room, { kind: 'deleted', target: m.id, text: '', authorId: mod.id, authorName: mod.username, asModerator: true });
      expect(done).toMatchObject({ ok: true, change: { kind: 'deleted', authorId: bob.id, moderatorId: mod.id, moderatorName: mod.username } });
      expect(await b.log.range(room, { limit: 10, from: 'oldest' })).toEqual([]);
      expect(await b.log.entries(room, { limit: 10 })).toMatchObject([{ kind: 'deleted', target: m.id, moderatorId: mod.id, moderatorName: mod.username }]);
      const stored = await factory.stored(room);
      if (stored !== null) expect(stored.text).not.toContain('spam spam');
    });

    it('ban state outlives the room’s log: it is not given the history’s expiry', async () => {
      const room = roomName();
      await a.moderation.apply(room, { action: 'ban', actor: mod, target: bob });
      await a.moderation.apply(room, { action: 'role', actor: ann, changes: [{ target: cat, role: 'moderator' }] });
      const stored = await factory.stored(room);
      if (stored === null) return;
      expect(stored.ttls).toMatchObject({ bans: -1, roles: -1 });
      expect(stored.ttls.log).toBeGreaterThan(0);
    });
  });
}

describe.each([memory(), redis(), onCluster()])('engine interactions contract: $name', (factory) => contract(factory));
