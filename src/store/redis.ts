import type { Redis } from 'ioredis';
import { defineScript, guarded, pingWithin, quitClient } from './redis-client.js';
import { byName, type RefreshTokenRecord, type RoomPage, type RoomRecord, type RotateResult, type Store, type UserRecord } from './types.js';

export interface RedisStoreOptions {
  /** Made with createRedisClient: fails fast while Redis is away. */
  readonly client: Redis;
  /** Prefix of every key, e.g. `chat:`. */
  readonly keyPrefix: string;
  /** Clock for refresh-token expiry (Unix ms). @default Date.now */
  readonly now?: () => number;
}

/*
 * Keys (the braces are literal Redis Cluster hash tags):
 *   user:{username}        hash   id, username, passwordHash, createdAt
 *   room:{name}            hash   name, private (1/0), createdBy, createdAt
 *   room:{name}:members    set    user ids
 *   rooms:public           zset   names of public rooms, all of score 0: read a page in name order with ZRANGEBYLEX
 *   user:{id}:rooms        zset   names of rooms the user created, joined or was invited to, likewise
 *   refresh:{id}           hash   familyId, userId, username, secretHash, used, expiresAt; TTL
 *   family:{id}            hash   userId, username; TTL, extended on every rotation
 *
 * Room creation and membership touch keys of several hash tags (a room and its members' room
 * lists); that is atomic on one Redis. On a Cluster they would become per-slot steps.
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

// KEYS: a room list; ARGV: lower bound ('-' or '(<name>'), count. One page in name order.
const ROOM_PAGE = `${AS_ZSET}
asZset(KEYS[1])
return redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, ARGV[2])
`;

// KEYS: room:{name}:members, user:{id}:rooms; ARGV: 'add' or 'remove', room name, user id.
const MEMBERSHIP = `${AS_ZSET}
asZset(KEYS[2])
if ARGV[1] == 'add' then
  redis.call('SADD', KEYS[1], ARGV[3])
  redis.call('ZADD', KEYS[2], 0, ARGV[2])
else
  redis.call('SREM', KEYS[1], ARGV[3])
  redis.call('ZREM', KEYS[2], ARGV[2])
end
return 1
`;

const CREATE_USER = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'username', ARGV[2], 'passwordHash', ARGV[3], 'createdAt', ARGV[4])
return 1
`;

// KEYS: room, members, rooms:public, then user:{id}:rooms of each member; ARGV: name, private, createdBy, createdAt, then member ids.
// Returns {created, name, private, createdBy, createdAt} of the stored room, so ensureRoom of two
// instances racing for one room both get the record that won.
const CREATE_ROOM = `${AS_ZSET}
if redis.call('EXISTS', KEYS[1]) == 1 then
  local r = redis.call('HMGET', KEYS[1], 'name', 'private', 'createdBy', 'createdAt')
  return {0, r[1], r[2], r[3], r[4]}
end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'private', ARGV[2], 'createdBy', ARGV[3], 'createdAt', ARGV[4])
if ARGV[2] == '0' then
  asZset(KEYS[3])
  redis.call('ZADD', KEYS[3], 0, ARGV[1])
end
for i = 5, #ARGV do
  redis.call('SADD', KEYS[2], ARGV[i])
  asZset(KEYS[i - 1])
  redis.call('ZADD', KEYS[i - 1], 0, ARGV[1])
end
return {1, ARGV[1], ARGV[2], ARGV[3], ARGV[4]}
`;

// The family key is only known after reading the token, so it is built here from a prefix in ARGV
// rather than declared in KEYS. A single Redis allows that (all keys live on one node). On a Cluster
// the token id would have to carry its family id as hash tag (refresh:{family}:id) so that the
// token, its successor and its family share a slot and can all be passed as KEYS.
//
// KEYS: refresh:{id}, refresh:{next}; ARGV: secretHash, now ms, next secretHash, next expiresAt,
// ttl ms, family key prefix (ending in '{').
const ROTATE = `
local t = redis.call('HMGET', KEYS[1], 'familyId', 'userId', 'username', 'secretHash', 'used', 'expiresAt')
if not t[1] or t[4] ~= ARGV[1] or tonumber(t[6]) <= tonumber(ARGV[2]) then return {'invalid'} end
local family = ARGV[6] .. t[1] .. '}'
if redis.call('EXISTS', family) == 0 then return {'invalid'} end
if t[5] == '1' then
  -- reuse: a stolen (or replayed) token ends the login for everyone; its tokens expire on their own
  redis.call('DEL', family)
  return {'reused', t[1]}
end
redis.call('HSET', KEYS[1], 'used', '1')
redis.call('HSET', KEYS[2], 'familyId', t[1], 'userId', t[2], 'username', t[3], 'secretHash', ARGV[3], 'used', '0', 'expiresAt', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PEXPIRE', family, ARGV[5])
return {'rotated', t[2], t[3], t[1]}
`;

// KEYS: refresh:{id}; ARGV: secretHash, family key prefix. Same note on the family key as ROTATE.
const REVOKE = `
local t = redis.call('HMGET', KEYS[1], 'familyId', 'userId', 'secretHash')
if not t[1] or t[3] ~= ARGV[1] then return false end
local family = ARGV[2] .. t[1] .. '}'
if redis.call('DEL', family) == 0 then return false end
return {t[1], t[2]}
`;

/** Users, rooms and logins in Redis. Every failure to reach Redis surfaces as BackendUnavailableError. */
export function createRedisStore(options: RedisStoreOptions): Store {
  const { client, keyPrefix: p } = options;
  const now = options.now ?? Date.now;
  const key = {
    user: (username: string) => `${p}user:{${username}}`,
    userRooms: (userId: string) => `${p}user:{${userId}}:rooms`,
    room: (name: string) => `${p}room:{${name}}`,
    members: (name: string) => `${p}room:{${name}}:members`,
    publicRooms: `${p}rooms:public`,
    refresh: (id: string) => `${p}refresh:{${id}}`,
    family: (id: string) => `${p}family:{${id}}`,
    familyPrefix: `${p}family:{`,
  };
  const createUserScript = defineScript(client, 'chatStoreCreateUser', CREATE_USER);
  const createRoomScript = defineScript(client, 'chatStoreCreateRoom', CREATE_ROOM);
  const rotateScript = defineScript(client, 'chatStoreRotate', ROTATE);
  const revokeScript = defineScript(client, 'chatStoreRevoke', REVOKE);
  const roomPageScript = defineScript(client, 'chatStoreRoomPage', ROOM_PAGE);
  const membershipScript = defineScript(client, 'chatStoreMembership', MEMBERSHIP);

  const toRoom = (h: Record<string, string>): RoomRecord | null =>
    h.name === undefined ? null : { name: h.name, private: h.private === '1', createdBy: h.createdBy ?? '', createdAt: h.createdAt ?? '' };

  const loadRooms = async (names: string[]): Promise<RoomRecord[]> => {
    if (names.length === 0) return [];
    const pipeline = client.pipeline();
    for (const name of names) pipeline.hgetall(key.room(name));
    const results = (await pipeline.exec()) ?? [];
    const rooms: RoomRecord[] = [];
    for (const [err, h] of results) {
      if (err) throw err;
      const room = toRoom(h as Record<string, string>);
      if (room) rooms.push(room);
    }
    return rooms.sort(byName);
  };
  const page = async (list: string, { after, limit }: RoomPage) =>
    loadRooms((await roomPageScript(1, list, after === undefined ? '-' : `(${after}`, limit)) as string[]);

  const createRoomAtomically = async (room: RoomRecord, memberIds: readonly string[]) => {
    const ids = [...new Set(memberIds)];
    const keys = [key.room(room.name), key.members(room.name), key.publicRooms, ...ids.map(key.userRooms)];
    const reply = (await createRoomScript(keys.length, ...keys, room.name, room.private ? '1' : '0', room.createdBy, room.createdAt, ...ids)) as [
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
    createUser: (user: UserRecord) =>
      guarded('createUser', async () => (await createUserScript(1, key.user(user.username), user.id, user.username, user.passwordHash, user.createdAt)) === 1),

    findUser: (username) =>
      guarded('findUser', async () => {
        const h = await client.hgetall(key.user(username));
        if (h.id === undefined) return null;
        return { id: h.id, username: h.username ?? username, passwordHash: h.passwordHash ?? '', createdAt: h.createdAt ?? '' };
      }),

    createRoom: (room, memberIds) => guarded('createRoom', async () => (await createRoomAtomically(room, memberIds)).created),

    ensureRoom: (room, memberIds) => guarded('ensureRoom', async () => (await createRoomAtomically(room, memberIds)).room),

    findRoom: (name) => guarded('findRoom', async () => toRoom(await client.hgetall(key.room(name)))),

    addMember: (room, userId) =>
      guarded('addMember', async () => {
        await membershipScript(2, key.members(room), key.userRooms(userId), 'add', room, userId);
      }),

    removeMember: (room, userId) =>
      guarded('removeMember', async () => {
        await membershipScript(2, key.members(room), key.userRooms(userId), 'remove', room, userId);
      }),

    isMember: (room, userId) => guarded('isMember', async () => (await client.sismember(key.members(room), userId)) === 1),

    publicRooms: (range) => guarded('publicRooms', () => page(key.publicRooms, range)),

    roomsOf: (userId, range) => guarded('roomsOf', () => page(key.userRooms(userId), range)),

    createFamily: (token: RefreshTokenRecord, ttlSeconds) =>
      guarded('createFamily', async () => {
        const ttlMs = ttlSeconds * 1000;
        const results =
          (await client
            .multi()
            .hset(key.family(token.familyId), 'userId', token.userId, 'username', token.username)
            .pexpire(key.family(token.familyId), ttlMs)
            .hset(key.refresh(token.id), {
              familyId: token.familyId,
              userId: token.userId,
              username: token.username,
              secretHash: token.secretHash,
              used: '0',
              expiresAt: String(token.expiresAt),
            })
            .pexpire(key.refresh(token.id), ttlMs)
            .exec()) ?? [];
        for (const [err] of results) if (err) throw err;
      }),

    rotate: (id, secretHash, next, ttlSeconds) =>
      guarded('rotate', async (): Promise<RotateResult> => {
        const reply = (await rotateScript(
          2,
          key.refresh(id),
          key.refresh(next.id),
          secretHash,
          now(),
          next.secretHash,
          next.expiresAt,
          ttlSeconds * 1000,
          key.familyPrefix,
        )) as string[];
        if (reply[0] === 'rotated') return { status: 'rotated', userId: reply[1]!, username: reply[2]!, familyId: reply[3]! };
        if (reply[0] === 'reused') return { status: 'reused', familyId: reply[1]! };
        return { status: 'invalid' };
      }),

    revokeFamilyOf: (id, secretHash) =>
      guarded('revokeFamilyOf', async () => {
        const reply = (await revokeScript(1, key.refresh(id), secretHash, key.familyPrefix)) as [string, string] | null;
        return reply ? { familyId: reply[0], userId: reply[1] } : null;
      }),

    isLoginLive: (familyId) => guarded('isLoginLive', async () => (await client.exists(key.family(familyId))) === 1),

    ping: () => pingWithin(client),

    close: () => quitClient(client),
  };
}
