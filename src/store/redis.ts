import { Cluster } from 'ioredis';
import { createRedisPeople } from './people-redis.js';
import { defineScript, guarded, pingWithin, quitClient, type RedisClient } from './redis-client.js';
import { createRoomRecords } from './room-records.js';
import { byName, type RefreshTokenRecord, type RoomPage, type RoomRecord, type RotateResult, type Store, type UserRecord } from './types.js';

export interface RedisStoreOptions {
  /** Made with createRedisClient or createRedisCluster: fails fast while Redis is away. */
  readonly client: RedisClient;
  /** Prefix of every key, e.g. `chat:`. */
  readonly keyPrefix: string;
  /** Clock for refresh-token expiry (Unix ms). @default Date.now */
  readonly now?: () => number;
}

/*
 * Keys (the braces are literal Redis Cluster hash tags; every script, MULTI and pipeline touches one):
 *   user:{username}           hash   id, username, passwordHash, createdAt
 *   room:{name}               hash   name, private (1/0), createdBy, createdAt
 *   room:{name}:members       set    user ids
 *   rooms:public              zset   names of public rooms, all of score 0: a page in name order with ZRANGEBYLEX (an index: see below)
 *   user:{id}:rooms           zset   names of rooms the user created, joined or was invited to, likewise (an index)
 *   family:{family}           hash   userId, username; TTL, extended on every rotation
 *   refresh:{family}:<id>     hash   familyId, userId, username, secretHash, used, expiresAt; TTL
 *   refresh:{<id>}            hash   the same, for a token issued before tokens carried their family
 *                                    (single Redis only; none is written any more, they expire)
 *
 * Rooms across slots. A room's record and members share its slot; the indexes (rooms:public, each
 * member's user:{id}:rooms) live in slots of their own. So creating a room, adding or removing a
 * member are sequences of single-slot steps, each idempotent, ordered so that the room's own keys
 * are the truth and the indexes only hints: an index entry is written before the room or
 * membership it points to and removed after it, and readers keep only the rooms that exist
 * (publicRooms: public ones; roomsOf: those the user is a member of). A crash between two steps
 * leaves at worst a stale hint, which no reader shows and the retried operation completes.
 */

/*
 * Room lists were sets before they were paged. A script that touches one turns it into a sorted set
 * first (one key, atomically), so that a deployment's existing keys keep working without a
 * migration step; an instance of the older version still running meets WRONGTYPE on them.
 */
const AS_ZSET = `
local function asZset(key)
  if redis.call('TYPE', key).ok ~= 'set' then return end
  local names = redis.call('SMEMBERS', key)
  redis.call('DEL', key)
  for i = 1, #names, 500 do
    local args = {}
    for j = i, math.min(i + 499, #names) do
      args[#args + 1] = 0
      args[#args + 1] = names[j]
    end
    redis.call('ZADD', key, unpack(args))
  end
end
`;

// KEYS: a room list; ARGV: lower bound ('-' or '(<name>'), count. One page of names in name order.
const ROOM_PAGE = `${AS_ZSET}
asZset(KEYS[1])
return redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, ARGV[2])
`;

// KEYS: a room list; ARGV: 'add' or 'remove', room name. One index step.
const INDEX = `${AS_ZSET}
asZset(KEYS[1])
if ARGV[1] == 'add' then return redis.call('ZADD', KEYS[1], 0, ARGV[2]) end
return redis.call('ZREM', KEYS[1], ARGV[2])
`;

const CREATE_USER = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'username', ARGV[2], 'passwordHash', ARGV[3], 'createdAt', ARGV[4])
return 1
`;

// KEYS: room, members; ARGV: name, private, createdBy, createdAt, then member ids.
// Returns {created, name, private, createdBy, createdAt} of the stored room, so ensureRoom of two
// instances racing for one room both get the record that won.
const CREATE_ROOM = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  local r = redis.call('HMGET', KEYS[1], 'name', 'private', 'createdBy', 'createdAt')
  return {0, r[1], r[2], r[3], r[4]}
end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'private', ARGV[2], 'createdBy', ARGV[3], 'createdAt', ARGV[4])
for i = 5, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
return {1, ARGV[1], ARGV[2], ARGV[3], ARGV[4]}
`;

// KEYS: room, members; ARGV: user id. The room's record when the user is a member, else nil.
const ROOM_OF_MEMBER = `
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return false end
return redis.call('HMGET', KEYS[1], 'name', 'private', 'createdBy', 'createdAt')
`;

// The token, its successor and its family in one slot (the family's).
// KEYS: refresh:{family}:<id>, refresh:{family}:<next>, family:{family}; ARGV: secretHash, now ms,
// next secretHash, next expiresAt, ttl ms.
const ROTATE = `
local t = redis.call('HMGET', KEYS[1], 'familyId', 'userId', 'username', 'secretHash', 'used', 'expiresAt')
if not t[1] or t[4] ~= ARGV[1] or tonumber(t[6]) <= tonumber(ARGV[2]) then return {'invalid'} end
if redis.call('EXISTS', KEYS[3]) == 0 then return {'invalid'} end
if t[5] == '1' then
  -- reuse: a stolen (or replayed) token ends the login for everyone; its tokens expire on their own
  redis.call('DEL', KEYS[3])
  return {'reused', t[1]}
end
redis.call('HSET', KEYS[1], 'used', '1')
redis.call('HSET', KEYS[2], 'familyId', t[1], 'userId', t[2], 'username', t[3], 'secretHash', ARGV[3], 'used', '0', 'expiresAt', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return {'rotated', t[2], t[3], t[1]}
`;

// A token issued before tokens carried their family (single Redis only: its family's keys are
// built here, not declared). Its successor is written in the current layout.
// KEYS: refresh:{<id>}; ARGV: as ROTATE, then the family key prefix (ending in '{'), the refresh key
// prefix (ending in '{') and the next token's id.
const ROTATE_LEGACY = `
local t = redis.call('HMGET', KEYS[1], 'familyId', 'userId', 'username', 'secretHash', 'used', 'expiresAt')
if not t[1] or t[4] ~= ARGV[1] or tonumber(t[6]) <= tonumber(ARGV[2]) then return {'invalid'} end
local family = ARGV[6] .. t[1] .. '}'
if redis.call('EXISTS', family) == 0 then return {'invalid'} end
if t[5] == '1' then
  redis.call('DEL', family)
  return {'reused', t[1]}
end
local next = ARGV[7] .. t[1] .. '}:' .. ARGV[8]
redis.call('HSET', KEYS[1], 'used', '1')
redis.call('HSET', next, 'familyId', t[1], 'userId', t[2], 'username', t[3], 'secretHash', ARGV[3], 'used', '0', 'expiresAt', ARGV[4])
redis.call('PEXPIRE', next, ARGV[5])
redis.call('PEXPIRE', family, ARGV[5])
return {'rotated', t[2], t[3], t[1]}
`;

// KEYS: the token, its family; ARGV: secretHash.
const REVOKE = `
local t = redis.call('HMGET', KEYS[1], 'familyId', 'userId', 'secretHash')
if not t[1] or t[3] ~= ARGV[1] then return false end
if redis.call('DEL', KEYS[2]) == 0 then return false end
return {t[1], t[2]}
`;

// KEYS: refresh:{<id>}; ARGV: secretHash, family key prefix. Single Redis only, as ROTATE_LEGACY.
const REVOKE_LEGACY = `
local t = redis.call('HMGET', KEYS[1], 'familyId', 'userId', 'secretHash')
if not t[1] or t[3] ~= ARGV[1] then return false end
if redis.call('DEL', ARGV[2] .. t[1] .. '}') == 0 then return false end
return {t[1], t[2]}
`;

/** Users, rooms and logins in Redis. Every failure to reach Redis surfaces as BackendUnavailableError. */
export function createRedisStore(options: RedisStoreOptions): Store {
  const { client, keyPrefix: p } = options;
  const now = options.now ?? Date.now;
  // legacy refresh tokens exist only in a single Redis that ran an earlier version
  const legacyTokens = !(client instanceof Cluster);
  const key = {
    user: (username: string) => `${p}user:{${username}}`,
    userRooms: (userId: string) => `${p}user:{${userId}}:rooms`,
    room: (name: string) => `${p}room:{${name}}`,
    members: (name: string) => `${p}room:{${name}}:members`,
    publicRooms: `${p}rooms:public`,
    refresh: (familyId: string, id: string) => `${p}refresh:{${familyId}}:${id}`,
    legacyRefresh: (id: string) => `${p}refresh:{${id}}`,
    refreshPrefix: `${p}refresh:{`,
    family: (id: string) => `${p}family:{${id}}`,
    familyPrefix: `${p}family:{`,
  };
  const createUserScript = defineScript(client, 'chatStoreCreateUser', CREATE_USER);
  const roomPageScript = defineScript(client, 'chatStoreRoomPage', ROOM_PAGE);
  const indexScript = defineScript(client, 'chatStoreIndex', INDEX);
  const createRoomScript = defineScript(client, 'chatStoreCreateRoom', CREATE_ROOM);
  const roomOfMemberScript = defineScript(client, 'chatStoreRoomOfMember', ROOM_OF_MEMBER);
  const rotateScript = defineScript(client, 'chatStoreRotate', ROTATE);
  const rotateLegacyScript = defineScript(client, 'chatStoreRotateLegacy', ROTATE_LEGACY);
  const revokeScript = defineScript(client, 'chatStoreRevoke', REVOKE);
  const revokeLegacyScript = defineScript(client, 'chatStoreRevokeLegacy', REVOKE_LEGACY);

  const rooms = createRoomRecords(client);
  const toRoom = (h: Record<string, string>): RoomRecord | null =>
    h.name === undefined ? null : { name: h.name, private: h.private === '1', createdBy: h.createdBy ?? '', createdAt: h.createdAt ?? '' };
  /** A room's record: the one this instance knows (records never change), else Redis's. */
  const readRoom = async (name: string): Promise<RoomRecord | null> => {
    const known = rooms.get(name);
    if (known) return known;
    const room = toRoom(await client.hgetall(key.room(name)));
    return room && rooms.remember(room);
  };
  const fromFields = (r: (string | null)[] | null): RoomRecord | null =>
    r?.[0] ? { name: r[0], private: r[1] === '1', createdBy: r[2] ?? '', createdAt: r[3] ?? '' } : null;

  const index = (list: string, op: 'add' | 'remove', name: string) => indexScript(1, list, op, name);

  /** The index steps of a room: listed as public, and among each member's rooms. Idempotent. */
  const listRoom = async (room: RoomRecord, ids: readonly string[]) => {
    await Promise.all([...(room.private ? [] : [index(key.publicRooms, 'add', room.name)]), ...ids.map((id) => index(key.userRooms(id), 'add', room.name))]);
  };

  /**
   * One page of an index, keeping only the rooms `keep` answers (each read in its room's slot): a
   * stale hint is skipped and the page filled from the names after it, so that a page is still
   * "the first `limit` rooms after `after`".
   */
  const page = async (list: string, { after, limit }: RoomPage, keep: (name: string) => Promise<RoomRecord | null>): Promise<RoomRecord[]> => {
    const rooms: RoomRecord[] = [];
    for (let from = after; rooms.length < limit; ) {
      const asked = limit - rooms.length;
      const names = (await roomPageScript(1, list, from === undefined ? '-' : `(${from}`, asked)) as string[];
      for (const room of await Promise.all(names.map(keep))) if (room) rooms.push(room);
      if (names.length < asked) break;
      from = names[names.length - 1];
    }
    return rooms.sort(byName);
  };

  /** The room's own step, in its slot: the record and its members, unless it exists. */
  const storeRoom = async (room: RoomRecord, ids: readonly string[]) => {
    const reply = (await createRoomScript(2, key.room(room.name), key.members(room.name), room.name, room.private ? '1' : '0', room.createdBy, room.createdAt, ...ids)) as [
      number,
      string,
      string,
      string,
      string,
    ];
    const [created, name, priv, createdBy, createdAt] = reply;
    return { created: created === 1, room: { name, private: priv === '1', createdBy, createdAt } satisfies RoomRecord };
  };

  return {
    ...createRedisPeople(client, p),
    createUser: (user: UserRecord) =>
      guarded('createUser', async () => (await createUserScript(1, key.user(user.username), user.id, user.username, user.passwordHash, user.createdAt)) === 1),

    findUser: (username) =>
      guarded('findUser', async () => {
        const h = await client.hgetall(key.user(username));
        if (h.id === undefined) return null;
        return { id: h.id, username: h.username ?? username, passwordHash: h.passwordHash ?? '', createdAt: h.createdAt ?? '' };
      }),

    createRoom: (room, memberIds) =>
      guarded('createRoom', async () => {
        // a taken name adds no hints; a race past this check leaves only hints no reader shows
        if ((await client.exists(key.room(room.name))) === 1) return false;
        const ids = [...new Set(memberIds)];
        await listRoom(room, ids);
        return (await storeRoom(room, ids)).created;
      }),

    ensureRoom: (room, memberIds) =>
      guarded('ensureRoom', async () => {
        // the hints every time: an ensure after a crash between the steps completes them
        const ids = [...new Set(memberIds)];
        await listRoom(room, ids);
        return rooms.remember((await storeRoom(room, ids)).room);
      }),

    findRoom: (name) => guarded('findRoom', () => readRoom(name)),

    addMember: (room, userId) =>
      guarded('addMember', async () => {
        await index(key.userRooms(userId), 'add', room);
        await client.sadd(key.members(room), userId);
      }),

    removeMember: (room, userId) =>
      guarded('removeMember', async () => {
        await client.srem(key.members(room), userId);
        await index(key.userRooms(userId), 'remove', room);
      }),

    isMember: (room, userId) => guarded('isMember', async () => (await client.sismember(key.members(room), userId)) === 1),

    publicRooms: (range) =>
      guarded('publicRooms', () =>
        page(key.publicRooms, range, async (name) => {
          const room = await readRoom(name);
          return room && !room.private ? room : null;
        }),
      ),

    roomsOf: (userId, range) =>
      guarded('roomsOf', () =>
        page(key.userRooms(userId), range, async (name) =>
          fromFields((await roomOfMemberScript(2, key.room(name), key.members(name), userId)) as (string | null)[] | null),
        ),
      ),

    createFamily: (token: RefreshTokenRecord, ttlSeconds) =>
      guarded('createFamily', async () => {
        const ttlMs = ttlSeconds * 1000;
        const tokenKey = key.refresh(token.familyId, token.id);
        const results =
          (await client
            .multi()
            .hset(key.family(token.familyId), 'userId', token.userId, 'username', token.username)
            .pexpire(key.family(token.familyId), ttlMs)
            .hset(tokenKey, {
              familyId: token.familyId,
              userId: token.userId,
              username: token.username,
              secretHash: token.secretHash,
              used: '0',
              expiresAt: String(token.expiresAt),
            })
            .pexpire(tokenKey, ttlMs)
            .exec()) ?? [];
        for (const [err] of results) if (err) throw err;
      }),

    rotate: (token, secretHash, next, ttlSeconds) =>
      guarded('rotate', async (): Promise<RotateResult> => {
        const args = [secretHash, now(), next.secretHash, next.expiresAt, ttlSeconds * 1000];
        let reply: string[];
        if (token.familyId !== null) {
          const f = token.familyId;
          reply = (await rotateScript(3, key.refresh(f, token.id), key.refresh(f, next.id), key.family(f), ...args)) as string[];
        } else if (legacyTokens) {
          reply = (await rotateLegacyScript(1, key.legacyRefresh(token.id), ...args, key.familyPrefix, key.refreshPrefix, next.id)) as string[];
        } else return { status: 'invalid' };
        if (reply[0] === 'rotated') return { status: 'rotated', userId: reply[1]!, username: reply[2]!, familyId: reply[3]! };
        if (reply[0] === 'reused') return { status: 'reused', familyId: reply[1]! };
        return { status: 'invalid' };
      }),

    revokeFamilyOf: (token, secretHash) =>
      guarded('revokeFamilyOf', async () => {
        let reply: [string, string] | null = null;
        if (token.familyId !== null) reply = (await revokeScript(2, key.refresh(token.familyId, token.id), key.family(token.familyId), secretHash)) as [string, string] | null;
        else if (legacyTokens) reply = (await revokeLegacyScript(1, key.legacyRefresh(token.id), secretHash, key.familyPrefix)) as [string, string] | null;
        return reply ? { familyId: reply[0], userId: reply[1] } : null;
      }),

    isLoginLive: (familyId) => guarded('isLoginLive', async () => (await client.exists(key.family(familyId))) === 1),

    ping: () => pingWithin(client),

    close: () => quitClient(client),
  };
}
