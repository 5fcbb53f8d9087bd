import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createMemoryStore } from '../src/store/memory.js';
import { createRedisClient, createRedisCluster, type RedisClient, waitUntilReady } from '../src/store/redis-client.js';
import { createRedisStore } from '../src/store/redis.js';
import type { RefreshTokenRecord, RoomRecord, Store, UserRecord } from '../src/store/types.js';
import { testPrefix } from './support/redis.js';
import { sharedCluster } from './support/redis-cluster.js';

// one real cluster (three masters) for the file's cluster suites
const cluster = sharedCluster({ replicasPerMaster: 0 });
afterAll(() => cluster.dispose());

/** A store's client on the file's cluster. */
async function clusterClient(name: string) {
  const client = createRedisCluster((await cluster.get()).seeds.split(','), { commandTimeoutMs: 3000, name });
  await waitUntilReady(client, 10_000);
  return client;
}

/** Makes a store; `dispose` releases what the factory made. */
interface StoreFactory {
  readonly name: string;
  setup(): Promise<void>;
  make(now?: () => number): Promise<Store>;
  dispose(): Promise<void>;
}

const memoryFactory = (): StoreFactory => ({
  name: 'memory',
  async setup() {},
  async make(now) {
    return createMemoryStore(now);
  },
  async dispose() {},
});

const redisFactory = (): StoreFactory => {
  const { prefix, cleanup } = testPrefix();
  const made: Store[] = [];
  let url = '';
  return {
    name: 'redis',
    async setup() {
      url = inject('redisUrl');
    },
    async make(now) {
      const client = createRedisClient(url, { commandTimeoutMs: 2000, name: 'store-contract' });
      await waitUntilReady(client, 5000);
      // every store of one file shares the prefix, as every instance of a deployment does
      const store = createRedisStore({ client, keyPrefix: prefix, ...(now ? { now } : {}) });
      made.push(store);
      return store;
    },
    async dispose() {
      try {
        await Promise.all(made.map((s) => s.close()));
      } finally {
        await cleanup(url);
      }
    },
  };
};

const clusterFactory = (): StoreFactory => {
  const { prefix } = testPrefix();
  const made: Store[] = [];
  return {
    name: 'cluster',
    async setup() {
      await cluster.get();
    },
    async make(now) {
      const store = createRedisStore({ client: await clusterClient('store-contract'), keyPrefix: prefix, ...(now ? { now } : {}) });
      made.push(store);
      return store;
    },
    // the cluster goes with the file
    async dispose() {
      await Promise.all(made.map((s) => s.close()));
    },
  };
};

const uniq = (base: string) => `${base}_${randomUUID().slice(0, 8)}`;
const user = (username = uniq('user')): UserRecord => ({
  id: randomUUID(),
  username,
  passwordHash: 'scrypt$test$hash',
  createdAt: new Date().toISOString(),
});
const room = (overrides: Partial<RoomRecord> = {}): RoomRecord => ({
  name: uniq('room').replace(/_/g, '-'),
  private: false,
  createdBy: randomUUID(),
  createdAt: new Date().toISOString(),
  ...overrides,
});
const token = (overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
  id: randomUUID(),
  familyId: randomUUID(),
  userId: randomUUID(),
  username: uniq('owner'),
  secretHash: randomUUID(),
  expiresAt: Date.now() + 60_000,
  ...overrides,
});
const nextToken = (overrides: Partial<RefreshTokenRecord> = {}) => ({ id: randomUUID(), secretHash: randomUUID(), expiresAt: Date.now() + 60_000, ...overrides });
/** Every room of a list (the store pages them). */
const ALL = { limit: 200 };
/** How a token is presented: its id and the family its string names (a successor's is its first token's). */
const ref = (token: { readonly id: string }, of: { readonly familyId: string } = token as RefreshTokenRecord) => ({ id: token.id, familyId: of.familyId });
const byName = (rooms: RoomRecord[]) => [...rooms].sort((a, b) => a.name.localeCompare(b.name));

function storeContract(factory: StoreFactory) {
  let store: Store;
  beforeAll(async () => {
    await factory.setup();
    store = await factory.make();
  });
  afterAll(() => factory.dispose());

  describe('users', () => {
    it('a created user is found by username with every field', async () => {
      const u = user();
      expect(await store.createUser(u)).toBe(true);
      expect(await store.findUser(u.username)).toEqual(u);
    });

    it('an unknown username is not found', async () => {
      expect(await store.findUser(uniq('nobody'))).toBeNull();
    });

    it('a taken username is refused and the first user is kept', async () => {
      const first = user();
      const second = { ...user(first.username), passwordHash: 'other' };
      expect(await store.createUser(first)).toBe(true);
      expect(await store.createUser(second)).toBe(false);
      expect(await store.findUser(first.username)).toEqual(first);
    });

    it('of concurrent creations of one username exactly one succeeds', async () => {
      const name = uniq('race');
      const results = await Promise.all(Array.from({ length: 10 }, () => store.createUser(user(name))));
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });

  describe('rooms', () => {
    it('a created room is found with every field, and its creator is a member', async () => {
      const r = room({ private: true });
      expect(await store.createRoom(r, [r.createdBy])).toBe(true);
      expect(await store.findRoom(r.name)).toEqual(r);
      expect(await store.isMember(r.name, r.createdBy)).toBe(true);
      expect(await store.isMember(r.name, randomUUID())).toBe(false);
    });

    it('an unknown room is not found', async () => {
      expect(await store.findRoom(uniq('nothing'))).toBeNull();
    });

    it('a taken room name is refused and the first room is kept', async () => {
      const r = room();
      expect(await store.createRoom(r, [r.createdBy])).toBe(true);
      const intruder = randomUUID();
      expect(await store.createRoom({ ...r, private: true, createdBy: intruder }, [intruder])).toBe(false);
      expect(await store.findRoom(r.name)).toEqual(r);
      expect(await store.isMember(r.name, intruder)).toBe(false);
      expect((await store.roomsOf(intruder, { limit: 200 })).map((x) => x.name)).not.toContain(r.name);
    });

    it('ensureRoom creates a room once and returns the stored one afterwards', async () => {
      const [a, b] = [randomUUID(), randomUUID()];
      const r = room({ name: uniq('dm'), private: true, createdBy: a });
      expect(await store.ensureRoom(r, [a, b])).toEqual(r);
      const later = { ...r, createdBy: b, createdAt: new Date(0).toISOString() };
      expect(await store.ensureRoom(later, [b, a])).toEqual(r);
      expect(await store.isMember(r.name, a)).toBe(true);
      expect(await store.isMember(r.name, b)).toBe(true);
    });

    it('concurrent ensureRoom calls of one room all return the same stored record', async () => {
      const name = uniq('dm');
      const attempts = Array.from({ length: 8 }, (_, i) => room({ name, private: true, createdAt: new Date(1_000_000 + i).toISOString() }));
      const results = await Promise.all(attempts.map((r) => store.ensureRoom(r, [r.createdBy])));
      const stored = await store.findRoom(name);
      expect(stored).not.toBeNull();
      for (const r of results) expect(r).toEqual(stored);
    });

    it('adding a member is idempotent and lists the room among the member rooms', async () => {
      const r = room({ private: true });
      await store.createRoom(r, [r.createdBy]);
      const member = randomUUID();
      await store.addMember(r.name, member);
      await store.addMember(r.name, member);
      expect(await store.isMember(r.name, member)).toBe(true);
      expect((await store.roomsOf(member, { limit: 200 })).filter((x) => x.name === r.name)).toEqual([r]);
    });

    it('removing a member takes away the membership and the room from its rooms, idempotently', async () => {
      const r = room({ private: true });
      await store.createRoom(r, [r.createdBy]);
      const member = randomUUID();
      await store.addMember(r.name, member);
      await store.removeMember(r.name, member);
      await store.removeMember(r.name, member);
      expect(await store.isMember(r.name, member)).toBe(false);
      expect(await store.isMember(r.name, r.createdBy)).toBe(true);
      expect((await store.roomsOf(member, { limit: 200 })).map((x) => x.name)).not.toContain(r.name);
    });

    it('public rooms are listed and private ones are not', async () => {
      const open = room();
      const closed = room({ private: true });
      await store.createRoom(open, [open.createdBy]);
      await store.createRoom(closed, [closed.createdBy]);
      await store.ensureRoom(room({ name: open.name, private: true }), []);
      const names = (await store.publicRooms({ limit: 200 })).map((r) => r.name);
      expect(names).toContain(open.name);
      expect(names).not.toContain(closed.name);
      expect((await store.publicRooms({ limit: 200 })).find((r) => r.name === open.name)).toEqual(open);
    });

    it('room lists come one page at a time, in name order, starting after a given name', async () => {
      const me = randomUUID();
      const base = uniq('pg').replace(/_/g, '-');
      const mine = ['c', 'a', 'e', 'b', 'd'].map((x) => `${base}-${x}`);
      for (const name of mine) await store.createRoom(room({ name, private: true }), [me]);
      const names = (rooms: RoomRecord[]) => rooms.map((r) => r.name);
      expect(names(await store.roomsOf(me, { limit: 2 }))).toEqual([`${base}-a`, `${base}-b`]);
      expect(names(await store.roomsOf(me, { after: `${base}-b`, limit: 2 }))).toEqual([`${base}-c`, `${base}-d`]);
      expect(names(await store.roomsOf(me, { after: `${base}-d`, limit: 2 }))).toEqual([`${base}-e`]);
      expect(await store.roomsOf(me, { after: `${base}-e`, limit: 2 })).toEqual([]);
      const open = ['y', 'x', 'z'].map((x) => `${base}-${x}`);
      for (const name of open) await store.createRoom(room({ name }), []);
      expect(names(await store.publicRooms({ after: base, limit: 2 }))).toEqual([`${base}-x`, `${base}-y`]);
      expect(names(await store.publicRooms({ after: `${base}-y`, limit: 1 }))).toEqual([`${base}-z`]);
    });

    it('roomsOf lists the rooms a user created, joined or was invited to, and no others', async () => {
      const me = randomUUID();
      const created = room({ createdBy: me });
      const joined = room();
      const invited = room({ private: true });
      const other = room();
      await store.createRoom(created, [me]);
      await store.createRoom(joined, [joined.createdBy]);
      await store.createRoom(invited, [invited.createdBy]);
      await store.createRoom(other, [other.createdBy]);
      await store.addMember(joined.name, me);
      await store.addMember(invited.name, me);
      expect(byName(await store.roomsOf(me, { limit: 200 }))).toEqual(byName([created, joined, invited]));
      expect(await store.roomsOf(randomUUID(), { limit: 200 })).toEqual([]);
    });
  });

  describe('refresh tokens', () => {
    it('a live refresh token rotates into the next one of its family', async () => {
      const t = token();
      await store.createFamily(t, 60);
      const next = nextToken();
      expect(await store.rotate(ref(t), t.secretHash, next, 60)).toEqual({ status: 'rotated', userId: t.userId, username: t.username, familyId: t.familyId });
      const after = nextToken();
      expect(await store.rotate(ref(next, t), next.secretHash, after, 60)).toEqual({ status: 'rotated', userId: t.userId, username: t.username, familyId: t.familyId });
    });

    it('a rotated refresh token presented again deletes its whole family', async () => {
      const t = token();
      await store.createFamily(t, 60);
      const next = nextToken();
      await store.rotate(ref(t), t.secretHash, next, 60);
      expect(await store.rotate(ref(t), t.secretHash, nextToken(), 60)).toEqual({ status: 'reused', familyId: t.familyId });
      // the family is gone: its newest token is dead too, and the reused one now just invalid
      expect(await store.rotate(ref(next, t), next.secretHash, nextToken(), 60)).toEqual({ status: 'invalid' });
      expect(await store.rotate(ref(t), t.secretHash, nextToken(), 60)).toEqual({ status: 'invalid' });
      expect(await store.revokeFamilyOf(ref(next, t), next.secretHash)).toBeNull();
    });

    it('a refresh token with the wrong secret is invalid and stays usable', async () => {
      const t = token();
      await store.createFamily(t, 60);
      expect(await store.rotate(ref(t), 'wrong', nextToken(), 60)).toEqual({ status: 'invalid' });
      expect((await store.rotate(ref(t), t.secretHash, nextToken(), 60)).status).toBe('rotated');
    });

    it('an unknown refresh token is invalid', async () => {
      expect(await store.rotate({ id: randomUUID(), familyId: randomUUID() }, 'x', nextToken(), 60)).toEqual({ status: 'invalid' });
    });

    it('an expired refresh token is invalid', async () => {
      const t = token({ expiresAt: Date.now() - 1 });
      await store.createFamily(t, 60);
      expect(await store.rotate(ref(t), t.secretHash, nextToken(), 60)).toEqual({ status: 'invalid' });
    });

    it('a refresh token expires by the store clock', async () => {
      let clock = Date.now();
      const timed = await factory.make(() => clock);
      const t = token({ expiresAt: clock + 10_000 });
      await timed.createFamily(t, 60);
      clock += 10_000;
      expect(await timed.rotate(ref(t), t.secretHash, nextToken(), 60)).toEqual({ status: 'invalid' });
    });

    it('revoking a family ends every token of it, once', async () => {
      const t = token();
      await store.createFamily(t, 60);
      const next = nextToken();
      await store.rotate(ref(t), t.secretHash, next, 60);
      expect(await store.revokeFamilyOf(ref(t), 'wrong')).toBeNull();
      expect(await store.revokeFamilyOf(ref(t), t.secretHash)).toEqual({ familyId: t.familyId, userId: t.userId });
      expect(await store.revokeFamilyOf(ref(next, t), next.secretHash)).toBeNull();
      expect(await store.rotate(ref(next, t), next.secretHash, nextToken(), 60)).toEqual({ status: 'invalid' });
    });

    it('revoking an unknown token revokes nothing', async () => {
      expect(await store.revokeFamilyOf({ id: randomUUID(), familyId: randomUUID() }, 'x')).toBeNull();
    });

    it('a token presented as another login\'s is invalid, revokes nothing, and both logins go on', async () => {
      const mine = token();
      const theirs = token();
      await store.createFamily(mine, 60);
      await store.createFamily(theirs, 60);
      const forged = { id: mine.id, familyId: theirs.familyId };
      expect(await store.rotate(forged, mine.secretHash, nextToken(), 60)).toEqual({ status: 'invalid' });
      expect(await store.revokeFamilyOf(forged, mine.secretHash)).toBeNull();
      expect((await store.rotate(ref(mine), mine.secretHash, nextToken(), 60)).status).toBe('rotated');
      expect((await store.rotate(ref(theirs), theirs.secretHash, nextToken(), 60)).status).toBe('rotated');
    });

    it('of concurrent rotations of one token exactly one rotates', async () => {
      const t = token();
      await store.createFamily(t, 60);
      const results = await Promise.all(Array.from({ length: 5 }, () => store.rotate(ref(t), t.secretHash, nextToken(), 60)));
      expect(results.filter((r) => r.status === 'rotated')).toHaveLength(1);
      // the others presented a used token: reuse detection revoked the login
      expect(results.filter((r) => r.status === 'reused').length).toBeGreaterThanOrEqual(1);
    });
  });

  it('a store answers ping', async () => {
    expect(await store.ping()).toBe(true);
  });
}

describe.each([memoryFactory(), redisFactory(), clusterFactory()])('store contract: $name', (factory) => storeContract(factory));

/** What the Redis store writes where, on a single Redis and on a cluster (the same layout). */
function storeLayout(backend: { client(): Promise<RedisClient>; cleanup(clean: (url: string) => Promise<void>): Promise<void> }) {
  const { prefix, cleanup } = testPrefix();
  let client: RedisClient;
  let store: Store;
  beforeAll(async () => {
    client = await backend.client();
    store = createRedisStore({ client, keyPrefix: prefix });
  });
  afterAll(async () => {
    client.disconnect();
    await backend.cleanup(cleanup);
  });

  it('keys carry the prefix and literal hash-tag braces, a login and its tokens share the family\'s slot, and logins expire', async () => {
    const u = user();
    const r = room({ createdBy: u.id });
    await store.createUser(u);
    await store.createRoom(r, [u.id]);
    const t = token({ userId: u.id });
    await store.createFamily(t, 60);
    expect(await client.type(`${prefix}user:{${u.username}}`)).toBe('hash');
    expect(await client.type(`${prefix}room:{${r.name}}`)).toBe('hash');
    expect(await client.sismember(`${prefix}room:{${r.name}}:members`, u.id)).toBe(1);
    // room lists are sorted sets of score 0, read a page at a time in name order (ZRANGEBYLEX)
    expect(await client.zscore(`${prefix}rooms:public`, r.name)).toBe('0');
    expect(await client.zscore(`${prefix}user:{${u.id}}:rooms`, r.name)).toBe('0');
    const refreshTtl = await client.pttl(`${prefix}refresh:{${t.familyId}}:${t.id}`);
    const familyTtl = await client.pttl(`${prefix}family:{${t.familyId}}`);
    expect(refreshTtl).toBeGreaterThan(0);
    expect(refreshTtl).toBeLessThanOrEqual(60_000);
    expect(familyTtl).toBeGreaterThan(0);
    // rotation extends the family, and its next token joins the family's slot
    const next = nextToken();
    await store.rotate(ref(t), t.secretHash, next, 3600);
    expect(await client.pttl(`${prefix}family:{${t.familyId}}`)).toBeGreaterThan(60_000);
    expect(await client.hget(`${prefix}refresh:{${t.familyId}}:${next.id}`, 'used')).toBe('0');
  });

  it('a crash between a room\'s steps leaves only hints no reader shows, and the retried operation completes', async () => {
    const me = randomUUID();
    // createRoom wrote the indexes, then died before the room's own step
    const r = room({ createdBy: me, name: uniq('half').replace(/_/g, '-') });
    await client.zadd(`${prefix}rooms:public`, 0, r.name);
    await client.zadd(`${prefix}user:{${me}}:rooms`, 0, r.name);
    expect((await store.publicRooms(ALL)).map((x) => x.name)).not.toContain(r.name);
    expect(await store.roomsOf(me, ALL)).toEqual([]);
    expect(await store.createRoom(r, [me])).toBe(true);
    expect(await store.roomsOf(me, ALL)).toEqual([r]);
    expect((await store.publicRooms(ALL)).find((x) => x.name === r.name)).toEqual(r);
    // a page skips a stale hint and still holds `limit` rooms
    const [first, last] = [room({ name: `${r.name}-a` }), room({ name: `${r.name}-c` })];
    await store.createRoom(first, [me]);
    await store.createRoom(last, [me]);
    await client.zadd(`${prefix}user:{${me}}:rooms`, 0, `${r.name}-b`);
    expect((await store.roomsOf(me, { after: r.name, limit: 2 })).map((x) => x.name)).toEqual([first.name, last.name]);
    await client.zrem(`${prefix}user:{${me}}:rooms`, first.name, last.name);
    // addMember wrote the index, then died before the membership: not a member, not listed
    const other = room({ private: true });
    await store.createRoom(other, [other.createdBy]);
    await client.zadd(`${prefix}user:{${me}}:rooms`, 0, other.name);
    expect(await store.roomsOf(me, ALL)).toEqual([r]);
    await store.addMember(other.name, me);
    expect(byName(await store.roomsOf(me, ALL))).toEqual(byName([r, other]));
    // removeMember took the membership away, then died before the index: no longer listed
    await client.srem(`${prefix}room:{${other.name}}:members`, me);
    expect(await store.roomsOf(me, ALL)).toEqual([r]);
    // a direct conversation created without its indexes is listed again by the next ensureRoom
    const dm = room({ private: true, createdBy: me, name: uniq('dm').replace(/_/g, '-') });
    await client.hset(`${prefix}room:{${dm.name}}`, { name: dm.name, private: '1', createdBy: me, createdAt: dm.createdAt });
    await client.sadd(`${prefix}room:{${dm.name}}:members`, me);
    expect(await store.roomsOf(me, ALL)).toEqual([r]);
    expect(await store.ensureRoom(dm, [me])).toEqual(dm);
    expect(byName(await store.roomsOf(me, ALL))).toEqual(byName([r, dm]));
  });
}

describe('redis store layout: single Redis', () => {
  const url = inject('redisUrl');
  storeLayout({
    async client() {
      const client = createRedisClient(url, { commandTimeoutMs: 2000, name: 'store-layout' });
      await waitUntilReady(client, 5000);
      return client;
    },
    cleanup: (clean) => clean(url),
  });
});

describe('redis store layout: cluster', () => {
  // the cluster goes with the file
  storeLayout({ client: () => clusterClient('store-layout'), cleanup: async () => {} });
});

describe('redis store: what an earlier version left on a single Redis', () => {
  const { prefix, cleanup } = testPrefix();
  const url = inject('redisUrl');
  const client = createRedisClient(url, { commandTimeoutMs: 2000, name: 'store-legacy' });
  afterAll(async () => {
    client.disconnect();
    await cleanup(url);
  });

  /** A login as the earlier version stored it: the token under refresh:{<id>}. */
  async function legacyLogin(ttlMs = 60_000) {
    const t = token();
    await client.hset(`${prefix}family:{${t.familyId}}`, { userId: t.userId, username: t.username });
    await client.pexpire(`${prefix}family:{${t.familyId}}`, ttlMs);
    await client.hset(`${prefix}refresh:{${t.id}}`, { familyId: t.familyId, userId: t.userId, username: t.username, secretHash: t.secretHash, used: '0', expiresAt: String(t.expiresAt) });
    await client.pexpire(`${prefix}refresh:{${t.id}}`, ttlMs);
    return t;
  }

  it('refresh tokens issued before tokens carried their family still rotate, into a token of the current layout, and a reuse still revokes the login', async () => {
    await waitUntilReady(client, 5000);
    const store = createRedisStore({ client, keyPrefix: prefix });
    const t = await legacyLogin();
    const next = nextToken();
    expect(await store.rotate({ id: t.id, familyId: null }, t.secretHash, next, 60)).toEqual({ status: 'rotated', userId: t.userId, username: t.username, familyId: t.familyId });
    expect(await client.hget(`${prefix}refresh:{${t.familyId}}:${next.id}`, 'secretHash')).toBe(next.secretHash);
    expect((await store.rotate(ref(next, t), next.secretHash, nextToken(), 60)).status).toBe('rotated');
    expect(await store.rotate({ id: t.id, familyId: null }, t.secretHash, nextToken(), 60)).toEqual({ status: 'reused', familyId: t.familyId });
    expect(await client.exists(`${prefix}family:{${t.familyId}}`)).toBe(0);
  });

  it('refresh tokens issued before tokens carried their family still log out', async () => {
    const store = createRedisStore({ client, keyPrefix: prefix });
    const t = await legacyLogin();
    expect(await store.revokeFamilyOf({ id: t.id, familyId: null }, 'wrong')).toBeNull();
    expect(await store.revokeFamilyOf({ id: t.id, familyId: null }, t.secretHash)).toEqual({ familyId: t.familyId, userId: t.userId });
    expect(await store.rotate({ id: t.id, familyId: null }, t.secretHash, nextToken(), 60)).toEqual({ status: 'invalid' });
  });

  it('room lists an older version kept as sets keep working: read, written and turned into sorted sets', async () => {
    await waitUntilReady(client, 5000);
    const store = createRedisStore({ client, keyPrefix: `${prefix}old:` });
    const u = user();
    const names = ['old-c', 'old-a', 'old-b'];
    for (const name of names) await store.createRoom(room({ name, createdBy: u.id }), name === 'old-a' ? [] : [u.id]);
    // as the version before paging left them: plain sets
    await client.del(`${prefix}old:rooms:public`, `${prefix}old:user:{${u.id}}:rooms`);
    await client.sadd(`${prefix}old:rooms:public`, ...names);
    await client.sadd(`${prefix}old:user:{${u.id}}:rooms`, 'old-b', 'old-c');
    expect((await store.publicRooms({ limit: 2 })).map((x) => x.name)).toEqual(['old-a', 'old-b']);
    expect(await client.type(`${prefix}old:rooms:public`)).toBe('zset');
    await store.addMember('old-a', u.id);
    expect(await client.type(`${prefix}old:user:{${u.id}}:rooms`)).toBe('zset');
    expect((await store.roomsOf(u.id, { limit: 10 })).map((x) => x.name)).toEqual(['old-a', 'old-b', 'old-c']);
    await store.createRoom(room({ name: 'old-d', createdBy: u.id }), [u.id]);
    expect((await store.roomsOf(u.id, { after: 'old-b', limit: 10 })).map((x) => x.name)).toEqual(['old-c', 'old-d']);
  });
});
