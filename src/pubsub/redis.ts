import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { Redis } from 'ioredis';
import { BackendUnavailableError } from '../errors.js';
import { defineScript, guarded, pingWithin, quitClient, toBackendError } from '../store/redis-client.js';
import { formatId, parseId, type StreamId } from './ids.js';
import { channelOf, CONTROL_CHANNEL } from './topics.js';
import type { ControlEvent, Engine, Listener, StoredMessage, Subscription } from './types.js';

export interface RedisEngineOptions {
  /** Commands: XADD (by script), XRANGE, PING. Made with createRedisClient. */
  readonly client: Redis;
  /** A second connection, used only for SUBSCRIBE (a subscribed connection can do nothing else). */
  readonly subscriber: Redis;
  /** Prefix of every key and channel, e.g. `chat:`. */
  readonly keyPrefix: string;
  /** Messages kept per room: at least this many (trimming is approximate, see APPEND). */
  readonly historyLimit: number;
  /** Seconds a message is kept. */
  readonly historyTtl: number;
  /** Clock for ageing in range (Unix ms). @default Date.now */
  readonly now?: () => number;
}

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

/*
 * Append and publish in one script, so that Redis runs them as one step: subscribers receive a
 * room's messages in the order of their ids, and a message is published iff it is in the log.
 *
 * KEYS: room:{name}:log. ARGV: deadline ms ('' = none), historyLimit, historyTtl ms, room, text,
 * authorId, authorName, then the channels to publish on (the room's, then notified users').
 *
 * - The deadline is checked against the server's clock (TIME): a stalled Redis that wakes up
 *   refuses work whose caller has already been answered with an error.
 * - Trimming is approximate (MAXLEN ~, MINID ~): Redis drops whole stream nodes only, which is
 *   O(1) per append; exact trimming would split nodes on every append of a full room. The contract
 *   asks for "at least historyLimit" retained, which `~` honours; range() hides what is too old.
 * - createdAt is not stored: it is the id's milliseconds by definition, so range() derives it the
 *   same way (and the id is only known after XADD, when the entry can no longer change).
 */
const APPEND = `${ISO_FROM_MS_LUA}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = tonumber(ARGV[1])
if deadline and now > deadline then
  return redis.error_reply('DEADLINE append refused: it arrived after its deadline')
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'text', ARGV[5], 'authorId', ARGV[6], 'authorName', ARGV[7])
redis.call('XTRIM', KEYS[1], 'MINID', '~', tostring(now - tonumber(ARGV[3])))
-- an idle room's log goes away once all of it is too old anyway
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local ms = tonumber(string.match(id, '^(%d+)-'))
local json = cjson.encode({ id = id, room = ARGV[4], text = ARGV[5], authorId = ARGV[6], authorName = ARGV[7], createdAt = iso_from_ms(ms) })
for i = 8, #ARGV do redis.call('PUBLISH', ARGV[i], json) end
return json
`;

/** How much earlier than the client's command timeout an append must have run, for the reply to arrive in time. */
const DEADLINE_MARGIN_MS = 100;

const U64_MAX = (1n << 64n) - 1n;

const isControlEvent = (v: unknown): v is ControlEvent => {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  if (e.type === 'login-revoked') return typeof e.familyId === 'string';
  return e.type === 'member-removed' && typeof e.room === 'string' && typeof e.userId === 'string';
};

const isStoredMessage = (v: unknown): v is StoredMessage => {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  return ['id', 'room', 'text', 'authorId', 'authorName', 'createdAt'].every((k) => typeof m[k] === 'string');
};

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

/** The log in Redis streams, live delivery through Redis pub/sub (graphql-redis-subscriptions). */
export function createRedisEngine(options: RedisEngineOptions): Engine {
  const { client, subscriber, keyPrefix: p } = options;
  const historyTtlMs = options.historyTtl * 1000;
  const now = options.now ?? Date.now;
  const appendScript = defineScript(client, 'chatEngineAppend', APPEND);
  const logKey = (room: string) => `${p}room:{${room}}:log`;

  // Re-subscribing after a reconnect relies on ioredis autoResubscribe; refuse a client without it.
  if (subscriber.options.autoResubscribe === false) throw new Error('the subscriber connection needs autoResubscribe');

  /*
   * RedisPubSub keeps one Redis subscription per channel for all local listeners, SUBSCRIBEs for
   * the first and UNSUBSCRIBEs after the last, and parses each message once, handing the same
   * object to every listener. It sends UNSUBSCRIBE and PUNSUBSCRIBE without handling their
   * promises; during an outage those reject (the offline queue is off), which would be an
   * unhandled rejection, so it gets a view of the subscriber whose unsubscribes swallow failures
   * and remember the channel, to be unsubscribed once reconnected (autoResubscribe would otherwise
   * keep it subscribed, its messages dropped for want of a listener). We never pattern-subscribe,
   * so PUNSUBSCRIBE is not sent at all.
   */
  const orphans = new Set<string>();
  const quietSubscriber = new Proxy(subscriber, {
    get(target, prop) {
      if (prop === 'unsubscribe')
        return (...names: string[]) =>
          target.unsubscribe(...names).catch(() => {
            for (const name of names) orphans.add(name);
            return 0;
          });
      if (prop === 'punsubscribe') return async () => 0;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const pubsub = new RedisPubSub({ publisher: client, subscriber: quietSubscriber });
  /** RedisPubSub internals, touched only to handle a promise it may leave rejected (see subscribe). */
  const pending = (pubsub as unknown as { subsPendingRefsMap?: Map<string, { pending?: { catch?: (f: () => void) => unknown } }> }).subsPendingRefsMap;
  const live = new Map<number, string>();
  /** Local listeners per channel. */
  const channels = new Map<string, number>();
  let closed = false;

  // Backstop to autoResubscribe: ioredis forgets a resubscription whose reply was lost because the
  // connection dropped again right after reconnecting. SUBSCRIBE to a subscribed channel is a no-op.
  const resubscribe = () => {
    const names = [...channels.keys()];
    if (names.length > 0) subscriber.subscribe(...names).catch(() => {});
    const stale = [...orphans].filter((name) => !channels.has(name));
    orphans.clear();
    if (stale.length > 0) void quietSubscriber.unsubscribe(...stale);
  };
  subscriber.on('ready', resubscribe);

  async function subscribeChannel(channel: string, accept: (payload: unknown) => void): Promise<Subscription> {
    if (closed) throw new BackendUnavailableError('the engine is closed');
    // Subscribing needs the connection now: the offline queue is off, so SUBSCRIBE would fail anyway.
    if (subscriber.status !== 'ready') throw new BackendUnavailableError('Redis subscriber connection is not ready');
    const deliver = (payload: unknown) => {
      try {
        accept(payload);
      } catch {
        // one faulty listener must not starve the others (nor break the connection's reader)
      }
    };
    // RedisPubSub.subscribe resolves in the callback of ioredis' SUBSCRIBE, i.e. once Redis has
    // replied to it (a second local listener of the channel waits for that same reply), and only
    // then adds the listener: every message published after this resolves reaches it.
    const subscribed = pubsub.subscribe<unknown>(channel, deliver);
    // When the first SUBSCRIBE of a channel fails, RedisPubSub also rejects an internal promise
    // that nobody awaits unless another listener joined meanwhile: handle it here.
    pending?.get(channel)?.pending?.catch?.(() => {});
    let id: number;
    try {
      id = await subscribed;
    } catch (err) {
      // a SUBSCRIBE that timed out may still be carried out by a Redis that was only slow
      if (!channels.has(channel)) orphans.add(channel);
      throw toBackendError(err, 'subscribe');
    }
    if (closed) {
      pubsub.unsubscribe(id);
      throw new BackendUnavailableError('the engine is closed');
    }
    live.set(id, channel);
    channels.set(channel, (channels.get(channel) ?? 0) + 1);
    return {
      async unsubscribe() {
        if (!live.delete(id)) return;
        const left = (channels.get(channel) ?? 1) - 1;
        if (left > 0) channels.set(channel, left);
        else channels.delete(channel);
        pubsub.unsubscribe(id);
      },
    };
  }

  return {
    kind: 'redis',

    async append(room, draft, opts = {}) {
      // The client gives up after commandTimeout; the script must refuse to run after that, so the
      // effective deadline is the earlier of the caller's and the client's (with time for the reply).
      const timeout = client.options.commandTimeout;
      const clientDeadline = typeof timeout === 'number' ? Date.now() + timeout - Math.min(DEADLINE_MARGIN_MS, timeout / 4) : Infinity;
      const deadline = Math.floor(Math.min(opts.deadline ?? Infinity, clientDeadline));
      const targets = [channelOf({ kind: 'room', room }), ...(opts.notifyUsers ?? []).map((userId) => channelOf({ kind: 'user', userId }))];
      try {
        const json = await appendScript(
          1,
          logKey(room),
          Number.isFinite(deadline) ? deadline : '',
          options.historyLimit,
          historyTtlMs,
          room,
          draft.text,
          draft.authorId,
          draft.authorName,
          ...targets.map((c) => p + c),
        );
        return JSON.parse(String(json)) as StoredMessage;
      } catch (err) {
        if (err instanceof Error && err.message.startsWith('DEADLINE')) throw new BackendUnavailableError(err.message, { cause: err });
        throw toBackendError(err, 'append');
      }
    },

    range: (room, q) =>
      guarded('range', async () => {
        if (q.limit <= 0) return [];
        // entries older than historyTtl may still be in the stream (MINID ~ is approximate): skip them
        let start: StreamId = { ms: BigInt(Math.max(0, now() - historyTtlMs)), seq: 0n };
        if (q.after !== undefined) {
          const next = successor(parseCursor(q.after, 'after'));
          if (!next) return [];
          if (next.ms > start.ms || (next.ms === start.ms && next.seq > start.seq)) start = next;
        }
        let end: string = '+';
        if (q.before !== undefined) {
          const prev = predecessor(parseCursor(q.before, 'before'));
          if (!prev) return [];
          end = formatId(prev);
        }
        const entries =
          q.from === 'oldest'
            ? await client.xrange(logKey(room), formatId(start), end, 'COUNT', q.limit)
            : (await client.xrevrange(logKey(room), end, formatId(start), 'COUNT', q.limit)).reverse();
        return entries.map(([id, fields]): StoredMessage => {
          const f: Record<string, string> = {};
          for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
          return {
            id,
            room,
            text: f.text ?? '',
            authorId: f.authorId ?? '',
            authorName: f.authorName ?? '',
            createdAt: new Date(Number(parseId(id)!.ms)).toISOString(),
          };
        });
      }),

    subscribe(topic, listener: Listener): Promise<Subscription> {
      return subscribeChannel(p + channelOf(topic), (message) => {
        if (isStoredMessage(message)) listener(message);
      });
    },

    async broadcast(event) {
      await guarded('broadcast', () => client.publish(p + CONTROL_CHANNEL, JSON.stringify(event)));
    },

    onControl(listener) {
      return subscribeChannel(p + CONTROL_CHANNEL, (event) => {
        if (isControlEvent(event)) listener(event);
      });
    },

    async ping() {
      // live delivery needs the subscriber connection as well as the command one
      return subscriber.status === 'ready' && (await pingWithin(client));
    },

    async close() {
      if (closed) return;
      closed = true;
      subscriber.off('ready', resubscribe);
      for (const id of live.keys()) {
        try {
          pubsub.unsubscribe(id);
        } catch {
          // already gone: closing must not fail
        }
      }
      live.clear();
      channels.clear();
      await Promise.all([quitClient(client), quitClient(subscriber)]);
    },
  };
}
