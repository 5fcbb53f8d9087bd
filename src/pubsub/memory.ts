import { BackendUnavailableError } from '../errors.js';
import { compareIds, formatId, nextId, parseId, type StreamId } from './ids.js';
import { channelOf } from './topics.js';
import { isChange, type ControlEvent, type Engine, type Listener, type LogEntry, type MessageChange, type ReadMark, type RoomSignal, type StoredMessage } from './types.js';

export interface MemoryEngineOptions {
  /** Messages kept per room. @default 1000 */
  readonly historyLimit?: number;
  /** Seconds a message is kept. @default 604800 */
  readonly historyTtl?: number;
  readonly now?: () => number;
}

interface RoomLog {
  last: StreamId | null;
  entries: LogEntry[];
  ids: StreamId[];
  /** Per entry: the message's number in the room (1, 2, ...), 0 for changes. */
  numbers: number[];
  /** Messages ever appended: the number of the newest. */
  total: number;
  /** Final state of changed messages, by message id. */
  changes: Map<string, { text: string; editedAt: string } | { deleted: true }>;
  /** Read marks by user id. */
  reads: Map<string, { id: string; n: number }>;
}

/** The embedded engine: per-room capped arrays and synchronous publish after append, mirroring the Redis script. */
export function createMemoryEngine(options: MemoryEngineOptions = {}): Engine {
  const historyLimit = options.historyLimit ?? 1000;
  const historyTtlMs = (options.historyTtl ?? 604_800) * 1000;
  const now = options.now ?? Date.now;
  const logs = new Map<string, RoomLog>();
  const listeners = new Map<string, Set<Listener>>();
  const controlListeners = new Set<(event: ControlEvent) => void>();
  const signalListeners = new Map<string, Set<(signal: RoomSignal) => void>>();
  /** room -> user id -> how many of this user's subscriptions are in the room */
  const presence = new Map<string, Map<string, { username: string; count: number }>>();
  const logOf = (room: string) => {
    let log = logs.get(room);
    if (!log) logs.set(room, (log = { last: null, entries: [], ids: [], numbers: [], total: 0, changes: new Map(), reads: new Map() }));
    return log;
  };
  const emitSignal = (signal: RoomSignal) => {
    for (const listener of [...(signalListeners.get(signal.room) ?? [])]) {
      try {
        listener(signal);
      } catch {
        // as publish: one faulty listener must not starve the others
      }
    }
  };
  /** As the Redis scripts do: work that arrives after its deadline is refused, not done. */
  const checkDeadline = (deadline: number | undefined, what: string) => {
    if (deadline !== undefined && now() > deadline) throw new BackendUnavailableError(`${what} refused: it arrived after its deadline`);
  };
  /** The next id of the log and its time; `write` makes the entry, which is appended (with its number: 0 for changes). */
  const appendEntry = <E extends LogEntry>(log: RoomLog, n: number, write: (id: string, createdAt: string) => E): E => {
    const t = now();
    const id = nextId(log.last, t);
    log.last = id;
    const entry = write(formatId(id), new Date(t).toISOString());
    log.entries.push(entry);
    log.ids.push(id);
    log.numbers.push(n);
    return entry;
  };
  /** A message in its final state, or null when deleted. */
  const finalState = (log: RoomLog, m: StoredMessage): StoredMessage | null => {
    const c = log.changes.get(m.id);
    if (!c) return m;
    return 'deleted' in c ? null : { ...m, text: c.text, editedAt: c.editedAt };
  };
  const readMark = (log: RoomLog | undefined, userId: string): ReadMark => {
    const mark = log?.reads.get(userId);
    return { lastReadId: mark?.id ?? null, unread: Math.min(historyLimit, Math.max(0, (log?.total ?? 0) - (mark?.n ?? 0))) };
  };
  const publish = (channel: string, message: LogEntry) => {
    for (const listener of listeners.get(channel) ?? []) {
      try {
        listener(message);
      } catch {
        // one faulty listener must not starve the others
      }
    }
  };
  const trim = (log: RoomLog) => {
    const oldest = BigInt(now() - historyTtlMs);
    let drop = Math.max(0, log.entries.length - historyLimit);
    while (drop < log.ids.length && log.ids[drop]!.ms < oldest) drop++;
    if (drop > 0) {
      for (const e of log.entries.slice(0, drop)) if (!isChange(e)) log.changes.delete(e.id);
      log.entries.splice(0, drop);
      log.ids.splice(0, drop);
      log.numbers.splice(0, drop);
    }
  };
  /** Index of the first id greater than `id` (or >= when inclusive). */
  const upperBound = (ids: StreamId[], id: StreamId, inclusive: boolean) => {
    let lo = 0;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareIds(ids[mid]!, id);
      if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  return {
    kind: 'memory',
    log: {
      async append(room, draft, opts = {}) {
        checkDeadline(opts.deadline, 'append');
        const log = logOf(room);
        const message = appendEntry(log, ++log.total, (id, createdAt): StoredMessage => ({
          id,
          room,
          text: draft.text,
          authorId: draft.authorId,
          authorName: draft.authorName,
          createdAt,
        }));
        log.reads.set(draft.authorId, { id: message.id, n: log.total });
        trim(log);
        publish(channelOf({ kind: 'room', room }), message);
        for (const userId of opts.notifyUsers ?? []) publish(channelOf({ kind: 'user', userId }), message);
        return message;
      },
      async change(room, draft, opts = {}) {
        checkDeadline(opts.deadline, 'change');
        const log = logs.get(room);
        if (!log) return { ok: false, reason: 'not-found' };
        trim(log);
        const target = parseId(draft.target);
        const at = target ? upperBound(log.ids, target, true) : -1;
        const entry = at >= 0 ? log.entries[at] : undefined;
        if (!entry || entry.id !== draft.target || isChange(entry) || !finalState(log, entry)) return { ok: false, reason: 'not-found' };
        if (entry.authorId !== draft.authorId) return { ok: false, reason: 'not-author' };
        const change = appendEntry(log, 0, (id, createdAt): MessageChange => ({
          kind: draft.kind,
          id,
          room,
          target: draft.target,
          text: draft.kind === 'deleted' ? '' : draft.text,
          authorId: draft.authorId,
          authorName: draft.authorName,
          createdAt,
        }));
        log.changes.set(draft.target, draft.kind === 'deleted' ? { deleted: true } : { text: change.text, editedAt: change.createdAt });
        trim(log);
        publish(channelOf({ kind: 'room', room }), change);
        return { ok: true, change };
      },
      async range(room, q) {
        const log = logs.get(room);
        if (!log) return [];
        trim(log);
        const start = q.after ? upperBound(log.ids, parseId(q.after)!, false) : 0;
        const end = q.before ? upperBound(log.ids, parseId(q.before)!, true) : log.ids.length;
        const out: StoredMessage[] = [];
        const take = (i: number) => {
          const e = log.entries[i]!;
          const m = isChange(e) ? null : finalState(log, e);
          if (m) out.push(m);
        };
        if (q.from === 'oldest') for (let i = start; i < end && out.length < q.limit; i++) take(i);
        else {
          for (let i = end - 1; i >= start && out.length < q.limit; i--) take(i);
          out.reverse();
        }
        return out;
      },
      async entries(room, q) {
        const log = logs.get(room);
        if (!log) return [];
        trim(log);
        const start = q.after ? upperBound(log.ids, parseId(q.after)!, false) : 0;
        return log.entries.slice(start, start + q.limit);
      },
    },
    reads: {
      async markRead(room, userId, id) {
        const log = logOf(room);
        trim(log);
        const cursor = parseId(id)!;
        // the newest message at or before the cursor
        let i = upperBound(log.ids, cursor, false) - 1;
        while (i >= 0 && log.numbers[i] === 0) i--;
        const candidate =
          i >= 0
            ? { id: log.entries[i]!.id, n: log.numbers[i]! }
            : // nothing retained at or before it: read up to just before the oldest retained message
              { id, n: Math.max(0, (log.numbers.find((n) => n > 0) ?? log.total + 1) - 1) };
        const current = log.reads.get(userId);
        if (!current || candidate.n > current.n) log.reads.set(userId, candidate);
        return readMark(log, userId);
      },
      async readMarks(userId, rooms) {
        return new Map(rooms.map((room) => [room, readMark(logs.get(room), userId)]));
      },
    },
    signals: {
      async publish(signal) {
        emitSignal(signal);
      },
      async subscribe(room, listener) {
        let set = signalListeners.get(room);
        if (!set) signalListeners.set(room, (set = new Set()));
        const entry = (s: RoomSignal) => listener(s);
        set.add(entry);
        return {
          async unsubscribe() {
            const current = signalListeners.get(room);
            current?.delete(entry);
            if (current?.size === 0) signalListeners.delete(room);
          },
        };
      },
      async enterPresence(room, user) {
        let users = presence.get(room);
        if (!users) presence.set(room, (users = new Map()));
        const here = users.get(user.id);
        if (here) here.count++;
        else {
          users.set(user.id, { username: user.username, count: 1 });
          emitSignal({ type: 'presence', room, userId: user.id, username: user.username, online: true });
        }
        let left = false;
        return {
          async leave() {
            if (left) return;
            left = true;
            const entry = presence.get(room)?.get(user.id);
            if (!entry || --entry.count > 0) return;
            presence.get(room)!.delete(user.id);
            if (presence.get(room)!.size === 0) presence.delete(room);
            emitSignal({ type: 'presence', room, userId: user.id, username: user.username, online: false });
          },
        };
      },
      async present(room) {
        return [...(presence.get(room) ?? [])].map(([id, { username }]) => ({ id, username }));
      },
    },
    delivery: {
      async subscribe(topic, listener) {
        const channel = channelOf(topic);
        let set = listeners.get(channel);
        if (!set) listeners.set(channel, (set = new Set()));
        // wrap so the same function may subscribe twice and each unsubscribe removes one
        const entry: Listener = (m) => listener(m);
        set.add(entry);
        const last = topic.kind === 'room' ? logs.get(topic.room)?.last : undefined;
        return {
          ...(topic.kind === 'room' ? { head: last ? formatId(last) : '0-0' } : {}),
          async unsubscribe() {
            const s = listeners.get(channel);
            if (!s) return;
            s.delete(entry);
            if (s.size === 0) listeners.delete(channel);
          },
        };
      },
    },
    control: {
      async publish(event) {
        for (const listener of [...controlListeners]) {
          try {
            listener(event);
          } catch {
            // as publish: one faulty listener must not starve the others
          }
        }
      },
      async subscribe(listener) {
        const entry = (e: ControlEvent) => listener(e);
        controlListeners.add(entry);
        return {
          async unsubscribe() {
            controlListeners.delete(entry);
          },
        };
      },
    },
    async ping() {
      return true;
    },
    async close() {
      listeners.clear();
      controlListeners.clear();
      signalListeners.clear();
    },
  };
}
