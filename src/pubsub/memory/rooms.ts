import { compareIds, formatId, nextId, parseId, type StreamId } from '../ids.js';
import { ENTRIES_PER_MESSAGE, isMessage, type LogEntry, type Quote, type StoredMessage, type UserRef } from '../types.js';

/** One room's log in memory, as the Redis stream and its side keys hold it. */
export interface RoomState {
  last: StreamId | null;
  entries: LogEntry[];
  ids: StreamId[];
  /** Per entry: the message's number in the room (1, 2, ...), 0 for changes. */
  numbers: number[];
  /** Messages ever appended: the number of the newest. */
  total: number;
  /** The ids of the newest historyLimit messages sent (deleted ones included), oldest first: history. */
  listed: string[];
  /** Current state of edited messages, by message id, with the id of the edit's entry (as the Redis changes hash). */
  changes: Map<string, { text: string; editedAt: string; editId: string }>;
  /** Read marks by user id. */
  reads: Map<string, { id: string; n: number }>;
  /** Idempotency keys (`<author id>\n<client id>`) -> the message appended with it and until when the key holds (Unix ms), oldest first. */
  clients: Map<string, { id: string; until: number }>;
  /** Reactions by message id, in the order their emoji were first used, with the id of the message's latest reaction entry. */
  reactions: Map<string, { r: { emoji: string; userIds: string[] }[]; x?: string }>;
  /** Per user id, the numbers of the messages that mention them, oldest first. */
  mentions: Map<string, number[]>;
  /** The numbers of deleted messages in history (unread counts leave them out), oldest first. */
  gone: number[];
  /** Set when ownership was handed over. */
  owner: UserRef | null;
  /** Moderators: user id -> username. */
  moderators: Map<string, string>;
  /** Banned users: user id -> the ban (at: Unix ms). */
  bans: Map<string, { username: string; byId: string; byName: string; at: number }>;
  /** Muted users: user id -> the mute (until: Unix ms). */
  mutes: Map<string, { username: string; byId: string; byName: string; until: number }>;
}

export interface MemoryRoomsOptions {
  readonly historyLimit: number;
  readonly historyTtlMs: number;
  readonly now: () => number;
}

/** The rooms' logs, shared by the log and the read marks (one state, as one Redis holds both). */
export type MemoryRooms = ReturnType<typeof createMemoryRooms>;

export function createMemoryRooms({ historyLimit, historyTtlMs, now }: MemoryRoomsOptions) {
  const rooms = new Map<string, RoomState>();

  /** Removes an entry (redaction, as XDEL does); false when there is none with that id. */
  const remove = (log: RoomState, id: string): boolean => {
    const at = indexAfter(log, id, true);
    if (log.entries[at]?.id !== id) return false;
    log.entries.splice(at, 1);
    log.ids.splice(at, 1);
    log.numbers.splice(at, 1);
    return true;
  };

  /** A message deleted or leaving history: its entry, its latest edit and reaction entries and its state, as the scripts do. */
  const forget = (log: RoomState, id: string) => {
    remove(log, id);
    const edit = log.changes.get(id)?.editId;
    if (edit) remove(log, edit);
    log.changes.delete(id);
    const reaction = log.reactions.get(id)?.x;
    if (reaction) remove(log, reaction);
    log.reactions.delete(id);
  };

  /**
   * Trims as the append script does: history is the newest historyLimit messages sent (deleted
   * ones included); one that leaves it (by count, or past the TTL) goes with its edit and reaction,
   * and so does every entry older than the oldest that stays, past the entry cap, or past the TTL.
   */
  const trim = (log: RoomState) => {
    const aged = now() - historyTtlMs;
    const leaving = log.listed.splice(0, Math.max(0, log.listed.length - historyLimit));
    while (log.listed.length > 0 && parseId(log.listed[0]!)!.ms < BigInt(aged)) leaving.push(log.listed.shift()!);
    for (const id of leaving) forget(log, id);
    let drop = Math.max(0, log.entries.length - historyLimit * ENTRIES_PER_MESSAGE);
    // when messages left: the entries before the oldest that stays (before that, a room keeps all)
    if (leaving.length > 0 && log.listed.length > 0) drop = Math.max(drop, indexAfter(log, log.listed[0]!, true));
    while (drop < log.ids.length && log.ids[drop]!.ms < BigInt(aged)) drop++;
    // idempotency keys expire after the history TTL (each was set with the same TTL: oldest first)
    for (const [key, { until }] of log.clients) {
      if (until > now()) break;
      log.clients.delete(key);
    }
    if (drop === 0) return;
    for (const e of log.entries.slice(0, drop)) {
      if (!isMessage(e)) continue;
      log.changes.delete(e.id);
      log.reactions.delete(e.id);
    }
    log.entries.splice(0, drop);
    log.ids.splice(0, drop);
    log.numbers.splice(0, drop);
  };

  /** Index of the first entry whose id is greater than `id` (or equal, when inclusive). */
  const indexAfter = (log: RoomState, id: string | StreamId, inclusive = false): number => {
    const target = typeof id === 'string' ? parseId(id)! : id;
    let lo = 0;
    let hi = log.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareIds(log.ids[mid]!, target);
      if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  /** The message a reply answers, as it is now: its id alone when it is gone. */
  const quoteOf = (log: RoomState, id: string): Quote => {
    const e = log.entries[indexAfter(log, id, true)];
    if (e?.id !== id || !isMessage(e)) return { id };
    const text = log.changes.get(id)?.text ?? e.text;
    return { id, authorId: e.authorId, authorName: e.authorName, firstLine: /^[^\r\n]*/.exec(text)![0] };
  };

  /** A message in its current state: edited text, the answered message as it is now, reactions (a deleted message is no longer in the log). */
  const currentState = (log: RoomState, m: StoredMessage): StoredMessage => {
    const { replyTo, reactions: _stored, editedAt: _edited, ...rest } = m;
    const c = log.changes.get(m.id);
    const reactions = log.reactions.get(m.id)?.r ?? [];
    return {
      ...rest,
      ...(c ? { text: c.text, editedAt: c.editedAt } : {}),
      ...(replyTo ? { replyTo: quoteOf(log, replyTo.id) } : {}),
      ...(reactions.length ? { reactions: reactions.map((r) => ({ emoji: r.emoji, userIds: [...r.userIds] })) } : {}),
    };
  };

  return {
    historyLimit,
    historyTtlMs,
    now,
    /** A room's log, trimmed; undefined when nothing was ever written to it. */
    find(room: string): RoomState | undefined {
      const log = rooms.get(room);
      if (log) trim(log);
      return log;
    },
    /** A room's log, made if new. */
    ensure(room: string): RoomState {
      let log = rooms.get(room);
      if (!log) {
        log = { last: null, entries: [], ids: [], numbers: [], total: 0, listed: [], changes: new Map(), reads: new Map(), clients: new Map(), reactions: new Map(), mentions: new Map(), gone: [], owner: null, moderators: new Map(), bans: new Map(), mutes: new Map() };
        rooms.set(room, log);
      }
      trim(log);
      return log;
    },
    /** Appends an entry with the log's next id and time (`write` makes it); `n` is its message number, 0 for changes. */
    append<E extends LogEntry>(log: RoomState, n: number, write: (id: string, createdAt: string) => E): E {
      const t = now();
      const id = nextId(log.last, t);
      log.last = id;
      const entry = write(formatId(id), new Date(t).toISOString());
      log.entries.push(entry);
      log.ids.push(id);
      log.numbers.push(n);
      if (n > 0) log.listed.push(formatId(id));
      trim(log);
      return entry;
    },
    currentState,
    /** The retained message with this id in its current state; null when deleted or no longer retained. */
    findMessage(log: RoomState, id: string): StoredMessage | null {
      const e = log.entries[indexAfter(log, id, true)];
      return e?.id === id && isMessage(e) ? currentState(log, e) : null;
    },
    quoteOf: (log: RoomState, id: string) => quoteOf(log, id),
    remove,
    forget,
    indexAfter,
    /** The number before the oldest message of history; null before the first message. */
    historyFloor(log: RoomState): number | null {
      return log.listed.length > 0 ? log.total - log.listed.length : null;
    },
  };
}
