import { defineScript, guarded, type RedisClient } from '../../store/redis-client.js';
import { ENTRIES_PER_MESSAGE, type BanRecord, type ModerationDraft, type ModerationEntry, type ModerationState, type MuteRecord, type RoomModeration, type Standing, type UserRef } from '../types.js';
import { deadlineOf, writeFailure } from './deadline.js';
import { logWriteKeys, roomKeys } from './keys.js';
import { WRITE_PRELUDE } from './lua.js';

/*
 * Roles, bans and mutes beside each room's log (same hash tag, so one slot), without TTL:
 *
 * | key | type | holds |
 * | `room:{name}:roles` | hash | user id -> username of each moderator; `@owner` -> `{"id","username"}` once ownership was handed over |
 * | `room:{name}:bans` | hash | user id -> `{"username","byId","byName","at"}` (at: Unix ms) |
 * | `room:{name}:mutes` | hash | user id -> `{"username","byId","byName","u"}` (u: until, Unix ms); expired ones are dropped when met |
 *
 * Every change is written by one script together with its entry in the room's log (kind
 * moderation), published on the room's channel like a message, so a reader of roomEvents sees it
 * in order, live or replayed. The log's writes (log-lua.ts) read bans and mutes in their own step.
 */

/*
 * KEYS: roles, then logWriteKeys (bans, mutes, log, ...). ARGV: deadline, publish command,
 * historyLimit, historyTtl ms, room, channel, action (ban | unban | mute | unmute | role), actor id,
 * actor name, then ban/unban/unmute/remove: target id, target name; mute: target id, target name, until ms;
 * role: target id, target name, role (owner | moderator | member), repeated. Answers the JSON of the
 * entries appended (none when nothing changed).
 */
const APPLY = `${WRITE_PRELUDE}
local roles, bans, mutes, log = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local room, channel, action, actor_id, actor_name = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local out = {}
local function entry(kind, target_id, target_name, extra_name, extra_value, shown)
  local fields = { 'kind', 'moderation', 'action', kind, 'targetId', target_id, 'targetName', target_name, 'authorId', actor_id, 'authorName', actor_name }
  if extra_name then
    fields[#fields + 1] = extra_name
    fields[#fields + 1] = extra_value
  end
  local id = redis.call('XADD', log, 'MAXLEN', '~', tonumber(ARGV[3]) * ${ENTRIES_PER_MESSAGE}, '*', unpack(fields))
  local e = { kind = 'moderation', id = id, room = room, action = kind, targetId = target_id, targetName = target_name, authorId = actor_id, authorName = actor_name, createdAt = iso_from_ms(tonumber(string.match(id, '^(%d+)-'))) }
  if extra_name then e[extra_name] = shown end
  local json = cjson.encode(e)
  redis.call(publish, channel, json)
  out[#out + 1] = json
end
local function is_muted(user)
  local raw = redis.call('HGET', mutes, user)
  if not raw then return false end
  if tonumber(cjson.decode(raw).u) > now then return true end
  redis.call('HDEL', mutes, user)
  return false
end
if action == 'ban' then
  if redis.call('HEXISTS', bans, ARGV[10]) == 0 then
    redis.call('HSET', bans, ARGV[10], cjson.encode({ username = ARGV[11], byId = actor_id, byName = actor_name, at = now }))
    redis.call('HDEL', mutes, ARGV[10])
    redis.call('HDEL', roles, ARGV[10])
    entry('banned', ARGV[10], ARGV[11])
  end
elseif action == 'remove' then
  entry('removed', ARGV[10], ARGV[11])
elseif action == 'unban' then
  if redis.call('HDEL', bans, ARGV[10]) == 1 then entry('unbanned', ARGV[10], ARGV[11]) end
elseif action == 'unmute' then
  if is_muted(ARGV[10]) then
    redis.call('HDEL', mutes, ARGV[10])
    entry('unmuted', ARGV[10], ARGV[11])
  end
elseif action == 'mute' then
  local until_ms = tonumber(ARGV[12])
  redis.call('HSET', mutes, ARGV[10], cjson.encode({ username = ARGV[11], byId = actor_id, byName = actor_name, u = until_ms }))
  entry('muted', ARGV[10], ARGV[11], 'until', ARGV[12], iso_from_ms(until_ms))
elseif action == 'role' then
  for i = 10, #ARGV, 3 do
    local user, name, role = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    local owner = redis.call('HGET', roles, '@owner')
    local is_owner = owner and cjson.decode(owner).id == user
    local is_mod = redis.call('HEXISTS', roles, user) == 1
    if role == 'owner' and not is_owner then
      redis.call('HSET', roles, '@owner', cjson.encode({ id = user, username = name }))
      redis.call('HDEL', roles, user)
      entry('role', user, name, 'role', role, role)
    elseif role == 'moderator' and not is_mod then
      redis.call('HSET', roles, user, name)
      entry('role', user, name, 'role', role, role)
    elseif role == 'member' and is_mod then
      redis.call('HDEL', roles, user)
      entry('role', user, name, 'role', role, role)
    end
  end
end
if #out > 0 then keep(ARGV[4], 4, #KEYS) end
return out
`;

/* KEYS: roles, bans, mutes. ARGV: user id. Answers: owner JSON or false, 1 when a moderator, 1 when banned, mute JSON or false. */
const STANDING = `
return { redis.call('HGET', KEYS[1], '@owner'), redis.call('HEXISTS', KEYS[1], ARGV[1]), redis.call('HEXISTS', KEYS[2], ARGV[1]), redis.call('HGET', KEYS[3], ARGV[1]) }
`;

/* KEYS: roles, bans, mutes. Answers the three hashes, flat. */
const STATE = `
return { redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3]) }
`;

export interface RedisModerationOptions {
  readonly client: RedisClient;
  readonly keyPrefix: string;
  readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  readonly historyLimit: number;
  readonly historyTtl: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface StoredBan {
  readonly username: string;
  readonly byId: string;
  readonly byName: string;
  readonly at: number;
}
interface StoredMute {
  readonly username: string;
  readonly byId: string;
  readonly byName: string;
  readonly u: number;
}

/** Pairs of a flat HGETALL answer. */
function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

const byUsername = (a: UserRef, b: UserRef) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0);

export function createRedisModeration(options: RedisModerationOptions): RoomModeration {
  const { client, keyPrefix: p, publishCommand, historyLimit } = options;
  const now = options.now ?? Date.now;
  const applyScript = defineScript(client, 'chatModerationApply', APPLY);
  const standingScript = defineScript(client, 'chatModerationStanding', STANDING);
  const stateScript = defineScript(client, 'chatModerationState', STATE);

  const targetArgs = (draft: ModerationDraft): (string | number)[] => {
    if (draft.action === 'role') return draft.changes.flatMap((c) => [c.target.id, c.target.username, c.role]);
    const base = [draft.target.id, draft.target.username];
    return draft.action === 'mute' ? [...base, Math.floor(draft.until)] : base;
  };

  return {
    async apply(room, draft, opts = {}) {
      const k = roomKeys(p, room);
      const keys = [k.roles, ...logWriteKeys(k)];
      let reply: string[];
      try {
        reply = (await applyScript(
          keys.length, ...keys,
          deadlineOf(client, opts.deadline), publishCommand, historyLimit, options.historyTtl * 1000, room, k.channel, draft.action, draft.actor.id, draft.actor.username,
          ...targetArgs(draft),
        )) as string[];
      } catch (err) {
        throw writeFailure(err, 'moderation');
      }
      return reply.map((json) => JSON.parse(json) as ModerationEntry);
    },

    standing: (room, userId) =>
      guarded('standing', async (): Promise<Standing> => {
        const k = roomKeys(p, room);
        const [owner, moderator, banned, mute] = (await standingScript(3, k.roles, k.bans, k.mutes, userId)) as [string | null, number, number, string | null];
        const until = mute ? (JSON.parse(mute) as StoredMute).u : 0;
        const ownerId = owner === null ? null : (JSON.parse(owner) as UserRef).id;
        return {
          role: ownerId === userId ? 'owner' : Number(moderator) === 1 ? 'moderator' : null,
          ownerId,
          banned: Number(banned) === 1,
          mutedUntil: until > now() ? new Date(until).toISOString() : null,
        };
      }),

    bannedFrom: (userId, rooms) =>
      guarded('bannedFrom', async () => {
        // one command per room (each in its room's slot), sent together
        const answers = await Promise.all(rooms.map((room) => client.hexists(roomKeys(p, room).bans, userId)));
        return new Set(rooms.filter((_, i) => answers[i] === 1));
      }),

    state: (room) =>
      guarded('moderationState', async (): Promise<ModerationState> => {
        const k = roomKeys(p, room);
        const [roles, bans, mutes] = (await stateScript(3, k.roles, k.bans, k.mutes)) as [string[], string[], string[]];
        let owner: UserRef | null = null;
        const moderators: UserRef[] = [];
        for (const [id, value] of pairs(roles)) {
          if (id === '@owner') owner = JSON.parse(value) as UserRef;
          else moderators.push({ id, username: value });
        }
        const t = now();
        return {
          owner,
          moderators: moderators.sort(byUsername),
          bans: pairs(bans)
            .map(([id, v]): BanRecord => {
              const b = JSON.parse(v) as StoredBan;
              return { id, username: b.username, byId: b.byId, byName: b.byName, at: new Date(b.at).toISOString() };
            })
            .sort(byUsername),
          mutes: pairs(mutes)
            .map(([id, v]) => [id, JSON.parse(v) as StoredMute] as const)
            .filter(([, m]) => m.u > t)
            .map(([id, m]): MuteRecord => ({ id, username: m.username, byId: m.byId, byName: m.byName, until: new Date(m.u).toISOString() }))
            .sort(byUsername),
        };
      }),
  };
}
