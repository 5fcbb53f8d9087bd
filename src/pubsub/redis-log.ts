import type { Redis } from 'ioredis';
import { BackendUnavailableError } from '../errors.js';
import { defineScript, guarded, toBackendError } from '../store/redis-client.js';
import { compareIds, formatId, isoOfId, parseId, type StreamId } from './ids.js';
import { channelOf } from './topics.js';
import type { AppendOptions, ChangeDraft, ChangeResult, LogEntry, MessageChange, MessageDraft, RangeQuery, ReadMark, StoredMessage } from './types.js';

/**
 * A room's log in Redis: a stream of entries (messages as written, then edits and deletions), with
 * beside it, under the same hash tag so that every script touches one slot:
 *
 * | key | type | holds |
 * | `room:{name}:log` | stream | entries; a message has text, authorId, authorName and n (its number in the room); a change has kind and target too |
 * | `room:{name}:n` | string | messages ever appended (the newest one's n) |
 * | `room:{name}:changes` | hash | message id -> its final state when edited (`{"t":text,"e":editedAt}`) or deleted (`{"d":1}`) |
 * | `room:{name}:reads` | hash | user id -> `<message id> <n>`, the user's read mark |
 *
 * All four expire HISTORY_TTL after the room's last write, together.
 */

/**
 * createdAt from a Unix ms count, exactly as Date#toISOString writes it (years 0-9999), with
 * integer arithmetic (Howard Hinnant's civil_from_days): Lua has no date library in Redis.
 * Exported for the test that compares it with Date#toISOString.
 */
export const ISO_FROM_MS_LUA = `
local function iso_from_ms(ms)
  local days = math.floor(ms / 86400000)
  local rest = ms - days * 86400000
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  local h = math.floor(rest / 3600000)
  local mi = math.floor((rest % 3600000) / 60000)
  local s = math.floor((rest % 60000) / 1000)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', y, m, d, h, mi, s, rest % 1000)
end
`;

/** A stream entry's field list as a table. */
const FIELDS_OF_LUA = `
local function fields_of(entry)
  local f = {}
  for i = 1, #entry[2], 2 do f[entry[2][i]] = entry[2][i + 1] end
  return f
end
`;

/** Shared by the writing scripts: the server's clock, and the deadline check ("an answer is the truth"). */
const PRELUDE = `${ISO_FROM_MS_LUA}${FIELDS_OF_LUA}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = tonumber(ARGV[1])
if deadline and now > deadline then
  return redis.error_reply('DEADLINE refused: it arrived after its deadline')
end
local function keep_all(ttl)
  for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ttl) end
end
`;

/*
 * Append and publish in one script, so that Redis runs them as one step: subscribers receive a
 * room's entries in the order of their ids, and an entry is published iff it is in the log.
 *
 * KEYS: log, n, changes, reads. ARGV: deadline ms ('' = none), historyLimit, historyTtl ms, room,
 * text, authorId, authorName, then the channels to publish on (the room's, then notified users').
 *
 * - The deadline is checked against the server's clock (TIME): a stalled Redis that wakes up
 *   refuses work whose caller has already been answered with an error.
 * - Trimming is approximate (MAXLEN ~, MINID ~): Redis drops whole stream nodes only, which is
 *   O(1) per append; exact trimming would split nodes on every append of a full room. The contract
 *   asks for "at least historyLimit" retained, which `~` honours; readers hide what is too old.
 * - createdAt is not stored: it is the id's milliseconds by definition, so readers derive it the
 *   same way (and the id is only known after XADD, when the entry can no longer change).
 * - The author has read what they wrote: their read mark moves to the new message.
 */
const APPEND = `${PRELUDE}
local n = redis.call('INCR', KEYS[2])
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'text', ARGV[5], 'authorId', ARGV[6], 'authorName', ARGV[7], 'n', n)
redis.call('XTRIM', KEYS[1], 'MINID', '~', tostring(now - tonumber(ARGV[3])))
redis.call('HSET', KEYS[4], ARGV[6], id .. ' ' .. n)
keep_all(ARGV[3])
local ms = tonumber(string.match(id, '^(%d+)-'))
local json = cjson.encode({ id = id, room = ARGV[4], text = ARGV[5], authorId = ARGV[6], authorName = ARGV[7], createdAt = iso_from_ms(ms) })
for i = 8, #ARGV do redis.call('PUBLISH', ARGV[i], json) end
return json
`;

/*
 * An edit or a deletion by the message's author, appended to the log and published like a message.
 * KEYS: log, changes. ARGV: deadline, historyLimit, historyTtl ms, room, kind, target, text,
 * authorId, authorName, channel. Answers the change's JSON, or 'not-found' / 'not-author'.
 */
const CHANGE = `${PRELUDE}
local found = redis.call('XRANGE', KEYS[1], ARGV[6], ARGV[6])
if #found == 0 then return 'not-found' end
local f = fields_of(found[1])
if f.kind then return 'not-found' end
local state = redis.call('HGET', KEYS[2], ARGV[6])
if state and cjson.decode(state).d then return 'not-found' end
if f.authorId ~= ARGV[8] then return 'not-author' end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'kind', ARGV[5], 'target', ARGV[6], 'text', ARGV[7], 'authorId', ARGV[8], 'authorName', ARGV[9])
local createdAt = iso_from_ms(tonumber(string.match(id, '^(%d+)-')))
if ARGV[5] == 'deleted' then
  redis.call('HSET', KEYS[2], ARGV[6], '{"d":1}')
else
  redis.call('HSET', KEYS[2], ARGV[6], cjson.encode({ t = ARGV[7], e = createdAt }))
end
keep_all(ARGV[3])
local json = cjson.encode({ kind = ARGV[5], id = id, room = ARGV[4], target = ARGV[6], text = ARGV[7], authorId = ARGV[8], authorName = ARGV[9], createdAt = createdAt })
redis.call('PUBLISH', ARGV[10], json)
return json
`;

/*
 * Messages in their final state, read in one consistent step: entries between start and end
 * (inclusive ids, '-'/'+' for open ends), in the direction asked, skipping changes and deleted
 * messages and applying edits, until limit messages are found.
 * KEYS: log, changes. ARGV: direction ('oldest' | 'newest'), start, end, limit.
 * Answers a flat list: id, text, authorId, authorName, editedAt ('' when never edited).
 */
const RANGE = `${FIELDS_OF_LUA}
local out, count = {}, 0
local limit = tonumber(ARGV[4])
local low, high = ARGV[2], ARGV[3]
while count < limit do
  local page
  if ARGV[1] == 'oldest' then
    page = redis.call('XRANGE', KEYS[1], low, high, 'COUNT', limit * 2)
  else
    page = redis.call('XREVRANGE', KEYS[1], high, low, 'COUNT', limit * 2)
  end
  if #page == 0 then break end
  for _, entry in ipairs(page) do
    local f = fields_of(entry)
    if not f.kind then
      local state = redis.call('HGET', KEYS[2], entry[1])
      local text, edited, gone = f.text, '', false
      if state then
        local s = cjson.decode(state)
        if s.d then gone = true else text, edited = s.t, s.e end
      end
      if not gone and count < limit then
        for _, v in ipairs({ entry[1], text, f.authorId, f.authorName, edited }) do out[#out + 1] = v end
        count = count + 1
      end
    end
  end
  if #page < limit * 2 then break end
  local last = page[#page][1]
  if ARGV[1] == 'oldest' then low = '(' .. last else high = '(' .. last end
end
return out
`;

/*
 * Moves a read mark forward to the newest message at or before an id.
 * KEYS: log, n, reads. ARGV: user id, id. Answers: mark id, mark n, messages ever appended.
 */
const MARK_READ = `${FIELDS_OF_LUA}
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
if not mark_n then
  -- nothing retained at or before the id: read up to just before the oldest retained message
  mark_id, mark_n = ARGV[2], total
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 100)
  for _, entry in ipairs(oldest) do
    local f = fields_of(entry)
    if not f.kind then mark_n = tonumber(f.n) - 1 break end
  end
end
local current = redis.call('HGET', KEYS[3], ARGV[1])
local current_n = current and tonumber(string.match(current, ' (%d+)$')) or -1
if mark_n > current_n then
  redis.call('HSET', KEYS[3], ARGV[1], mark_id .. ' ' .. mark_n)
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
  return { mark_id, mark_n, total }
end
return { string.match(current, '^(%S+)'), current_n, total }
`;

/** How much earlier than the client's command timeout a write must have run, for the reply to arrive in time. */
const DEADLINE_MARGIN_MS = 100;
const U64_MAX = (1n << 64n) - 1n;

/** The entry right after `id` (for an exclusive lower bound); null past the largest id. */
const successor = (id: StreamId): StreamId | null =>
  id.seq < U64_MAX ? { ms: id.ms, seq: id.seq + 1n } : id.ms < U64_MAX ? { ms: id.ms + 1n, seq: 0n } : null;

/** The entry right before `id` (for an exclusive upper bound); null before 0-0. */
const predecessor = (id: StreamId): StreamId | null =>
  id.seq > 0n ? { ms: id.ms, seq: id.seq - 1n } : id.ms > 0n ? { ms: id.ms - 1n, seq: U64_MAX } : null;

const parseCursor = (id: string, what: string): StreamId => {
  const parsed = parseId(id);
  if (!parsed) throw new TypeError(`${what} is not a message id: ${id}`);
  return parsed;
};


/** A stream entry as the log entry it stands for. */
export function parseEntry(room: string, [id, fields]: [string, string[]]): LogEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  const base = { id, room, text: f.text ?? '', authorId: f.authorId ?? '', authorName: f.authorName ?? '', createdAt: isoOfId(id) };
  return f.kind === 'edited' || f.kind === 'deleted' ? { kind: f.kind, target: f.target ?? '', ...base } : base;
}

export interface RedisLogOptions {
  readonly client: Redis;
  readonly keyPrefix: string;
  /** Messages kept per room: at least this many (trimming is approximate). */
  readonly historyLimit: number;
  /** Seconds a message is kept. */
  readonly historyTtl: number;
  readonly now?: () => number;
}

export type RedisLog = ReturnType<typeof createRedisLog>;

/** The writing and reading side of room logs (delivery is src/pubsub/redis.ts). */
export function createRedisLog(options: RedisLogOptions) {
  const { client, keyPrefix: p, historyLimit } = options;
  const historyTtlMs = options.historyTtl * 1000;
  const now = options.now ?? Date.now;
  const keys = (room: string) => {
    const base = `${p}room:{${room}}`;
    return { log: `${base}:log`, n: `${base}:n`, changes: `${base}:changes`, reads: `${base}:reads` };
  };
  const appendScript = defineScript(client, 'chatLogAppend', APPEND);
  const changeScript = defineScript(client, 'chatLogChange', CHANGE);
  const rangeScript = defineScript(client, 'chatLogRange', RANGE);
  const markReadScript = defineScript(client, 'chatLogMarkRead', MARK_READ);

  /** The earlier of the caller's deadline and the client's (the script must not run after the client gave up). */
  const deadlineOf = (callerDeadline: number | undefined) => {
    const timeout = client.options.commandTimeout;
    const clientDeadline = typeof timeout === 'number' ? Date.now() + timeout - Math.min(DEADLINE_MARGIN_MS, timeout / 4) : Infinity;
    const deadline = Math.floor(Math.min(callerDeadline ?? Infinity, clientDeadline));
    return Number.isFinite(deadline) ? deadline : '';
  };
  const writeFailure = (err: unknown, what: string) =>
    err instanceof Error && err.message.startsWith('DEADLINE') ? new BackendUnavailableError(err.message, { cause: err }) : toBackendError(err, what);
  /** The first id to read: after `after`, and not older than historyTtl; null when nothing can follow `after`. */
  const lowerBound = (after: string | undefined): StreamId | null => {
    const floor: StreamId = { ms: BigInt(Math.max(0, now() - historyTtlMs)), seq: 0n };
    if (after === undefined) return floor;
    const next = successor(parseCursor(after, 'after'));
    if (!next) return null;
    return compareIds(next, floor) > 0 ? next : floor;
  };
  const toReadMark = (markId: string | null, markN: number, total: number): ReadMark => ({
    lastReadId: markId,
    unread: Math.min(historyLimit, Math.max(0, total - markN)),
  });

  return {
    /** The log key of a room (the delivery side reads it to fill gaps). */
    logKey: (room: string) => keys(room).log,

    async append(room: string, draft: MessageDraft, opts: AppendOptions = {}): Promise<StoredMessage> {
      const k = keys(room);
      const targets = [channelOf({ kind: 'room', room }), ...(opts.notifyUsers ?? []).map((userId) => channelOf({ kind: 'user', userId }))];
      try {
        const json = await appendScript(
          4, k.log, k.n, k.changes, k.reads,
          deadlineOf(opts.deadline), historyLimit, historyTtlMs, room, draft.text, draft.authorId, draft.authorName,
          ...targets.map((c) => p + c),
        );
        return JSON.parse(String(json)) as StoredMessage;
      } catch (err) {
        throw writeFailure(err, 'append');
      }
    },

    async change(room: string, draft: ChangeDraft, opts: Pick<AppendOptions, 'deadline'> = {}): Promise<ChangeResult> {
      const k = keys(room);
      let answer: unknown;
      try {
        answer = await changeScript(
          2, k.log, k.changes,
          deadlineOf(opts.deadline), historyLimit, historyTtlMs, room, draft.kind, draft.target, draft.kind === 'deleted' ? '' : draft.text,
          draft.authorId, draft.authorName, p + channelOf({ kind: 'room', room }),
        );
      } catch (err) {
        // an id that is not a stream id (already validated upstream) would be the only other error
        throw writeFailure(err, 'change');
      }
      const text = String(answer);
      if (text === 'not-found' || text === 'not-author') return { ok: false, reason: text };
      return { ok: true, change: JSON.parse(text) as MessageChange };
    },

    range: (room: string, q: RangeQuery): Promise<StoredMessage[]> =>
      guarded('range', async () => {
        if (q.limit <= 0) return [];
        const start = lowerBound(q.after);
        if (!start) return [];
        let end = '+';
        if (q.before !== undefined) {
          const prev = predecessor(parseCursor(q.before, 'before'));
          if (!prev) return [];
          end = formatId(prev);
        }
        const k = keys(room);
        const flat = (await rangeScript(2, k.log, k.changes, q.from, formatId(start), end, q.limit)) as string[];
        const out: StoredMessage[] = [];
        for (let i = 0; i + 4 < flat.length; i += 5) {
          const [id, text, authorId, authorName, editedAt] = flat.slice(i, i + 5) as [string, string, string, string, string];
          out.push({ id, room, text, authorId, authorName, createdAt: isoOfId(id), ...(editedAt ? { editedAt } : {}) });
        }
        return q.from === 'newest' ? out.reverse() : out;
      }),

    entries: (room: string, q: { readonly after?: string; readonly limit: number }): Promise<LogEntry[]> =>
      guarded('entries', async () => {
        const start = lowerBound(q.after);
        if (!start) return [];
        const page = await client.xrange(keys(room).log, formatId(start), '+', 'COUNT', q.limit);
        return page.map((entry) => parseEntry(room, entry));
      }),

    markRead: (room: string, userId: string, id: string): Promise<ReadMark> =>
      guarded('markRead', async () => {
        const k = keys(room);
        const [markId, markN, total] = (await markReadScript(3, k.log, k.n, k.reads, userId, id)) as [string, number, number];
        return toReadMark(markId, Number(markN), Number(total));
      }),

    readMarks: (userId: string, rooms: readonly string[]): Promise<Map<string, ReadMark>> =>
      guarded('readMarks', async () => {
        if (rooms.length === 0) return new Map();
        // one round trip for every room
        const pipeline = client.pipeline();
        for (const room of rooms) {
          const k = keys(room);
          pipeline.hget(k.reads, userId).get(k.n);
        }
        const replies = (await pipeline.exec()) ?? [];
        const marks = new Map<string, ReadMark>();
        rooms.forEach((room, i) => {
          const [markErr, mark] = replies[2 * i] ?? [];
          const [totalErr, total] = replies[2 * i + 1] ?? [];
          if (markErr || totalErr) throw markErr ?? totalErr;
          const [markId, markN] = typeof mark === 'string' ? (mark.split(' ') as [string, string]) : [null, '0'];
          marks.set(room, toReadMark(markId, Number(markN), Number(total ?? 0)));
        });
        return marks;
      }),
  };
}
