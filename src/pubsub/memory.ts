import { BackendUnavailableError } from '../errors.js';
import { compareIds, formatId, nextId, parseId, type StreamId } from './ids.js';
import { channelOf } from './topics.js';
import type { ControlEvent, Engine, Listener, StoredMessage } from './types.js';

export interface MemoryEngineOptions {
  /** Messages kept per room. @default 1000 */
  readonly historyLimit?: number;
  /** Seconds a message is kept. @default 604800 */
  readonly historyTtl?: number;
  readonly now?: () => number;
}

interface RoomLog {
  last: StreamId | null;
  entries: StoredMessage[];
  ids: StreamId[];
}

/** The embedded engine: per-room capped arrays and synchronous publish after append, mirroring the Redis script. */
export function createMemoryEngine(options: MemoryEngineOptions = {}): Engine {
  const historyLimit = options.historyLimit ?? 1000;
  const historyTtlMs = (options.historyTtl ?? 604_800) * 1000;
  const now = options.now ?? Date.now;
  const logs = new Map<string, RoomLog>();
  const listeners = new Map<string, Set<Listener>>();
  const controlListeners = new Set<(event: ControlEvent) => void>();

  const publish = (channel: string, message: StoredMessage) => {
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
      log.entries.splice(0, drop);
      log.ids.splice(0, drop);
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
    async append(room, draft, opts = {}) {
      // same rule as the Redis script: work that arrives after its deadline is refused, not done
      if (opts.deadline !== undefined && now() > opts.deadline) throw new BackendUnavailableError('append refused: it arrived after its deadline');
      let log = logs.get(room);
      if (!log) logs.set(room, (log = { last: null, entries: [], ids: [] }));
      const t = now();
      const id = nextId(log.last, t);
      log.last = id;
      const message: StoredMessage = { ...draft, id: formatId(id), room, createdAt: new Date(t).toISOString() };
      log.entries.push(message);
      log.ids.push(id);
      trim(log);
      publish(channelOf({ kind: 'room', room }), message);
      for (const userId of opts.notifyUsers ?? []) publish(channelOf({ kind: 'user', userId }), message);
      return message;
    },
    async range(room, q) {
      const log = logs.get(room);
      if (!log) return [];
      trim(log);
      const start = q.after ? upperBound(log.ids, parseId(q.after)!, false) : 0;
      const end = q.before ? upperBound(log.ids, parseId(q.before)!, true) : log.ids.length;
      if (start >= end) return [];
      return q.from === 'oldest'
        ? log.entries.slice(start, Math.min(end, start + q.limit))
        : log.entries.slice(Math.max(start, end - q.limit), end);
    },
    async subscribe(topic, listener) {
      const channel = channelOf(topic);
      let set = listeners.get(channel);
      if (!set) listeners.set(channel, (set = new Set()));
      // wrap so the same function may subscribe twice and each unsubscribe removes one
      const entry: Listener = (m) => listener(m);
      set.add(entry);
      return {
        async unsubscribe() {
          const s = listeners.get(channel);
          if (!s) return;
          s.delete(entry);
          if (s.size === 0) listeners.delete(channel);
        },
      };
    },
    async broadcast(event) {
      for (const listener of [...controlListeners]) {
        try {
          listener(event);
        } catch {
          // as publish: one faulty listener must not starve the others
        }
      }
    },
    async onControl(listener) {
      const entry = (e: ControlEvent) => listener(e);
      controlListeners.add(entry);
      return {
        async unsubscribe() {
          controlListeners.delete(entry);
        },
      };
    },
    async ping() {
      return true;
    },
    async close() {
      listeners.clear();
      controlListeners.clear();
    },
  };
}
