import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BackendUnavailableError } from '../src/errors.js';
import { compareIdStrings, parseId } from '../src/pubsub/ids.js';
import { createMemoryEngine } from '../src/pubsub/memory/index.js';
import { createClusterEngine } from '../src/pubsub/cluster/index.js';
import { createRedisEngine, ISO_FROM_MS_LUA } from '../src/pubsub/redis/index.js';
import { isChange, type Engine, type LogEntry, type RangeQuery, type RoomSignal, type StoredMessage, type Topic } from '../src/pubsub/types.js';
import { createRedisClient, createRedisCluster, type RedisClient, waitUntilReady } from '../src/store/redis-client.js';
import { waitFor } from './support/net.js';
import { keyValue, testPrefix } from './support/redis.js';
import { sharedCluster } from './support/redis-cluster.js';

// one real cluster (three masters) for the file's cluster suite
const cluster = sharedCluster({ replicasPerMaster: 0 });
afterAll(() => cluster.dispose());

interface EngineSettings {
  readonly historyLimit?: number;
  readonly historyTtl?: number;
  readonly now?: () => number;
}

/** Makes engines; with Redis each on its own connections, all sharing one key prefix (as instances of one deployment do). */
interface EngineFactory {
  readonly name: string;
  /** Redis trims approximately (MAXLEN ~), the memory engine exactly. */
  readonly exactCap: boolean;
  setup(): Promise<void>;
  make(settings?: EngineSettings): Promise<Engine>;
  /** Another instance seeing the same data: a second engine on its own connections, or for memory the same one. */
  peer(of: Engine): Promise<Engine>;
  /** Everything the backend stores about a room, as text (Redis: every key of the room); null where it cannot be read from outside. */
  stored(room: string): Promise<string | null>;
  dispose(): Promise<void>;
}

const memoryFactory = (): EngineFactory => ({
  name: 'memory',
  exactCap: true,
  async setup() {},
  async make(settings = {}) {
    return createMemoryEngine(settings);
  },
  async peer(of) {
    return of;
  },
  async stored() {
    return null;
  },
  async dispose() {},
});

/** Every key's value, as text. */
async function dump(raw: RedisClient, keys: string[]): Promise<string> {
  return JSON.stringify(await Promise.all(keys.map(async (k) => [k, await keyValue(raw, k)])));
}

const redisFactory = (): EngineFactory => {
  const { prefix, cleanup } = testPrefix();
  const made: Engine[] = [];
  let url = '';
  const make = async (settings: EngineSettings = {}) => {
    const client = createRedisClient(url, { commandTimeoutMs: 3000, name: 'engine-contract' });
    const subscriber = createRedisClient(url, { commandTimeoutMs: 3000, name: 'engine-contract-sub' });
    await Promise.all([waitUntilReady(client, 5000), waitUntilReady(subscriber, 5000)]);
    const engine = createRedisEngine({
      client,
      subscriber,
      keyPrefix: prefix,
      historyLimit: settings.historyLimit ?? 1000,
      historyTtl: settings.historyTtl ?? 604_800,
      ...(settings.now ? { now: settings.now } : {}),
    });
    made.push(engine);
    return engine;
  };
  return {
    name: 'redis',
    exactCap: false,
    async setup() {
      url = inject('redisUrl');
    },
    make,
    peer: () => make(),
    async stored(room) {
      const raw = new Redis(url);
      try {
        return await dump(raw, await raw.keys(`${prefix}room:{${room}}*`));
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

const clusterFactory = (): EngineFactory => {
  const { prefix } = testPrefix();
  const made: Engine[] = [];
  const make = async (settings: EngineSettings = {}) => {
    const client = createRedisCluster((await cluster.get()).seeds.split(','), { commandTimeoutMs: 3000, name: 'engine-contract' });
    await waitUntilReady(client, 10_000);
    const engine = createClusterEngine({
      cluster: client,
      keyPrefix: prefix,
      historyLimit: settings.historyLimit ?? 1000,
      historyTtl: settings.historyTtl ?? 604_800,
      ...(settings.now ? { now: settings.now } : {}),
    });
    made.push(engine);
    return engine;
  };
  return {
    name: 'cluster',
    exactCap: false,
    async setup() {
      await cluster.get();
    },
    make,
    peer: () => make(),
    async stored(room) {
      const raw = createRedisCluster((await cluster.get()).seeds.split(','), { commandTimeoutMs: 3000, name: 'engine-contract-raw' });
      try {
        await waitUntilReady(raw, 10_000);
        return await dump(raw, (await Promise.all(raw.nodes('master').map((n) => n.keys(`${prefix}room:{${room}}*`)))).flat().sort());
      } finally {
        raw.disconnect();
      }
    },
    // the cluster goes with the file
    async dispose() {
      await Promise.all(made.map((e) => e.close()));
    },
  };
};

const roomName = () => `room-${randomUUID().slice(0, 12)}`;
const draft = (text: string, authorId = 'author-1') => ({ text, authorId, authorName: 'alice' });

/** Subscribes and collects what arrives. */
async function collect(engine: Engine, topic: Topic) {
  const received: LogEntry[] = [];
  const subscription = await engine.delivery.subscribe(topic, (m) => received.push(m));
  return { received, subscription };
}

/** What a range query must return, computed from every message of the room (oldest first). */
function expectedRange(all: StoredMessage[], q: RangeQuery): StoredMessage[] {
  const inRange = all.filter(
    (m) => (q.after === undefined || compareIdStrings(m.id, q.after) > 0) && (q.before === undefined || compareIdStrings(m.id, q.before) < 0),
  );
  return q.from === 'oldest' ? inRange.slice(0, q.limit) : inRange.slice(Math.max(0, inRange.length - q.limit));
}

function engineContract(factory: EngineFactory) {
  let engine: Engine;
  beforeAll(async () => {
    await factory.setup();
    engine = await factory.make();
  });
  afterAll(() => factory.dispose());

  describe('append and range', () => {
    it('an appended message comes back with an id <ms>-<seq> and an ISO createdAt of that millisecond', async () => {
      const room = roomName();
      const before = Date.now();
      const m = await engine.log.append(room, draft('hello'));
      expect(m).toMatchObject({ room, text: 'hello', authorId: 'author-1', authorName: 'alice' });
      expect(m.id).toMatch(/^\d+-\d+$/);
      expect(m.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(new Date(m.createdAt).getTime()).toBe(Number(parseId(m.id)!.ms));
      expect(Math.abs(new Date(m.createdAt).getTime() - before)).toBeLessThan(5000);
      expect(await engine.log.range(room, { limit: 10, from: 'oldest' })).toEqual([m]);
    });

    it('ids strictly increase under 200 concurrent appends, and the log holds them in id order', async () => {
      const room = roomName();
      const { received } = await collect(engine, { kind: 'room', room });
      const appended = await Promise.all(Array.from({ length: 200 }, (_, i) => engine.log.append(room, draft(`m${i}`))));
      const ids = appended.map((m) => m.id);
      expect(new Set(ids).size).toBe(200);
      const sorted = [...appended].sort((a, b) => compareIdStrings(a.id, b.id));
      const log = await engine.log.range(room, { limit: 1000, from: 'oldest' });
      expect(log).toEqual(sorted);
      for (let i = 1; i < log.length; i++) expect(compareIdStrings(log[i - 1]!.id, log[i]!.id)).toBeLessThan(0);
      await waitFor(() => received.length === 200, { timeoutMs: 5000, what: '200 deliveries' });
      // delivery order is log order
      expect(received.map((m) => m.id)).toEqual(log.map((m) => m.id));
    });

    it('range honours after, before, limit and from for issued ids and ids never issued', async () => {
      const room = roomName();
      const all: StoredMessage[] = [];
      for (let i = 0; i < 12; i++) {
        all.push(await engine.log.append(room, draft(`r${i}`)));
        if (i % 4 === 3) await new Promise((r) => setTimeout(r, 3)); // some ids share a millisecond, some do not
      }
      const first = parseId(all[0]!.id)!;
      const last = parseId(all[11]!.id)!;
      const cursors: (string | undefined)[] = [
        undefined,
        '0-0',
        '0-1',
        '99999999999999-0',
        '18446744073709551615-18446744073709551615',
        `${first.ms - 1n}-18446744073709551615`,
        `${first.ms}-${first.seq + 100n}`,
        `${last.ms}-${last.seq + 1n}`,
        ...all.filter((_, i) => i % 3 === 1).map((m) => m.id),
      ];
      for (const after of cursors)
        for (const before of cursors)
          for (const limit of [1, 3, 100])
            for (const from of ['oldest', 'newest'] as const) {
              const q: RangeQuery = { limit, from, ...(after !== undefined ? { after } : {}), ...(before !== undefined ? { before } : {}) };
              expect(await engine.log.range(room, q), JSON.stringify(q)).toEqual(expectedRange(all, q));
            }
    });

    it('range of a room without messages is empty', async () => {
      expect(await engine.log.range(roomName(), { limit: 10, from: 'newest' })).toEqual([]);
    });

    it('a room keeps at least historyLimit messages, the newest ones, and drops older ones', async () => {
      const capped = await factory.make({ historyLimit: 5 });
      const room = roomName();
      const appended: StoredMessage[] = [];
      for (let i = 0; i < 300; i++) appended.push(await capped.log.append(room, draft(`c${i}`)));
      const kept = await capped.log.range(room, { limit: 1000, from: 'oldest' });
      // Redis trims with MAXLEN ~ (whole stream nodes, ~100 entries each): at least the limit, the
      // newest, in order; the memory engine trims exactly
      if (factory.exactCap) expect(kept).toHaveLength(5);
      expect(kept.length).toBeGreaterThanOrEqual(5);
      expect(kept.length).toBeLessThan(300);
      expect(kept).toEqual(appended.slice(appended.length - kept.length));
    });

    it('history is the newest historyLimit messages sent, with their edits and reactions: those crowd none out, and a deleted one keeps its place', async () => {
      const limit = 200;
      const capped = await factory.make({ historyLimit: limit });
      const room = roomName();
      const appended: StoredMessage[] = [];
      const deleted = new Set<string>();
      for (let i = 0; i < limit + 61; i++) {
        const m = await capped.log.append(room, draft(`k${i}`, 'writer'));
        appended.push(m);
        await capped.log.react(room, { target: m.id, emoji: '👍', add: true, authorId: 'fan', authorName: 'fan' }, { maxEmoji: 20 });
        await capped.log.change(room, { kind: 'edited', target: m.id, text: `edited ${i} end`, authorId: 'writer', authorName: 'writer' });
        if (i % 20 === 19) {
          await capped.log.change(room, { kind: 'deleted', target: m.id, text: '', authorId: 'writer', authorName: 'writer' });
          deleted.add(m.id);
        }
      }
      // a deleted message keeps its place (as its deletion): deleting does not bring older ones back
      const history = appended.slice(-limit).filter((m) => !deleted.has(m.id));
      const kept = await capped.log.range(room, { limit: 1000, from: 'oldest' });
      expect(kept.map((m) => m.id)).toEqual(history.map((m) => m.id));
      expect(kept.every((m) => m.text.endsWith(' end') && m.reactions?.[0]?.emoji === '👍')).toBe(true);
      // a message that left history left nothing behind: not its text, not its edit, not its state
      const stored = await factory.stored(room);
      if (stored !== null) {
        for (let i = 0; i < appended.length - limit; i++) {
          expect(stored).not.toContain(`edited ${i} end`);
          // a deleted one's deletion entry names it until trimming reaches the entry (no text)
          if (!deleted.has(appended[i]!.id)) expect(stored).not.toMatch(new RegExp(`${appended[i]!.id}(?![0-9])`));
        }
      }
      expect((await capped.reads.readMarks('reader', [room])).get(room)!.unread).toBe(history.length);
      // sending and deleting is sending: historyLimit of them make a history of deletions only, as
      // historyLimit plain messages would have pushed the others out too
      for (let i = 0; i < limit; i++) {
        const m = await capped.log.append(room, draft(`gone${i}`, 'writer'));
        await capped.log.change(room, { kind: 'deleted', target: m.id, text: '', authorId: 'writer', authorName: 'writer' });
      }
      expect(await capped.log.range(room, { limit: 1000, from: 'oldest' })).toEqual([]);
      expect((await capped.reads.readMarks('reader', [room])).get(room)!.unread).toBe(0);
    });

    it('moderators\' actions crowd no message out of history, up to historyLimit of them on top of every message\'s edit and reaction', async () => {
      const limit = 50;
      const capped = await factory.make({ historyLimit: limit });
      const room = roomName();
      const appended: StoredMessage[] = [];
      for (let i = 0; i < limit + 10; i++) {
        const m = await capped.log.append(room, draft(`k${i}`, 'writer'));
        appended.push(m);
        await capped.log.react(room, { target: m.id, emoji: '👍', add: true, authorId: 'fan', authorName: 'fan' }, { maxEmoji: 20 });
        await capped.log.change(room, { kind: 'edited', target: m.id, text: `k${i}!`, authorId: 'writer', authorName: 'writer' });
      }
      const mod = { id: 'mod', username: 'mod' };
      const target = { id: 'noisy', username: 'noisy' };
      for (let i = 0; i < limit / 2; i++) {
        await capped.moderation.apply(room, { action: 'mute', actor: mod, target, until: Date.now() + 60_000 });
        await capped.moderation.apply(room, { action: 'unmute', actor: mod, target });
      }
      const kept = await capped.log.range(room, { limit: 1000, from: 'oldest' });
      expect(kept.map((m) => m.id)).toEqual(appended.slice(-limit).map((m) => m.id));
    });

    it('messages older than historyTtl are not returned', async () => {
      let clock = Date.now();
      const aged = await factory.make({ historyTtl: 60, now: () => clock });
      const room = roomName();
      const m = await aged.log.append(room, draft('old'));
      expect(await aged.log.range(room, { limit: 10, from: 'oldest' })).toEqual([m]);
      clock += 70_000;
      expect(await aged.log.range(room, { limit: 10, from: 'oldest' })).toEqual([]);
      expect(await aged.log.range(room, { limit: 10, from: 'newest', before: '99999999999999-0' })).toEqual([]);
    });

    it('an append whose deadline has passed is refused and leaves the log unchanged', async () => {
      const room = roomName();
      const kept = await engine.log.append(room, draft('kept'));
      const { received } = await collect(engine, { kind: 'room', room });
      await expect(engine.log.append(room, draft('late'), { deadline: Date.now() - 1000 })).rejects.toBeInstanceOf(BackendUnavailableError);
      const after = await engine.log.append(room, draft('after'));
      await waitFor(() => received.length === 1, { timeoutMs: 3000, what: 'the message after' });
      expect(received).toEqual([after]);
      expect(await engine.log.range(room, { limit: 10, from: 'oldest' })).toEqual([kept, after]);
    });

    it('an append within its deadline succeeds', async () => {
      const room = roomName();
      const m = await engine.log.append(room, draft('in time'), { deadline: Date.now() + 5000 });
      expect(await engine.log.range(room, { limit: 10, from: 'oldest' })).toEqual([m]);
    });
  });

  describe('live delivery', () => {
    it('a subscriber receives appends in order, equal to what append returned and range reads', async () => {
      const room = roomName();
      const { received } = await collect(engine, { kind: 'room', room });
      const appended: StoredMessage[] = [];
      for (let i = 0; i < 20; i++) appended.push(await engine.log.append(room, draft(`live ${i} ✓ "quoted" \\ / \u0001`)));
      await waitFor(() => received.length === 20, { timeoutMs: 5000, what: '20 deliveries' });
      expect(received).toEqual(appended);
      expect(await engine.log.range(room, { limit: 100, from: 'oldest' })).toEqual(appended);
    });

    it('a message appended right after subscribe resolves is never missed', async () => {
      for (let i = 0; i < 50; i++) {
        const room = roomName();
        const { received, subscription } = await collect(engine, { kind: 'room', room });
        const m = await engine.log.append(room, draft(`race ${i}`));
        await waitFor(() => received.length === 1, { timeoutMs: 3000, what: `delivery in round ${i}` });
        expect(received).toEqual([m]);
        await subscription.unsubscribe();
      }
    });

    it('a message appended from another instance right after subscribe resolves is never missed', async () => {
      const other = await factory.peer(engine);
      for (let i = 0; i < 20; i++) {
        const room = roomName();
        const { received, subscription } = await collect(engine, { kind: 'room', room });
        const m = await other.log.append(room, draft(`cross race ${i}`));
        await waitFor(() => received.length === 1, { timeoutMs: 3000, what: `delivery in round ${i}` });
        expect(received).toEqual([m]);
        await subscription.unsubscribe();
      }
    });

    it('a room subscription reports a head: the log holds everything up to it, and everything after it is delivered', async () => {
      const room = roomName();
      const empty = await collect(engine, { kind: 'room', room });
      expect(empty.subscription.head).toBe('0-0');
      await empty.subscription.unsubscribe();
      const before = [await engine.log.append(room, draft('one')), await engine.log.append(room, draft('two'))];
      // a first listener (a fresh channel) and a second one joining it after a delivery
      const first = await collect(engine, { kind: 'room', room });
      expect(compareIdStrings(first.subscription.head!, before[1]!.id)).toBeGreaterThanOrEqual(0);
      const third = await engine.log.append(room, draft('three'));
      await waitFor(() => first.received.length === 1, { timeoutMs: 3000, what: 'delivery of three' });
      const second = await collect(engine, { kind: 'room', room });
      expect(second.subscription.head).toBe(third.id);
      const fourth = await engine.log.append(room, draft('four'));
      expect(compareIdStrings(fourth.id, second.subscription.head!)).toBeGreaterThan(0);
      await waitFor(() => second.received.length === 1, { timeoutMs: 3000, what: 'delivery of four' });
      expect(second.received).toEqual([fourth]);
      const user = await collect(engine, { kind: 'user', userId: 'someone' });
      expect(user.subscription.head).toBeUndefined();
      await Promise.all([first, second, user].map((c) => c.subscription.unsubscribe()));
    });

    it('every listener of a channel receives the same message object', async () => {
      const room = roomName();
      const a = await collect(engine, { kind: 'room', room });
      const b = await collect(engine, { kind: 'room', room });
      await engine.log.append(room, draft('shared'));
      await waitFor(() => a.received.length === 1 && b.received.length === 1, { timeoutMs: 3000, what: 'both deliveries' });
      expect(a.received[0]).toBe(b.received[0]);
    });

    it('a throwing listener does not keep the message from the others', async () => {
      const room = roomName();
      await engine.delivery.subscribe({ kind: 'room', room }, () => {
        throw new Error('faulty listener');
      });
      const { received } = await collect(engine, { kind: 'room', room });
      const m = await engine.log.append(room, draft('despite'));
      await waitFor(() => received.length === 1, { timeoutMs: 3000, what: 'delivery' });
      expect(received).toEqual([m]);
    });

    it('notified users receive the message on their own topic, others do not', async () => {
      const room = roomName();
      const [u1, u2, bystander] = [randomUUID(), randomUUID(), randomUUID()];
      const a = await collect(engine, { kind: 'user', userId: u1 });
      const b = await collect(engine, { kind: 'user', userId: u2 });
      const c = await collect(engine, { kind: 'user', userId: bystander });
      const r = await collect(engine, { kind: 'room', room });
      const m = await engine.log.append(room, draft('direct'), { notifyUsers: [u1, u2] });
      await waitFor(() => a.received.length === 1 && b.received.length === 1 && r.received.length === 1, { timeoutMs: 3000, what: 'deliveries' });
      expect(a.received).toEqual([m]);
      expect(b.received).toEqual([m]);
      expect(r.received).toEqual([m]);
      // a later room message proves the bystander's channel had its chance
      await engine.log.append(room, draft('plain'));
      await waitFor(() => r.received.length === 2, { timeoutMs: 3000, what: 'second delivery' });
      expect(c.received).toEqual([]);
      expect(a.received).toHaveLength(1);
    });

    it('unsubscribe stops delivery to that listener only, is idempotent, and the channel can be subscribed again', async () => {
      const room = roomName();
      const a = await collect(engine, { kind: 'room', room });
      const b = await collect(engine, { kind: 'room', room });
      await a.subscription.unsubscribe();
      await a.subscription.unsubscribe();
      const m1 = await engine.log.append(room, draft('one'));
      await waitFor(() => b.received.length === 1, { timeoutMs: 3000, what: 'delivery to b' });
      expect(a.received).toEqual([]);
      expect(b.received).toEqual([m1]);
      await b.subscription.unsubscribe();
      await engine.log.append(room, draft('nobody listens'));
      const c = await collect(engine, { kind: 'room', room });
      const m3 = await engine.log.append(room, draft('three'));
      await waitFor(() => c.received.length === 1, { timeoutMs: 3000, what: 'delivery to c' });
      expect(c.received).toEqual([m3]);
      expect(b.received).toEqual([m1]);
    });

    it('two instances see each other’s appends in the same order with the same ids', async () => {
      const other = await factory.peer(engine);
      const room = roomName();
      const here = await collect(engine, { kind: 'room', room });
      const there = await collect(other, { kind: 'room', room });
      const appended = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? engine : other).log.append(room, draft(`x${i}`, i % 2 === 0 ? 'here' : 'there'))),
      );
      await waitFor(() => here.received.length === 40 && there.received.length === 40, { timeoutMs: 5000, what: '40 deliveries on both' });
      const log = await other.log.range(room, { limit: 100, from: 'oldest' });
      expect(here.received).toEqual(log);
      expect(there.received).toEqual(log);
      expect([...appended].sort((a, b) => compareIdStrings(a.id, b.id))).toEqual(log);
      expect(await engine.log.range(room, { limit: 100, from: 'oldest' })).toEqual(log);
    });
  });

  describe('edits and deletions', () => {
    it('only the author changes a message; history shows the final state, entries the events, subscribers the changes', async () => {
      const room = roomName();
      const live = await collect(engine, { kind: 'room', room });
      const a = await engine.log.append(room, draft('first', 'ann'));
      const b = await engine.log.append(room, draft('second', 'bob'));
      const c = await engine.log.append(room, draft('third', 'ann'));
      expect(await engine.log.change(room, { kind: 'edited', target: a.id, text: 'first!', authorId: 'bob', authorName: 'bob' })).toEqual({ ok: false, reason: 'not-author' });
      const edited = await engine.log.change(room, { kind: 'edited', target: a.id, text: 'first, edited', authorId: 'ann', authorName: 'ann' });
      const deleted = await engine.log.change(room, { kind: 'deleted', target: c.id, text: '', authorId: 'ann', authorName: 'ann' });
      expect(edited.ok && deleted.ok).toBe(true);
      if (!edited.ok || !deleted.ok) return;
      expect(edited.change).toMatchObject({ kind: 'edited', target: a.id, text: 'first, edited', room });
      expect(compareIdStrings(edited.change.id, c.id)).toBeGreaterThan(0);
      // gone or unknown messages cannot change
      expect(await engine.log.change(room, { kind: 'edited', target: c.id, text: 'back', authorId: 'ann', authorName: 'ann' })).toEqual({ ok: false, reason: 'not-found' });
      expect(await engine.log.change(room, { kind: 'deleted', target: '1-0', text: '', authorId: 'ann', authorName: 'ann' })).toEqual({ ok: false, reason: 'not-found' });
      expect(await engine.log.change(room, { kind: 'edited', target: edited.change.id, text: 'x', authorId: 'ann', authorName: 'ann' })).toEqual({ ok: false, reason: 'not-found' });

      const history = await engine.log.range(room, { limit: 10, from: 'newest' });
      expect(history.map((m) => [m.id, m.text, m.editedAt ?? null])).toEqual([
        [a.id, 'first, edited', edited.change.createdAt],
        [b.id, 'second', null],
      ]);
      expect(await engine.log.range(room, { after: a.id, limit: 10, from: 'oldest' })).toEqual([b]);
      expect(await engine.log.range(room, { limit: 1, from: 'newest' })).toEqual([b]);
      // the deleted message leaves only its deletion; the edited one shows its current text
      const entries = await engine.log.entries(room, { limit: 10 });
      expect(entries.map((e) => (isChange(e) ? `${e.kind}:${e.target}` : e.id))).toEqual([a.id, b.id, `edited:${a.id}`, `deleted:${c.id}`]);
      expect(entries[0]).toEqual(history[0]);
      expect((await engine.log.entries(room, { after: c.id, limit: 1 })).map((e) => e.id)).toEqual([edited.change.id]);
      // live subscribers saw each entry as it happened
      await waitFor(() => live.received.length === 5, { timeoutMs: 5000, what: 'five live entries' });
      expect(live.received).toEqual([a, b, c, edited.change, deleted.change]);
      await live.subscription.unsubscribe();
    });

    it('a deleted message leaves only its tombstone: its text (first or edited) is in no read, and not stored', async () => {
      const room = roomName();
      const a = await engine.log.append(room, draft('secret one', 'ann'));
      const edited = await engine.log.change(room, { kind: 'edited', target: a.id, text: 'secret two', authorId: 'ann', authorName: 'ann' });
      const b = await engine.log.append(room, draft('kept', 'bob'));
      const deleted = await engine.log.change(room, { kind: 'deleted', target: a.id, text: '', authorId: 'ann', authorName: 'ann' });
      expect(edited.ok && deleted.ok).toBe(true);
      if (!deleted.ok) return;
      const reads = {
        oldest: await engine.log.range(room, { limit: 10, from: 'oldest' }),
        newest: await engine.log.range(room, { limit: 10, from: 'newest' }),
        entries: await engine.log.entries(room, { limit: 10 }),
        replay: await engine.log.entries(room, { after: '0-0', limit: 10 }),
        resume: await engine.log.range(room, { after: '0-0', limit: 10, from: 'oldest' }),
      };
      expect(reads.oldest).toEqual([b]);
      expect(reads.entries).toEqual([b, deleted.change]);
      expect(reads.replay).toEqual([b, deleted.change]);
      expect(deleted.change.text).toBe('');
      expect(JSON.stringify(reads)).not.toMatch(/secret/);
      const stored = await factory.stored(room);
      if (stored !== null) {
        expect(stored).toContain('kept');
        expect(stored).not.toMatch(/secret/);
      }
      // nothing brings it back, and the tombstone cannot be changed either
      for (const target of [a.id, deleted.change.id])
        for (const kind of ['edited', 'deleted'] as const)
          expect(await engine.log.change(room, { kind, target, text: 'again', authorId: 'ann', authorName: 'ann' })).toEqual({ ok: false, reason: 'not-found' });
    });

    it('an edited message replays with its current text only: no earlier version is readable', async () => {
      const room = roomName();
      const a = await engine.log.append(room, draft('version one', 'ann'));
      await engine.log.change(room, { kind: 'edited', target: a.id, text: 'version two', authorId: 'ann', authorName: 'ann' });
      const third = await engine.log.change(room, { kind: 'edited', target: a.id, text: 'version three', authorId: 'ann', authorName: 'ann' });
      if (!third.ok) throw new Error('edit refused');
      const current = { ...a, text: 'version three', editedAt: third.change.createdAt };
      expect(await engine.log.range(room, { limit: 10, from: 'newest' })).toEqual([current]);
      const replay = await engine.log.entries(room, { after: '0-0', limit: 10 });
      expect(replay).toEqual([current, third.change]);
      expect(JSON.stringify(replay)).not.toMatch(/version (one|two)/);
      const stored = await factory.stored(room);
      // the message's own entry keeps what it was written with (a stream entry cannot change), but no intermediate version stays
      if (stored !== null) expect(stored).not.toMatch(/version two/);
    });

    it('entries pages over redacted entries: fewer than the limit only at the end of the log', async () => {
      const room = roomName();
      const kept: string[] = [];
      for (let i = 0; i < 12; i++) {
        const m = await engine.log.append(room, draft(`m${i}`, 'ann'));
        if (i % 3 === 0) kept.push(m.id);
        else await engine.log.change(room, { kind: 'deleted', target: m.id, text: '', authorId: 'ann', authorName: 'ann' });
      }
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await engine.log.entries(room, { limit: 3, ...(after ? { after } : {}) });
        seen.push(...page.filter((e) => !isChange(e)).map((e) => e.id));
        if (page.length < 3) break;
        expect(page).toHaveLength(3);
        after = page[2]!.id;
      }
      expect(seen).toEqual(kept);
    });
  });

  describe('idempotency', () => {
    it('a retry with the same clientId by the same author in the same room returns the first message, on every instance; the log and subscribers hold it once', async () => {
      const other = await factory.peer(engine);
      const room = roomName();
      const here = await collect(engine, { kind: 'room', room });
      const there = await collect(other, { kind: 'room', room });
      const first = await engine.log.append(room, draft('once'), { clientId: 'key-1' });
      expect(await other.log.append(room, draft('once'), { clientId: 'key-1' })).toEqual(first);
      expect(await engine.log.append(room, draft('once'), { clientId: 'key-1' })).toEqual(first);
      // racing retries: one message
      const raced = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? other : engine).log.append(room, draft('raced'), { clientId: 'key-2' })));
      expect(new Set(raced.map((m) => m.id)).size).toBe(1);
      const later = await engine.log.append(room, draft('later'));
      expect(await engine.log.range(room, { limit: 10, from: 'oldest' })).toEqual([first, raced[0], later]);
      await waitFor(() => here.received.length >= 3 && there.received.length >= 3, { timeoutMs: 5000, what: 'three deliveries on both' });
      await new Promise((r) => setTimeout(r, 50));
      expect(here.received).toEqual([first, raced[0], later]);
      expect(there.received).toEqual([first, raced[0], later]);
      await Promise.all([here.subscription.unsubscribe(), there.subscription.unsubscribe()]);
    });

    it('another author, another room or another key make a new message, and so does every append without a key', async () => {
      const room = roomName();
      const first = await engine.log.append(room, draft('text', 'ann'), { clientId: 'same' });
      const byBob = await engine.log.append(room, draft('text', 'bob'), { clientId: 'same' });
      const elsewhere = await engine.log.append(roomName(), draft('text', 'ann'), { clientId: 'same' });
      const otherKey = await engine.log.append(room, draft('text', 'ann'), { clientId: 'other' });
      const plain = [await engine.log.append(room, draft('text', 'ann')), await engine.log.append(room, draft('text', 'ann'))];
      expect(new Set([first, byBob, elsewhere, otherKey, ...plain].map((m) => `${m.room} ${m.id}`)).size).toBe(6);
      expect(await engine.log.range(room, { limit: 10, from: 'oldest' })).toHaveLength(5);
    });

    it('a retry answers the message as the log shows it now: edited, its current text; deleted, its id without text, and it does not come back', async () => {
      const room = roomName();
      const a = await engine.log.append(room, draft('first words', 'ann'), { clientId: 'edit-me' });
      const edit = await engine.log.change(room, { kind: 'edited', target: a.id, text: 'second words', authorId: 'ann', authorName: 'ann' });
      if (!edit.ok) throw new Error('edit refused');
      expect(await engine.log.append(room, draft('first words', 'ann'), { clientId: 'edit-me' })).toEqual({ ...a, text: 'second words', editedAt: edit.change.createdAt });
      const b = await engine.log.append(room, draft('doomed words', 'ann'), { clientId: 'delete-me' });
      await engine.log.change(room, { kind: 'deleted', target: b.id, text: '', authorId: 'ann', authorName: 'ann' });
      const retried = await engine.log.append(room, draft('doomed words', 'ann'), { clientId: 'delete-me' });
      expect(retried).toEqual({ ...b, text: '' });
      expect((await engine.log.range(room, { limit: 10, from: 'oldest' })).map((m) => m.id)).toEqual([a.id]);
      expect(JSON.stringify(await engine.log.entries(room, { limit: 10 }))).not.toMatch(/doomed|first words/);
    });

    it('a retried direct message notifies nobody a second time', async () => {
      const room = roomName();
      const bob = randomUUID();
      const inbox = await collect(engine, { kind: 'user', userId: bob });
      const m = await engine.log.append(room, draft('psst'), { notifyUsers: [bob], clientId: 'dm-1' });
      expect(await engine.log.append(room, draft('psst'), { notifyUsers: [bob], clientId: 'dm-1' })).toEqual(m);
      const next = await engine.log.append(room, draft('next'), { notifyUsers: [bob] });
      await waitFor(() => inbox.received.length >= 2, { timeoutMs: 5000, what: 'two notifications' });
      expect(inbox.received.map((e) => e.id)).toEqual([m.id, next.id]);
      await inbox.subscription.unsubscribe();
    });

    it('a key holds for the history TTL', async () => {
      let clock = Date.now();
      const aged = await factory.make({ historyTtl: 60, now: () => clock });
      const room = roomName();
      const m = await aged.log.append(room, draft('kept a while'), { clientId: 'ttl' });
      clock += 50_000;
      expect(await aged.log.append(room, draft('kept a while'), { clientId: 'ttl' })).toEqual(m);
    });
  });

  describe('read marks', () => {
    it('count what came after the mark, move forward only, and follow the author on send', async () => {
      const room = roomName();
      const other = roomName();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await engine.log.append(room, draft(`m${i}`, 'writer'))).id);
      const fresh = await engine.reads.readMarks('reader', [room, other]);
      expect(fresh.get(room)).toEqual({ lastReadId: null, unread: 5, mentions: 0 });
      expect(fresh.get(other)).toEqual({ lastReadId: null, unread: 0, mentions: 0 });
      expect(await engine.reads.markRead(room, 'reader', ids[2]!)).toEqual({ lastReadId: ids[2], unread: 2, mentions: 0 });
      // backwards is ignored
      expect(await engine.reads.markRead(room, 'reader', ids[0]!)).toEqual({ lastReadId: ids[2], unread: 2, mentions: 0 });
      // an id between messages reads up to the message before it
      const [ms, seq] = ids[3]!.split('-').map(BigInt) as [bigint, bigint];
      const after3 = `${ms}-${seq + 1n}` === ids[4] ? ids[3]! : `${ms}-${seq + 1n}`;
      expect((await engine.reads.markRead(room, 'reader', after3)).lastReadId).toBe(ids[3]);
      // the writer has read what it wrote
      expect((await engine.reads.readMarks('writer', [room])).get(room)).toEqual({ lastReadId: ids[4], unread: 0, mentions: 0 });
      await engine.log.append(room, draft('m5', 'writer'));
      expect((await engine.reads.readMarks('reader', [room])).get(room)!.unread).toBe(2);
      expect((await engine.reads.markRead(room, 'reader', '99999999999999-0')).unread).toBe(0);
    });

    it('leave deleted messages out, on every instance; an edit changes nothing', async () => {
      const other = await factory.peer(engine);
      const room = roomName();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await engine.log.append(room, draft(`m${i}`, 'writer'))).id);
      const remove = (id: string) => engine.log.change(room, { kind: 'deleted', target: id, text: '', authorId: 'writer', authorName: 'writer' });
      await remove(ids[3]!);
      expect((await other.reads.readMarks('reader', [room])).get(room)!.unread).toBe(4);
      expect((await engine.reads.markRead(room, 'reader', ids[1]!)).unread).toBe(2);
      // one before the mark: nothing changes; an edit: nothing changes
      await remove(ids[0]!);
      await engine.log.change(room, { kind: 'edited', target: ids[4]!, text: 'm4!', authorId: 'writer', authorName: 'writer' });
      expect((await other.reads.readMarks('reader', [room])).get(room)!.unread).toBe(2);
      await remove(ids[4]!);
      expect((await other.reads.markRead(room, 'reader', ids[1]!)).unread).toBe(1);
      expect((await engine.reads.readMarks('someone', [room])).get(room)!.unread).toBe(2);
    });

    it('count only what history shows: at most historyLimit, deleted ones out', async () => {
      const capped = await factory.make({ historyLimit: 5 });
      const room = roomName();
      const ids: string[] = [];
      const unread = async () => (await capped.reads.readMarks('reader', [room])).get(room)!.unread;
      const shown = async () => Math.min(5, (await capped.log.range(room, { limit: 1000, from: 'oldest' })).length);
      for (let i = 0; i < 8; i++) ids.push((await capped.log.append(room, draft(`m${i}`, 'writer'))).id);
      expect(await unread()).toBe(5);
      for (const i of [5, 6]) await capped.log.change(room, { kind: 'deleted', target: ids[i]!, text: '', authorId: 'writer', authorName: 'writer' });
      expect(await unread()).toBe(await shown());
      // the memory engine trims exactly: m3, m4 and m7 are left; Redis keeps whole stream nodes
      if (factory.exactCap) expect(await unread()).toBe(3);
      for (let i = 8; i < 12; i++) await capped.log.append(room, draft(`m${i}`, 'writer'));
      expect(await unread()).toBe(5);
      expect(await shown()).toBe(5);
    });
  });

  describe('signals and presence', () => {
    it('room signals reach every instance, and only that room', async () => {
      const other = await factory.peer(engine);
      const room = roomName();
      const got: RoomSignal[] = [];
      const elsewhere: RoomSignal[] = [];
      const sub = await other.signals.subscribe(room, (s) => got.push(s));
      const sub2 = await other.signals.subscribe(roomName(), (s) => elsewhere.push(s));
      const signal: RoomSignal = { type: 'typing', room, userId: 'u1', username: 'ann', expiresAt: new Date().toISOString() };
      await engine.signals.publish(signal);
      await waitFor(() => got.length === 1, { timeoutMs: 5000, what: 'the signal' });
      expect(got).toEqual([signal]);
      expect(elsewhere).toEqual([]);
      await sub.unsubscribe();
      await sub2.unsubscribe();
    });

    it('a user is present once however many subscriptions it has on however many instances, and leaves with the last', async () => {
      const other = await factory.peer(engine);
      const room = roomName();
      const signals: RoomSignal[] = [];
      const sub = await engine.signals.subscribe(room, (s) => signals.push(s));
      const ann = { id: randomUUID(), username: 'ann' };
      const bob = { id: randomUUID(), username: 'bob' };
      const a1 = await engine.signals.enterPresence(room, ann);
      const a2 = await other.signals.enterPresence(room, ann);
      const b1 = await other.signals.enterPresence(room, bob);
      const names = async () => (await other.signals.present(room)).map((u) => u.username).sort();
      expect(await names()).toEqual(['ann', 'bob']);
      await a1.leave();
      expect(await names()).toEqual(['ann', 'bob']);
      await a2.leave();
      await a2.leave(); // idempotent
      expect(await names()).toEqual(['bob']);
      await b1.leave();
      expect(await names()).toEqual([]);
      await waitFor(() => signals.length === 4, { timeoutMs: 5000, what: 'four presence signals' });
      expect(signals.map((s) => (s.type === 'presence' ? `${s.username}:${s.online}` : s.type))).toEqual(['ann:true', 'bob:true', 'ann:false', 'bob:false']);
      await sub.unsubscribe();
    });
  });

  describe('control events', () => {
    it('a broadcast reaches control listeners on every instance, the sender included, and not message listeners', async () => {
      const other = await factory.peer(engine);
      const here: unknown[] = [];
      const there: unknown[] = [];
      const subHere = await engine.control.subscribe((e) => here.push(e));
      const subThere = await other.control.subscribe((e) => there.push(e));
      const room = await collect(engine, { kind: 'room', room: roomName() });
      const events = [
        { type: 'login-revoked', familyId: randomUUID() },
        { type: 'member-removed', room: 'secret', userId: randomUUID() },
      ] as const;
      for (const e of events) await other.control.publish(e);
      await waitFor(() => here.length === 2 && there.length === 2, { timeoutMs: 5000, what: 'control events on both instances' });
      expect(here).toEqual(events);
      expect(there).toEqual(events);
      expect(room.received).toEqual([]);
      await subHere.unsubscribe();
      await other.control.publish(events[0]);
      await waitFor(() => there.length === 3, { timeoutMs: 5000, what: 'a third event' });
      expect(here).toHaveLength(2);
      await subThere.unsubscribe();
    });
  });

  it('an engine answers ping', async () => {
    expect(await engine.ping()).toBe(true);
  });
}

describe.each([memoryFactory(), redisFactory(), clusterFactory()])('engine contract: $name', (factory) => engineContract(factory));

describe('redis engine internals', () => {
  const url = inject('redisUrl');
  const { prefix, cleanup } = testPrefix();
  const client = createRedisClient(url, { commandTimeoutMs: 3000, name: 'engine-internals' });
  afterAll(async () => {
    client.disconnect();
    await cleanup(url);
  });

  it('the script writes createdAt exactly as Date#toISOString does', async () => {
    await waitUntilReady(client, 5000);
    const samples = [0, 1, 999, 86_399_999, 86_400_000, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, 1_735_689_599_999, 253_402_300_799_999];
    for (let i = 0; i < 2000; i++) samples.push(Math.floor(Math.random() * 253_402_300_799_999));
    const lua = `${ISO_FROM_MS_LUA}\nlocal out = {}\nfor i = 1, #ARGV do out[i] = iso_from_ms(tonumber(ARGV[i])) end\nreturn out`;
    const got = (await client.eval(lua, 0, ...samples.map(String))) as string[];
    expect(got).toEqual(samples.map((ms) => new Date(ms).toISOString()));
  });

  it('an idempotency key is a string in the room\'s slot holding the message id, kept for the history TTL', async () => {
    const subscriber = createRedisClient(url, { commandTimeoutMs: 3000, name: 'engine-internals-sub' });
    const appender = createRedisClient(url, { commandTimeoutMs: 3000, name: 'engine-internals-app' });
    await Promise.all([waitUntilReady(subscriber, 5000), waitUntilReady(appender, 5000), waitUntilReady(client, 5000)]);
    const engine = createRedisEngine({ client: appender, subscriber, keyPrefix: prefix, historyLimit: 100, historyTtl: 3600 });
    const room = roomName();
    const m = await engine.log.append(room, draft('keyed'), { clientId: 'abc-123' });
    const key = `${prefix}room:{${room}}:client:author-1:abc-123`;
    expect(await client.get(key)).toBe(m.id);
    expect(await client.pttl(key)).toBeGreaterThan(3_590_000);
    await engine.close();
  });

  it('a room log is a stream under <prefix>room:{name}:log and its message is published on <prefix>room:{name}', async () => {
    const subscriber = createRedisClient(url, { commandTimeoutMs: 3000, name: 'engine-internals-sub' });
    const appender = createRedisClient(url, { commandTimeoutMs: 3000, name: 'engine-internals-app' });
    await Promise.all([waitUntilReady(subscriber, 5000), waitUntilReady(appender, 5000)]);
    const engine = createRedisEngine({ client: appender, subscriber, keyPrefix: prefix, historyLimit: 100, historyTtl: 3600 });
    const room = roomName();
    const raw = createRedisClient(url, { commandTimeoutMs: 3000, name: 'engine-internals-raw' });
    await waitUntilReady(raw, 5000);
    const seen: string[] = [];
    raw.on('message', (_channel: string, message: string) => seen.push(message));
    await raw.subscribe(`${prefix}room:{${room}}`);
    const m = await engine.log.append(room, draft('layout'));
    expect(await client.type(`${prefix}room:{${room}}:log`)).toBe('stream');
    expect(await client.pttl(`${prefix}room:{${room}}:log`)).toBeGreaterThan(0);
    await waitFor(() => seen.length === 1, { timeoutMs: 3000, what: 'raw publish' });
    expect(JSON.parse(seen[0]!)).toEqual(m);
    raw.disconnect();
    await engine.close();
    expect(subscriber.status).toBe('end');
  });
});
