import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createMemoryStore } from '../src/store/memory.js';
import { createRedisClient, waitUntilReady } from '../src/store/redis-client.js';
import { createRedisStore } from '../src/store/redis.js';
import type { RefreshTokenRecord, RoomRecord, Store, UserRecord } from '../src/store/types.js';
import { testPrefix } from './support/redis.js';

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
      expect(await store.rotate(t.id, t.secretHash, next, 60)).toEqual({ status: 'rotated', userId: t.userId, username: t.username, familyId: t.familyId });
      const after = nextToken();
      expect(await store.rotate(next.id, next.secretHash, after, 60)).toEqual({ status: 'rotated', userId: t.userId, username: t.username, familyId: t.familyId });
    });

    it('a rotated refresh token presented again deletes its whole family', async () => {
      const t = token();
      await store.createFamily(t, 60);
      const next = nextToken();
      await store.rotate(t.id, t.secretHash, next, 60);
      expect(await store.rotate(t.id, t.secretHash, nextToken(), 60)).toEqual({ status: 'reused', familyId: t.familyId });
      // the family is gone: its newest token is dead too, and the reused one now just invalid
      expect(await store.rotate(next.id, next.secretHash, nextToken(), 60)).toEqual({ status: 'invalid' });
      expect(await store.rotate(t.id, t.secretHash, nextToken(), 60)).toEqual({ status: 'invalid' });
      expect(await store.revokeFamilyOf(next.id, next.secretHash)).toBeNull();
    });

    it('a refresh token with the wrong secret is invalid and stays usable', async () => {
      const t = token();
      await store.createFamily(t, 60);
      expect(await store.rotate(t.id, 'wrong', nextToken(), 60)).toEqual({ status: 'invalid' });
      expect((await store.rotate(t.id, t.secretHash, nextToken(), 60)).status).toBe('rotated');
    });

    it('an unknown refresh token is invalid', async () => {
      expect(await store.rotate(randomUUID(), 'x', nextToken(), 60)).toEqual({ status: 'invalid' });
    });

    it('an expired refresh token is invalid', async () => {
      const t = token({ expiresAt: Date.now() - 1 });
      await store.createFamily(t, 60);
      expect(await store.rotate(t.id, t.secretHash, nextToken(), 60)).toEqual({ status: 'invalid' });
    });

    it('a refresh token expires by the store clock', async () => {
      let clock = Date.now();
      const timed = await factory.make(() => clock);
      const t = token({ expiresAt: clock + 10_000 });
      await timed.createFamily(t, 60);
      clock += 10_000;
      expect(await timed.rotate(t.id, t.secretHash, nextToken(), 60)).toEqual({ status: 'invalid' });
    });

    it('revoking a family ends every token of it, once', async () => {
      const t = token();
      await store.createFamily(t, 60);
      const next = nextToken();
      await store.rotate(t.id, t.secretHash, next, 60);
      expect(await store.revokeFamilyOf(t.id, 'wrong')).toBeNull();
      expect(await store.revokeFamilyOf(t.id, t.secretHash)).toEqual({ familyId: t.familyId, userId: t.userId });
      expect(await store.revokeFamilyOf(next.id, next.secretHash)).toBeNull();
      expect(await store.rotate(next.id, next.secretHash, nextToken(), 60)).toEqual({ status: 'invalid' });
    });

    it('revoking an unknown token revokes nothing', async () => {
      expect(await store.revokeFamilyOf(randomUUID(), 'x')).toBeNull();
    });

    it('of concurrent rotations of one token exactly one rotates', async () => {
      const t = token();
      await store.createFamily(t, 60);
      const results = await Promise.all(Array.from({ length: 5 }, () => store.rotate(t.id, t.secretHash, nextToken(), 60)));
      expect(results.filter((r) => r.status === 'rotated')).toHaveLength(1);
      // the others presented a used token: reuse detection revoked the login
      expect(results.filter((r) => r.status === 'reused').length).toBeGreaterThanOrEqual(1);
    });
  });

  it('a store answers ping', async () => {
    expect(await store.ping()).toBe(true);
  });
}

describe.each([memoryFactory(), redisFactory()])('store contract: $name', (factory) => storeContract(factory));

describe('redis store layout', () => {
  const { prefix, cleanup } = testPrefix();
  const url = inject('redisUrl');
  const client = createRedisClient(url, { commandTimeoutMs: 2000, name: 'store-layout' });
  afterAll(async () => {
    client.disconnect();
    await cleanup(url);
  });

  it('keys carry the prefix and literal hash-tag braces, and logins expire', async () => {
    await waitUntilReady(client, 5000);
    const store = createRedisStore({ client, keyPrefix: prefix });
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
    const refreshTtl = await client.pttl(`${prefix}refresh:{${t.id}}`);
    const familyTtl = await client.pttl(`${prefix}family:{${t.familyId}}`);
    expect(refreshTtl).toBeGreaterThan(0);
    expect(refreshTtl).toBeLessThanOrEqual(60_000);
    expect(familyTtl).toBeGreaterThan(0);
    // rotation extends the family
    await store.rotate(t.id, t.secretHash, nextToken(), 3600);
    expect(await client.pttl(`${prefix}family:{${t.familyId}}`)).toBeGreaterThan(60_000);
  });

  it('room lists an older version kept as sets keep working: read, written and turned into sorted sets', async () => {
    await waitUntilReady(client, 5000);
    const store = createRedisStore({ client, keyPrefix: `${prefix}old:` });
    const u = user();
    const names = ['old-c', 'old-a', 'old-b'];
    for (const name of names) await store.createRoom(room({ name, createdBy: u.id }), []);
    // as the version before paging left them: plain sets
    await client.del(`${prefix}old:rooms:public`);
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
