import type { RedisClient } from '../../store/redis-client.js';
import { defineScript, guarded } from '../../store/redis-client.js';
import { compareIds, formatId, parseId, type StreamId } from '../ids.js';
import {
  WriteRefused,
  type AppendOptions,
  type ChangeDraft,
  type ChangeResult,
  type LogEntry,
  type MessageChange,
  type MessageDraft,
  type RangeQuery,
  type ReactionChange,
  type ReactionDraft,
  type ReactionResult,
  type RoomLog,
  type StoredMessage,
} from '../types.js';
import { deadlineOf, writeFailure } from './deadline.js';
import type { RedisInbox } from './inbox.js';
import { logWriteKeys, roomKeys } from './keys.js';
import { APPEND, CHANGE, ENTRIES, RANGE, REACT } from './log-lua.js';

/**
 * A room's log in Redis: a stream of entries (messages as written, then edits and deletions,
 * reaction changes and moderators' actions), with beside it, under the same hash tag so that every
 * script touches one slot:
 *
 * | key | type | holds |
 * | `room:{name}:log` | stream | entries (log-lua.ts lists their fields) |
 * | `room:{name}:n` | string | messages ever appended (the newest one's n) |
 * | `room:{name}:changes` | hash | message id -> its current state when edited: `{"t":text,"e":editedAt,"x":id of the edit's entry}` |
 * | `room:{name}:reactions` | hash | message id -> its reactions and the id of its latest reaction entry |
 * | `room:{name}:reads` | hash | user id -> `<message id> <n>`, the user's read mark (reads.ts) |
 * | `room:{name}:mentions` | hash | user id -> the numbers (n) of the newest messages that mention them |
 * | `room:{name}:client:<author id>:<client id>` | string | the id of the message appended with that idempotency key |
 * | `room:{name}:bans`, `:mutes`, `:roles` | hash | moderation (moderation.ts): checked by every write, never expire |
 *
 * All but the moderation keys expire HISTORY_TTL after the room's last write, together.
 *
 * Redaction: a deletion removes the message's entry, its edit's entry and its latest reaction
 * entry from the stream (XDEL) and leaves only its DELETED entry, a tombstone without text; an edit
 * removes the previous edit's entry. A reply keeps only the id of the message it answers, whose
 * first line is read whenever the reply is: deleting the answered message removes its text from
 * every reply too. Readers show every entry about a message with the message's current state, so
 * no earlier text is readable: not in history, replay, resume nor a gap fill.
 */

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

/** A refusal of the write scripts: { 'banned' } or { 'muted', until } or { 'reply-not-found' }. */
function refusal(reply: unknown[]): WriteRefused | null {
  const [status, until] = reply as [string, string | undefined];
  if (status === 'banned' || status === 'reply-not-found') return new WriteRefused(status);
  if (status === 'muted') return new WriteRefused('muted', until);
  return null;
}

const parse = <T>(json: string) => JSON.parse(json) as T;

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
  const reactScript = defineScript(client, 'chatLogReact', REACT);

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
    return ((await entriesScript(3, k.log, k.changes, k.reactions, start, limit, room)) as string[]).map((j) => parse<LogEntry>(j));
  };
  const readRange = async (room: string, from: 'oldest' | 'newest', start: string, end: string, limit: number): Promise<StoredMessage[]> => {
    const k = roomKeys(p, room);
    return ((await rangeScript(3, k.log, k.changes, k.reactions, from, start, end, limit, room)) as string[]).map((j) => parse<StoredMessage>(j));
  };
  /** Runs a write script with the room's write keys (and `extra` keys after them). */
  const write = async (what: string, script: (...args: (string | number)[]) => Promise<unknown>, room: string, extra: string[], args: (string | number)[]) => {
    const keys = [...logWriteKeys(roomKeys(p, room)), ...extra];
    try {
      return (await script(keys.length, ...keys, ...args)) as unknown[];
    } catch (err) {
      throw writeFailure(err, what);
    }
  };

  return {
    async append(room: string, draft: MessageDraft, opts: AppendOptions = {}): Promise<StoredMessage> {
      const k = roomKeys(p, room);
      const counted = [...new Set(draft.notifyMentioned ?? [])];
      const reply = await write('append', appendScript, room, opts.clientId ? [k.client(draft.authorId, opts.clientId)] : [], [
        deadlineOf(client, opts.deadline), publishCommand, historyLimit, historyTtlMs, room, draft.text, draft.authorId, draft.authorName, k.channel,
        draft.replyTo ?? '', draft.mentions?.length ? JSON.stringify(draft.mentions) : '', ...counted,
      ]);
      const refused = refusal(reply);
      if (refused) throw refused;
      const message = parse<StoredMessage>(reply[1] as string);
      const retried = Number(reply[2]) === 1;
      // the message is stored: the answer is success whatever becomes of the notifications (a
      // retry with the same key adds the ones its first attempt may not have made)
      const notify = [...new Set([...(opts.notifyUsers ?? []), ...counted])];
      await Promise.all(notify.map((userId) => options.inbox.notify(userId, message, retried).catch(() => {})));
      return message;
    },

    async change(room: string, draft: ChangeDraft, opts: Pick<AppendOptions, 'deadline'> = {}): Promise<ChangeResult> {
      const k = roomKeys(p, room);
      const reply = await write('change', changeScript, room, [], [
        deadlineOf(client, opts.deadline), publishCommand, historyLimit, historyTtlMs, room, draft.kind, draft.target, draft.kind === 'deleted' ? '' : draft.text,
        draft.authorId, draft.authorName, k.channel, draft.asModerator && draft.kind === 'deleted' ? '1' : '0',
      ]);
      const refused = refusal(reply);
      if (refused) throw refused;
      const [status, json] = reply as [string, string];
      if (status === 'not-found' || status === 'not-author') return { ok: false, reason: status };
      return { ok: true, change: parse<MessageChange>(json) };
    },

    async react(room: string, draft: ReactionDraft, opts: { readonly maxEmoji: number; readonly deadline?: number }): Promise<ReactionResult> {
      const k = roomKeys(p, room);
      const reply = await write('react', reactScript, room, [], [
        deadlineOf(client, opts.deadline), publishCommand, historyLimit, historyTtlMs, room, draft.target, draft.emoji, draft.add ? '1' : '0',
        draft.authorId, draft.authorName, k.channel, opts.maxEmoji,
      ]);
      const refused = refusal(reply);
      if (refused) throw refused;
      const [status, json] = reply as [string, string];
      if (status === 'not-found' || status === 'too-many') return { ok: false, reason: status };
      if (status === 'same') return { ok: true, message: parse<StoredMessage>(json), change: null };
      const change = parse<ReactionChange>(json);
      return { ok: true, message: change.message, change };
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
        const out = await readRange(room, q.from, formatId(start), end, q.limit);
        return q.from === 'newest' ? out.reverse() : out;
      }),

    entries: (room: string, q: { readonly after?: string; readonly limit: number }): Promise<LogEntry[]> =>
      guarded('entries', async () => {
        const start = lowerBound(q.after);
        return start ? readEntries(room, formatId(start), q.limit) : [];
      }),

    after: (room, after, limit) => readEntries(room, `(${after}`, limit),

    async find(room, id) {
      const [message] = await readRange(room, 'oldest', id, id, 1);
      return message ?? null;
    },

    async head(room) {
      const [latest] = await client.xrevrange(roomKeys(p, room).log, '+', '-', 'COUNT', 1);
      return latest?.[0] ?? '0-0';
    },
  };
}
