import type { RedisClient } from '../../store/redis-client.js';
import { defineScript, guarded } from '../../store/redis-client.js';
import type { ReadMark, ReadMarks } from '../types.js';
import { roomKeys } from './keys.js';
import { FIELDS_OF_LUA, HISTORY_FLOOR_LUA } from './lua.js';
import { countAbove, numbersOf, unreadCount, unreadFrom } from '../unread.js';

/*
 * Read marks beside each room's log (same hash tag): `room:{name}:reads` maps a user id to
 * `<message id> <n>`, n being the message's number in the room; unread counts the messages after
 * n, and after the start of history (`msgs`, log-lua.ts), up to `room:{name}:n`, less the deleted
 * ones (the `gone` field of `room:{name}:changes`, which the deletion script keeps): unread.ts.
 * The append script moves the author's mark (log.ts).
 */

/*
 * Moves a read mark forward to the newest message at or before an id, and forgets the user's
 * mentions at or before it.
 * KEYS: log, n, reads, mentions, changes, msgs. ARGV: user id, id. Answers: mark id, mark n,
 * messages ever appended, the numbers of the messages mentioning the user ('' for none), the
 * numbers of the deleted messages ('' for none), the history floor (-1 when unknown).
 */
const MARK_READ = `${FIELDS_OF_LUA}${HISTORY_FLOOR_LUA}
local high = ARGV[2]
local mark_id, mark_n
while not mark_n do
  local page = redis.call('XREVRANGE', KEYS[1], high, '-', 'COUNT', 100)
  if #page == 0 then break end
  for _, entry in ipairs(page) do
    local f = fields_of(entry)
    if not f.kind then mark_id, mark_n = entry[1], tonumber(f.n) break end
  end
  high = '(' .. page[#page][1]
end
local total = tonumber(redis.call('GET', KEYS[2]) or '0')
local floor = history_floor(total, KEYS[6])
if not mark_n then
  -- nothing retained at or before the id: read up to where history starts
  mark_id, mark_n = ARGV[2], floor or total
end
local current = redis.call('HGET', KEYS[3], ARGV[1])
local current_n = current and tonumber(string.match(current, ' (%d+)$')) or -1
if mark_n > current_n then
  redis.call('HSET', KEYS[3], ARGV[1], mark_id .. ' ' .. mark_n)
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
else
  mark_id, mark_n = string.match(current, '^(%S+)'), current_n
end
local mentions = redis.call('HGET', KEYS[4], ARGV[1])
if mentions then
  local kept = {}
  for v in string.gmatch(mentions, '%d+') do if tonumber(v) > mark_n then kept[#kept + 1] = v end end
  mentions = table.concat(kept, ' ')
  if #kept == 0 then redis.call('HDEL', KEYS[4], ARGV[1]) else redis.call('HSET', KEYS[4], ARGV[1], mentions) end
end
return { mark_id, mark_n, total, mentions or '', redis.call('HGET', KEYS[5], 'gone') or '', floor or -1 }
`;

/*
 * A user's read state in one room, read in one step.
 * KEYS: log, n, reads, mentions, changes, msgs. ARGV: user id. Answers: the mark (`<id> <n>`, ''
 * before the first read), messages ever appended, the mentions list, the deleted list, the
 * history floor (-1 when unknown).
 */
const READ_MARK = `${HISTORY_FLOOR_LUA}
local total = tonumber(redis.call('GET', KEYS[2]) or '0')
return { redis.call('HGET', KEYS[3], ARGV[1]) or '', total, redis.call('HGET', KEYS[4], ARGV[1]) or '', redis.call('HGET', KEYS[5], 'gone') or '', history_floor(total, KEYS[6]) or -1 }
`;

export interface RedisReadsOptions {
  readonly client: RedisClient;
  readonly keyPrefix: string;
  /** Unread counts stop at the room's history limit. */
  readonly historyLimit: number;
}

export function createRedisReads({ client, keyPrefix: p, historyLimit }: RedisReadsOptions): ReadMarks {
  const markReadScript = defineScript(client, 'chatLogMarkRead', MARK_READ);
  const readMarkScript = defineScript(client, 'chatLogReadMark', READ_MARK);
  const toReadMark = (markId: string | null, markN: number, total: number, mentions: string, gone: string, floor: number): ReadMark => {
    const from = unreadFrom(total, markN, floor < 0 ? null : floor, historyLimit);
    return { lastReadId: markId, unread: unreadCount(total, from, numbersOf(gone), historyLimit), mentions: countAbove(numbersOf(mentions), from) };
  };
  const keysOf = (room: string) => {
    const k = roomKeys(p, room);
    return [k.log, k.n, k.reads, k.mentions, k.changes, k.msgs];
  };
  return {
    markRead: (room, userId, id) =>
      guarded('markRead', async () => {
        const [markId, markN, total, mentions, gone, floor] = (await markReadScript(6, ...keysOf(room), userId, id)) as [string, number, number, string, string, number];
        return toReadMark(markId, Number(markN), Number(total), mentions, gone, Number(floor));
      }),

    readMarks: (userId, rooms) =>
      guarded('readMarks', async () => {
        // one script per room, each in its own slot, all sent at once: one round trip on a single
        // Redis (ioredis writes them back to back), one per shard on a cluster
        const marks = await Promise.all(
          rooms.map(async (room) => {
            const [mark, total, mentions, gone, floor] = (await readMarkScript(6, ...keysOf(room), userId)) as [string, number, string, string, number];
            const [markId, markN] = mark ? (mark.split(' ') as [string, string]) : [null, '0'];
            return [room, toReadMark(markId, Number(markN), Number(total), mentions, gone, Number(floor))] as const;
          }),
        );
        return new Map(marks);
      }),
  };
}
