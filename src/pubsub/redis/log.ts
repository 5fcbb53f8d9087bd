import type { RedisClient } from '../../store/redis-client.js';
import { defineScript, guarded } from '../../store/redis-client.js';
import { compareIds, formatId, isoOfId, parseId, type StreamId } from '../ids.js';
import type { AppendOptions, ChangeDraft, ChangeResult, LogEntry, MessageChange, MessageDraft, RangeQuery, RoomLog, StoredMessage } from '../types.js';
import { deadlineOf, writeFailure } from './deadline.js';
import type { RedisInbox } from './inbox.js';
import { roomKeys } from './keys.js';
import { FIELDS_OF_LUA, WRITE_PRELUDE } from './lua.js';

/**
 * A room's log in Redis: a stream of entries (messages as written, then edits and deletions), with
 * beside it, under the same hash tag so that every script touches one slot:
 *
 * | key | type | holds |
 * | `room:{name}:log` | stream | entries; a message has text, authorId, authorName and n (its number in the room); a change has kind and target too |
 * | `room:{name}:n` | string | messages ever appended (the newest one's n) |
 * | `room:{name}:changes` | hash | message id -> its current state when edited: `{"t":text,"e":editedAt,"x":id of the edit's entry}` |
 * | `room:{name}:reads` | hash | user id -> `<message id> <n>`, the user's read mark (reads.ts) |
 * | `room:{name}:client:<author id>:<client id>` | string | the id of the message appended with that idempotency key |
 *
 * All of them expire HISTORY_TTL after the room's last write, together.
 *
 * Redaction: a deletion removes the message's entry and its edit's entry from the stream (XDEL)
 * and leaves only its DELETED entry, a tombstone without text; an edit removes the previous edit's
 * entry. Readers show every entry about a message with the message's current state, so no earlier
 * text is readable: not in history, replay, resume nor a gap fill. (Entries written before
 * redaction existed, with several edits or `{"d":1}` states, read the same way.)
 */

/*
 * Append and publish in one script, so that Redis runs them as one step: subscribers receive a
 * room's entries in the order of their ids, and an entry is published iff it is in the log.
 *
 * KEYS: log, n, changes, reads, and the author's idempotency key when the sender gave one.
 * ARGV: deadline ms ('' = none), publish command, historyLimit, historyTtl ms, room, text,
 * authorId, authorName, the room's channel. Answers { the message's JSON, 1 when it was appended
 * before with the same key (nothing new is written or published) or 0 }. Notified users (direct
 * messages) are told in a second step, in their own slot (inbox.ts).
 *
 * - Idempotency: an append with a key already used by the same author in the same room (within
 *   historyTtl: the key expires with the room's other keys) answers that message, as the log now
 *   shows it: a retry whose first reply was lost (the connection dropped after Redis ran the
 *   script) learns the id it got, and the log holds the message once. The key is checked and set
 *   in the same step as the append.
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
const APPEND = `${WRITE_PRELUDE}
local seen = KEYS[5] and redis.call('GET', KEYS[5])
if seen then
  local found = redis.call('XRANGE', KEYS[1], seen, seen)
  local f = found[1] and fields_of(found[1]) or {}
  local text, edited = f.text or '', nil
  local state = found[1] and redis.call('HGET', KEYS[3], seen)
  if state then
    local s = cjson.decode(state)
    text, edited = s.t or '', s.e
  end
  local ms = tonumber(string.match(seen, '^(%d+)-'))
  return { cjson.encode({ id = seen, room = ARGV[5], text = text, authorId = ARGV[7], authorName = ARGV[8], createdAt = iso_from_ms(ms), editedAt = edited }), 1 }
end
local n = redis.call('INCR', KEYS[2])
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'text', ARGV[6], 'authorId', ARGV[7], 'authorName', ARGV[8], 'n', n)
redis.call('XTRIM', KEYS[1], 'MINID', '~', tostring(now - tonumber(ARGV[4])))
redis.call('HSET', KEYS[4], ARGV[7], id .. ' ' .. n)
if KEYS[5] then redis.call('SET', KEYS[5], id) end
keep_all(ARGV[4])
local ms = tonumber(string.match(id, '^(%d+)-'))
local json = cjson.encode({ id = id, room = ARGV[5], text = ARGV[6], authorId = ARGV[7], authorName = ARGV[8], createdAt = iso_from_ms(ms) })
redis.call(publish, ARGV[9], json)
return { json, 0 }
`;

/*
 * An edit or a deletion by the message's author, appended to the log and published like a message,
 * with the redaction it implies (see above): a deleted message cannot change again, for it is no
 * longer in the log.
 * KEYS: log, changes. ARGV: deadline, publish command, historyLimit, historyTtl ms, room, kind,
 * target, text, authorId, authorName, channel. Answers the change's JSON, or 'not-found' / 'not-author'.
 */
const CHANGE = `${WRITE_PRELUDE}
local found = redis.call('XRANGE', KEYS[1], ARGV[7], ARGV[7])
if #found == 0 then return 'not-found' end
local f = fields_of(found[1])
if f.kind then return 'not-found' end
local state = redis.call('HGET', KEYS[2], ARGV[7])
local s = state and cjson.decode(state) or {}
if s.d then return 'not-found' end
if f.authorId ~= ARGV[9] then return 'not-author' end
if s.x then redis.call('XDEL', KEYS[1], s.x) end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'kind', ARGV[6], 'target', ARGV[7], 'text', ARGV[8], 'authorId', ARGV[9], 'authorName', ARGV[10])
local createdAt = iso_from_ms(tonumber(string.match(id, '^(%d+)-')))
if ARGV[6] == 'deleted' then
  redis.call('XDEL', KEYS[1], ARGV[7])
  redis.call('HDEL', KEYS[2], ARGV[7])
else
  redis.call('HSET', KEYS[2], ARGV[7], cjson.encode({ t = ARGV[8], e = createdAt, x = id }))
end
keep_all(ARGV[4])
local json = cjson.encode({ kind = ARGV[6], id = id, room = ARGV[5], target = ARGV[7], text = ARGV[8], authorId = ARGV[9], authorName = ARGV[10], createdAt = createdAt })
redis.call(publish, ARGV[11], json)
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
 * Log entries as readers see them (replay, gap fills), in one consistent step: entries from start
 * (an inclusive id, or '(' id), each shown with its message's current state: a message with its
 * current text and editedAt, an edit with the current text, a deletion as it is; entries about a
 * deleted message other than its deletion (only in logs written before redaction) are left out.
 * Reads until limit entries are found or the log ends. KEYS: log, changes. ARGV: start, limit.
 * Answers a flat list: id, kind ('' for a message), target, text, authorId, authorName, editedAt.
 */
const ENTRIES = `${FIELDS_OF_LUA}
local out, count = {}, 0
local limit = tonumber(ARGV[2])
local low = ARGV[1]
while count < limit do
  local page = redis.call('XRANGE', KEYS[1], low, '+', 'COUNT', limit)
  if #page == 0 then break end
  for _, entry in ipairs(page) do
    local f = fields_of(entry)
    local s = nil
    if f.kind ~= 'deleted' then
      local state = redis.call('HGET', KEYS[2], f.target or entry[1])
      if state then s = cjson.decode(state) end
    end
    if count < limit and not (s and s.d) then
      local text, edited = f.text, ''
      if s then
        text = s.t
        if not f.kind then edited = s.e end
      end
      for _, v in ipairs({ entry[1], f.kind or '', f.target or '', text, f.authorId, f.authorName, edited }) do out[#out + 1] = v end
      count = count + 1
    end
  end
  if #page < limit then break end
  low = '(' .. page[#page][1]
end
return out
`;

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

/** ENTRIES' flat answer as log entries. */
function toEntries(room: string, flat: string[]): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = 0; i + 6 < flat.length; i += 7) {
    const [id, kind, target, text, authorId, authorName, editedAt] = flat.slice(i, i + 7) as [string, string, string, string, string, string, string];
    const base = { id, room, text, authorId, authorName, createdAt: isoOfId(id) };
    out.push(kind === 'edited' || kind === 'deleted' ? { kind, target, ...base } : { ...base, ...(editedAt ? { editedAt } : {}) });
  }
  return out;
}

export interface RedisLogOptions {
  readonly client: RedisClient;
  readonly keyPrefix: string;
  /** PUBLISH, or SPUBLISH on a cluster. */
  readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  /** Messages kept per room: at least this many (trimming is approximate). */
  readonly historyLimit: number;
  /** Seconds a message is kept. */
  readonly historyTtl: number;
  /** Clock for ageing in range (Unix ms). */
  readonly now: () => number;
  /** Where direct messages are announced to their recipients. */
  readonly inbox: RedisInbox;
}

export interface RedisLog extends RoomLog {
  /** Retained entries after a cursor, for filling a channel's gap: as `entries` shows them. */
  after(room: string, after: string, limit: number): Promise<LogEntry[]>;
  /** The id of the room's newest entry; '0-0' when there is none. */
  head(room: string): Promise<string>;
  /** One retained message in its current state; null when deleted or no longer retained. */
  find(room: string, id: string): Promise<StoredMessage | null>;
}

/** The writing and reading side of room logs. */
export function createRedisLog(options: RedisLogOptions): RedisLog {
  const { client, keyPrefix: p, historyLimit, publishCommand } = options;
  const historyTtlMs = options.historyTtl * 1000;
  const appendScript = defineScript(client, 'chatLogAppend', APPEND);
  const changeScript = defineScript(client, 'chatLogChange', CHANGE);
  const rangeScript = defineScript(client, 'chatLogRange', RANGE);
  const entriesScript = defineScript(client, 'chatLogEntries', ENTRIES);

  /** The first id to read: after `after`, and not older than historyTtl; null when nothing can follow `after`. */
  const lowerBound = (after: string | undefined): StreamId | null => {
    const floor: StreamId = { ms: BigInt(Math.max(0, options.now() - historyTtlMs)), seq: 0n };
    if (after === undefined) return floor;
    const next = successor(parseCursor(after, 'after'));
    if (!next) return null;
    return compareIds(next, floor) > 0 ? next : floor;
  };
  const readEntries = async (room: string, start: string, limit: number): Promise<LogEntry[]> => {
    if (limit <= 0) return [];
    const k = roomKeys(p, room);
    return toEntries(room, (await entriesScript(2, k.log, k.changes, start, limit)) as string[]);
  };

  return {
    async append(room: string, draft: MessageDraft, opts: AppendOptions = {}): Promise<StoredMessage> {
      const k = roomKeys(p, room);
      const keys = [k.log, k.n, k.changes, k.reads, ...(opts.clientId ? [k.client(draft.authorId, opts.clientId)] : [])];
      let message: StoredMessage;
      let retried: boolean;
      try {
        const [json, seen] = (await appendScript(
          keys.length, ...keys,
          deadlineOf(client, opts.deadline), publishCommand, historyLimit, historyTtlMs, room, draft.text, draft.authorId, draft.authorName, k.channel,
        )) as [string, number];
        message = JSON.parse(json) as StoredMessage;
        retried = Number(seen) === 1;
      } catch (err) {
        throw writeFailure(err, 'append');
      }
      // the message is stored: the answer is success whatever becomes of the notifications (a
      // retry with the same key adds the ones its first attempt may not have made)
      await Promise.all((opts.notifyUsers ?? []).map((userId) => options.inbox.notify(userId, message, retried).catch(() => {})));
      return message;
    },

    async change(room: string, draft: ChangeDraft, opts: Pick<AppendOptions, 'deadline'> = {}): Promise<ChangeResult> {
      const k = roomKeys(p, room);
      let answer: unknown;
      try {
        answer = await changeScript(
          2, k.log, k.changes,
          deadlineOf(client, opts.deadline), publishCommand, historyLimit, historyTtlMs, room, draft.kind, draft.target, draft.kind === 'deleted' ? '' : draft.text,
          draft.authorId, draft.authorName, k.channel,
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
        const k = roomKeys(p, room);
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
        return start ? readEntries(room, formatId(start), q.limit) : [];
      }),

    after: (room, after, limit) => readEntries(room, `(${after}`, limit),

    async find(room, id) {
      const k = roomKeys(p, room);
      const flat = (await rangeScript(2, k.log, k.changes, 'oldest', id, id, 1)) as string[];
      if (flat.length < 5) return null;
      const [, text, authorId, authorName, editedAt] = flat as [string, string, string, string, string];
      return { id, room, text, authorId, authorName, createdAt: isoOfId(id), ...(editedAt ? { editedAt } : {}) };
    },

    async head(room) {
      const [latest] = await client.xrevrange(roomKeys(p, room).log, '+', '-', 'COUNT', 1);
      return latest?.[0] ?? '0-0';
    },
  };
}
