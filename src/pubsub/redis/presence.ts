import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../store/redis-client.js';
import { defineScript, guarded } from '../../store/redis-client.js';
import type { PresentUser, RoomSignal } from '../types.js';
import { roomKeys } from './keys.js';

/*
 * Presence in Redis, per room (same hash tag, one slot):
 *
 * | key | type | holds |
 * | `room:{name}:online` | sorted set | `<user id>:<username>` -> until when (ms) the user counts as present: the latest expiry over instances |
 * | `room:{name}:presence:<user id>` | sorted set | instance id -> until when that instance vouches for the user |
 * | `presence:rooms` | set | rooms that may have someone present (for the sweep) |
 *
 * An instance vouches for its users with a heartbeat every presenceTtl/3; when it dies (SIGKILL)
 * its entries run out within presenceTtl and the next sweep, by any instance, removes the user and
 * says so. Presence signals are published by the scripts themselves: "online" when a user's first
 * entry appears, "offline" when its last one goes, so that every instance sees each change once.
 */

/** Marks present (or refreshes): KEYS online, mine. ARGV member, instance, expiry, now, channel, online signal, publish command. */
const ENTER = `
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('PEXPIREAT', KEYS[2], ARGV[3])
local before = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], 'GT', ARGV[3], ARGV[1])
if (not before) or tonumber(before) <= tonumber(ARGV[4]) then redis.call(ARGV[7], ARGV[5], ARGV[6]) end
return 1
`;

/** This instance no longer vouches: KEYS online, mine. ARGV member, instance, now, channel, offline signal, publish command. */
const LEAVE = `
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
local rest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if #rest == 0 then
  if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then redis.call(ARGV[6], ARGV[4], ARGV[5]) end
else
  redis.call('ZADD', KEYS[1], 'XX', rest[2], ARGV[1])
end
return #rest
`;

/**
 * Removes users whose every instance stopped vouching: KEYS online. ARGV now, channel, room,
 * prefix of the per-user keys (same hash tag), publish command. Answers how many users are still present.
 */
const SWEEP = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, member in ipairs(expired) do
  local user_id, username = string.match(member, '^([^:]+):(.*)$')
  local mine = ARGV[4] .. user_id
  redis.call('ZREMRANGEBYSCORE', mine, '-inf', ARGV[1])
  local rest = redis.call('ZRANGE', mine, -1, -1, 'WITHSCORES')
  if #rest == 0 then
    redis.call('ZREM', KEYS[1], member)
    redis.call(ARGV[5], ARGV[2], cjson.encode({ type = 'presence', room = ARGV[3], userId = user_id, username = username, online = false }))
  else
    redis.call('ZADD', KEYS[1], 'XX', rest[2], member)
  end
end
return redis.call('ZCARD', KEYS[1])
`;

export interface RedisPresenceOptions {
  readonly client: RedisClient;
  readonly keyPrefix: string;
  /** PUBLISH, or SPUBLISH on a cluster. */
  readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  /** Seconds an instance's users stay present without its heartbeat. */
  readonly ttl: number;
}

export function createRedisPresence(options: RedisPresenceOptions) {
  const { client, keyPrefix: p, publishCommand } = options;
  const ttlMs = options.ttl * 1000;
  const instance = randomUUID();
  const roomsKey = `${p}presence:rooms`;
  const keys = (room: string, userId: string) => {
    const k = roomKeys(p, room);
    return { online: k.online, mine: `${k.presence}${userId}`, signals: k.signals };
  };
  const enterScript = defineScript(client, 'chatPresenceEnter', ENTER);
  const leaveScript = defineScript(client, 'chatPresenceLeave', LEAVE);
  const sweepScript = defineScript(client, 'chatPresenceSweep', SWEEP);
  /** This instance's presences: room + user id -> how many local subscriptions. */
  const local = new Map<string, { room: string; user: PresentUser; count: number }>();
  const signal = (room: string, user: PresentUser, online: boolean): string =>
    JSON.stringify({ type: 'presence', room, userId: user.id, username: user.username, online } satisfies RoomSignal);

  const vouch = (room: string, user: PresentUser) => {
    const k = keys(room, user.id);
    const at = Date.now();
    return Promise.all([
      enterScript(2, k.online, k.mine, `${user.id}:${user.username}`, instance, at + ttlMs, at, k.signals, signal(room, user, true), publishCommand),
      client.sadd(roomsKey, room),
    ]);
  };
  const withdraw = (room: string, user: PresentUser) => {
    const k = keys(room, user.id);
    return leaveScript(2, k.online, k.mine, `${user.id}:${user.username}`, instance, Date.now(), k.signals, signal(room, user, false), publishCommand);
  };

  // heartbeat and sweep: a third of the TTL, so two missed beats still keep a live user present
  const timer = setInterval(() => {
    void (async () => {
      await Promise.all([...local.values()].map((e) => vouch(e.room, e.user))).catch(() => {});
      const rooms = await client.smembers(roomsKey).catch(() => [] as string[]);
      await Promise.all(
        rooms.map(async (room) => {
          const k = roomKeys(p, room);
          const left = await sweepScript(1, k.online, Date.now(), k.signals, room, k.presence, publishCommand);
          if (Number(left) === 0) await client.srem(roomsKey, room);
        }),
      ).catch(() => {});
    })();
  }, Math.max(250, ttlMs / 3));
  timer.unref();

  return {
    enter: (room: string, user: PresentUser) =>
      guarded('enterPresence', async () => {
        const key = `${room}\n${user.id}`;
        const entry = local.get(key);
        if (entry) entry.count++;
        else {
          local.set(key, { room, user, count: 1 });
          try {
            await vouch(room, user);
          } catch (err) {
            local.delete(key);
            throw err;
          }
        }
        let left = false;
        return {
          leave: () =>
            guarded('leavePresence', async () => {
              if (left) return;
              left = true;
              const current = local.get(key);
              if (!current || --current.count > 0) return;
              local.delete(key);
              await withdraw(room, user);
            }),
        };
      }),

    present: (room: string) =>
      guarded('present', async () => {
        const members = await client.zrangebyscore(roomKeys(p, room).online, `(${Date.now()}`, '+inf');
        return members.map((m): PresentUser => {
          const at = m.indexOf(':');
          return { id: m.slice(0, at), username: m.slice(at + 1) };
        });
      }),

    /** Stops the heartbeat and withdraws this instance's users (best effort: the TTL covers the rest). */
    async close() {
      clearInterval(timer);
      const entries = [...local.values()];
      local.clear();
      await Promise.all(entries.map((e) => withdraw(e.room, e.user).catch(() => {})));
    },
  };
}
