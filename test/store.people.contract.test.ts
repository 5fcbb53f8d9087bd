// Rosters (who is in a room, by name, a page at a time) and blocks, on every store: memory, and
// two Redis stores on their own connections (two instances of one deployment), on a single Redis
// and on a Redis Cluster.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createMemoryStore } from '../src/store/memory.js';
import { MAX_BLOCKS } from '../src/store/people.js';
import { createRedisClient, createRedisCluster, waitUntilReady } from '../src/store/redis-client.js';
import { createRedisStore } from '../src/store/redis.js';
import type { Store } from '../src/store/types.js';
import { testPrefix } from './support/redis.js';
import { sharedCluster } from './support/redis-cluster.js';

// one real cluster (three masters) for the file's cluster suite
const cluster = sharedCluster({ replicasPerMaster: 0 });
afterAll(() => cluster.dispose());

interface Factory {
  readonly name: string;
  /** Two stores over the same data; for memory, one store twice. */
  pair(): Promise<[Store, Store]>;
  dispose(): Promise<void>;
}

const memory = (): Factory => ({
  name: 'memory',
  async pair() {
    const store = createMemoryStore();
    return [store, store];
  },
  async dispose() {},
});

const redis = (): Factory => {
  const { prefix, cleanup } = testPrefix();
  const made: Store[] = [];
  const make = async () => {
    const client = createRedisClient(inject('redisUrl'), { commandTimeoutMs: 2000, name: 'people-contract' });
    await waitUntilReady(client, 5000);
    const store = createRedisStore({ client, keyPrefix: prefix });
    made.push(store);
    return store;
  };
  return {
    name: 'redis',
    async pair() {
      return [await make(), await make()];
    },
    async dispose() {
      try {
        await Promise.all(made.map((s) => s.close()));
      } finally {
        await cleanup(inject('redisUrl'));
      }
    },
  };
};

const onCluster = (): Factory => {
  const { prefix } = testPrefix();
  const made: Store[] = [];
  const make = async () => {
    const client = createRedisCluster((await cluster.get()).seeds.split(','), { commandTimeoutMs: 3000, name: 'people-contract' });
    await waitUntilReady(client, 10_000);
    const store = createRedisStore({ client, keyPrefix: prefix });
    made.push(store);
    return store;
  };
  return {
    name: 'cluster',
    async pair() {
      return [await make(), await make()];
    },
    // the cluster goes with the file
    async dispose() {
      await Promise.all(made.map((s) => s.close()));
    },
  };
};

const person = (username: string) => ({ id: randomUUID(), username });

describe.each([memory(), redis(), onCluster()])('people store contract: $name', (factory) => {
  let a: Store;
  let b: Store;
  beforeAll(async () => {
    [a, b] = await factory.pair();
  });
  afterAll(() => factory.dispose());

  it('a roster lists members by username a page at a time, each once, names that prefix others included', async () => {
    const room = `r-${randomUUID().slice(0, 8)}`;
    const names = ['bob', 'bob1', 'bob_2', 'alice', 'zed', '0cool', 'bo'];
    const people = names.map(person);
    for (const p of people) await a.addToRoster(room, p);
    await a.addToRoster(room, people[0]!); // idempotent
    const all = await b.roster(room, { limit: 100 });
    expect(all.map((p) => p.username)).toEqual([...names].sort());
    expect(all.find((p) => p.username === 'bob')!.id).toBe(people[0]!.id);
    const pages: string[] = [];
    for (let after: string | undefined; ; ) {
      const page = await b.roster(room, { after, limit: 2 });
      pages.push(...page.map((p) => p.username));
      if (page.length < 2) break;
      after = page[page.length - 1]!.username;
    }
    expect(pages).toEqual([...names].sort());
    await a.removeFromRoster(room, people[0]!);
    expect((await b.roster(room, { after: 'bo', limit: 2 })).map((p) => p.username)).toEqual(['bob1', 'bob_2']);
  });

  it('blocks: idempotent, listed by name, asked about many users at once, and bounded', async () => {
    const [ann, bob, cat] = [person('ann'), person('bob'), person('cat')];
    expect(await a.block(ann.id, bob)).toBe(true);
    expect(await a.block(ann.id, bob)).toBe(true);
    expect(await a.block(cat.id, bob)).toBe(true);
    expect(await b.blocked(ann.id)).toEqual([bob]);
    expect(await b.blockedBy(bob.id, [ann.id, cat.id, randomUUID()])).toEqual(new Set([ann.id, cat.id]));
    expect(await b.blockedBy(ann.id, [bob.id])).toEqual(new Set());
    expect(await b.unblock(ann.id, bob.id)).toBe(true);
    expect(await b.unblock(ann.id, bob.id)).toBe(false);
    expect(await a.blockedBy(bob.id, [ann.id])).toEqual(new Set());
    const busy = person('busy');
    for (let i = 0; i < MAX_BLOCKS; i++) await a.block(busy.id, { id: `x${i}`, username: `x${i}` });
    expect(await a.block(busy.id, person('one_more'))).toBe(false);
    expect(await a.block(busy.id, { id: 'x1', username: 'x1' })).toBe(true); // already there
  }, 60_000);
});
