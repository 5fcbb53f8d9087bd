import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { Redis } from 'ioredis';
import { BackendUnavailableError } from '../errors.js';
import { guarded, pingWithin, quitClient, toBackendError } from '../store/redis-client.js';
import { compareIdStrings, parseId } from './ids.js';
import { createRedisLog, parseEntry } from './redis-log.js';
import { createRedisPresence } from './redis-presence.js';
import { channelOf, CONTROL_CHANNEL } from './topics.js';
import type { ControlEvent, Engine, Listener, LiveSubscription, LogEntry, RoomSignal, StoredMessage, Subscription } from './types.js';

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
  /** Seconds a crashed instance's users stay present (its heartbeat stopped). @default 30 */
  readonly presenceTtl?: number;
  /** Clock for ageing in range (Unix ms). @default Date.now */
  readonly now?: () => number;
}

export { ISO_FROM_MS_LUA } from './redis-log.js';

/** Log entries read per round trip when filling the gap of a reconnect. */
const FILL_PAGE = 500;

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

/** A message, or an edit or deletion (which carries kind and target besides). */
const isLogEntry = (v: unknown): v is LogEntry => {
  if (!isStoredMessage(v)) return false;
  const kind = (v as { kind?: unknown }).kind;
  return kind === undefined || ((kind === 'edited' || kind === 'deleted') && typeof (v as { target?: unknown }).target === 'string');
};

const isMessage = (v: unknown): v is StoredMessage => isLogEntry(v) && !('kind' in v);

const isRoomSignal = (v: unknown): v is RoomSignal => {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  if (typeof s.room !== 'string' || typeof s.userId !== 'string' || typeof s.username !== 'string') return false;
  return (s.type === 'typing' && typeof s.expiresAt === 'string') || (s.type === 'presence' && typeof s.online === 'boolean');
};

/** The log id of a payload of a room channel; null when it has none. */
const logIdOf = (payload: unknown): string | null => {
  const id = typeof payload === 'object' && payload !== null ? (payload as { id?: unknown }).id : undefined;
  return typeof id === 'string' && parseId(id) ? id : null;
};

/** The log in Redis streams, live delivery through Redis pub/sub (graphql-redis-subscriptions). */
export function createRedisEngine(options: RedisEngineOptions): Engine {
  const { client, subscriber, keyPrefix: p } = options;
  const log = createRedisLog(options);
  const logKey = log.logKey;
  const signalChannel = (room: string) => `${p}room:{${room}}:signals`;
  const presence = createRedisPresence({ client, keyPrefix: p, ttl: options.presenceTtl ?? 30, signalChannel });

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
  /** RedisPubSub internals, touched only to clean up after a failed SUBSCRIBE (see openChannel). */
  const internals = pubsub as unknown as {
    subsPendingRefsMap?: Map<string, { pending?: { catch?: (f: () => void) => unknown } }>;
    subsRefsMap?: Map<string, Set<number>>;
    subscriptionMap?: Record<number, unknown>;
    currentSubscriptionId?: number;
  };

  /*
   * Filling the gap of a reconnect. Pub/sub is at-most-once: while the subscriber connection is
   * down (Redis restarted, CLIENT KILL, network), messages appended by any instance are in the log
   * but reach no local listener, and nothing would tell the clients to resume. So for each room
   * channel the engine remembers the largest id it delivered (or, before the first one, the log's
   * last id when the channel was subscribed); from the moment the connection drops it holds live
   * messages back, and once SUBSCRIBE is confirmed again it reads the log after that id, delivers
   * what was missed, then the held messages, skipping ids already delivered. Listeners so keep
   * receiving every message of the room, in log order, each once. A listener that joins an
   * existing channel while the gap is being filled may also get the few messages of the gap,
   * published just before it joined. User channels (direct-message notifications) and the
   * control channel are not logs: what was published to them in the gap is lost.
   */
  interface Channel {
    readonly name: string;
    /** What the channel carries: checked once per payload, not per listener. */
    readonly accepts: (payload: unknown) => boolean;
    /** The room whose log backs this channel; null for user and control channels. */
    readonly room: string | null;
    readonly listeners: Set<(payload: unknown) => void>;
    /** The channel's SUBSCRIBE (one per channel, shared by every local listener). */
    readonly ready: Promise<void>;
    pubsubId?: number;
    /** Room channels: every message appended after this id is owed to the listeners. */
    last?: string;
    /** Room channels, from a disconnect until the gap is filled: live messages held back. */
    held: unknown[] | null;
  }
  const channels = new Map<string, Channel>();
  let closed = false;
  /** Incremented on every disconnect of the subscriber: a fill started before one is abandoned. */
  let generation = 0;

  const emit = (ch: Channel, payload: unknown) => {
    if (!ch.accepts(payload)) return;
    // every entry published on a room channel carries its log id
    const id = ch.room !== null ? logIdOf(payload) : null;
    if (id !== null) {
      // ids strictly increase on a channel: one not above the last was delivered by a fill
      if (ch.last !== undefined && compareIdStrings(id, ch.last) <= 0) return;
      ch.last = id;
    }
    for (const listener of ch.listeners) {
      try {
        listener(payload);
      } catch {
        // one faulty listener must not starve the others (nor break the connection's reader)
      }
    }
  };
  const dispatch = (ch: Channel, payload: unknown) => {
    if (ch.held) ch.held.push(payload);
    else emit(ch, payload);
  };

  /** Delivers what a room channel missed while disconnected, then what was held; false if cut short by another disconnect. */
  async function fill(ch: Channel, gen: number): Promise<boolean> {
    const room = ch.room!;
    for (let attempt = 0; ch.last !== undefined; attempt++) {
      try {
        for (;;) {
          const entries = await client.xrange(logKey(room), `(${ch.last}`, '+', 'COUNT', FILL_PAGE);
          if (gen !== generation || closed) return false;
          for (const entry of entries) emit(ch, parseEntry(room, entry));
          if (entries.length < FILL_PAGE) break;
        }
        break;
      } catch {
        if (gen !== generation || closed) return false;
        // Redis answers the subscriber but not this read: try a few times, then deliver live
        // messages again without the gap rather than hold them back indefinitely
        if (attempt >= 3) break;
        await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
        if (gen !== generation || closed) return false;
      }
    }
    const held = ch.held ?? [];
    ch.held = null;
    for (const payload of held) emit(ch, payload);
    return true;
  }

  const onClose = () => {
    generation++;
    for (const ch of channels.values()) if (ch.room !== null) ch.held ??= [];
  };
  subscriber.on('close', onClose);

  // On every reconnect: SUBSCRIBE again (a backstop to autoResubscribe, which forgets a
  // resubscription whose reply was lost because the connection dropped again right after
  // reconnecting; SUBSCRIBE to a subscribed channel is a no-op), UNSUBSCRIBE channels left while
  // disconnected, and once SUBSCRIBE is confirmed, fill the gap of each room channel.
  const resubscribe = async () => {
    const gen = generation;
    const stale = [...orphans].filter((name) => !channels.has(name));
    orphans.clear();
    if (stale.length > 0) void quietSubscriber.unsubscribe(...stale);
    for (let attempt = 0; ; attempt++) {
      const names = [...channels.keys()];
      if (names.length === 0) break;
      try {
        await subscriber.subscribe(...names);
        break;
      } catch {
        if (gen !== generation || closed) return; // the next 'ready' starts over
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
        if (gen !== generation || closed) return;
      }
    }
    if (gen !== generation || closed) return;
    await Promise.all([...channels.values()].filter((ch) => ch.held !== null).map((ch) => fill(ch, gen)));
  };
  const onReady = () => void resubscribe();
  subscriber.on('ready', onReady);

  /** The channel's one RedisPubSub subscription; rejects (and forgets the channel) if SUBSCRIBE fails. */
  function openChannel(name: string, room: string | null, accepts: (payload: unknown) => boolean): Channel {
    let settle!: { resolve: () => void; reject: (e: unknown) => void };
    const ch: Channel = {
      name,
      accepts,
      room,
      listeners: new Set(),
      ready: new Promise<void>((resolve, reject) => (settle = { resolve, reject })),
      held: null,
    };
    channels.set(name, ch);
    const id = internals.currentSubscriptionId;
    // RedisPubSub.subscribe resolves in the callback of ioredis' SUBSCRIBE, i.e. once Redis has
    // replied to it, and only then adds the handler: every message published after this resolves
    // reaches it.
    const subscribed = pubsub.subscribe<unknown>(name, (payload) => dispatch(ch, payload));
    // When the first SUBSCRIBE of a channel fails, RedisPubSub also rejects an internal promise
    // that nobody awaits: handle it here.
    internals.subsPendingRefsMap?.get(name)?.pending?.catch?.(() => {});
    subscribed.then(
      async (pubsubId) => {
        ch.pubsubId = pubsubId;
        if (room !== null) {
          // the floor of what is owed: every message after the log's last id now (the SUBSCRIBE
          // is confirmed, so anything later is delivered live or, after a disconnect, filled)
          try {
            const [latest] = await client.xrevrange(logKey(room), '+', '-', 'COUNT', 1);
            const floor = latest?.[0] ?? '0-0';
            if (ch.last === undefined || compareIdStrings(floor, ch.last) > 0) ch.last = floor;
          } catch (err) {
            settle.reject(err);
            return;
          }
        }
        settle.resolve();
      },
      (err: unknown) => {
        // RedisPubSub leaves the failed id behind
        if (id !== undefined) delete internals.subscriptionMap?.[id];
        if (internals.subsRefsMap?.get(name)?.size === 0) internals.subsRefsMap.delete(name);
        // a SUBSCRIBE that timed out may still be carried out by a Redis that was only slow
        orphans.add(name);
        settle.reject(err);
      },
    );
    ch.ready.catch(() => {
      if (channels.get(name) === ch) channels.delete(name);
      if (ch.pubsubId !== undefined) pubsub.unsubscribe(ch.pubsubId);
    });
    return ch;
  }

  async function subscribeChannel<T>(
    name: string,
    room: string | null,
    accepts: (payload: unknown) => payload is T,
    accept: (payload: T) => void,
  ): Promise<LiveSubscription> {
    for (;;) {
      if (closed) throw new BackendUnavailableError('the engine is closed');
      // Subscribing needs the connection now: the offline queue is off, so SUBSCRIBE would fail anyway.
      if (subscriber.status !== 'ready') throw new BackendUnavailableError('Redis subscriber connection is not ready');
      const ch = channels.get(name) ?? openChannel(name, room, accepts);
      try {
        await ch.ready;
      } catch (err) {
        throw toBackendError(err, 'subscribe');
      }
      if (closed) throw new BackendUnavailableError('the engine is closed');
      // the last listener may have left (and the channel closed) while this one waited: start over
      if (channels.get(name) !== ch) continue;
      // a listener of its own, so that one function subscribed twice is two subscriptions
      const listener = (payload: unknown) => accept(payload as T);
      ch.listeners.add(listener);
      return {
        // everything above the last id delivered (or the floor read at SUBSCRIBE) reaches the listener
        ...(room !== null ? { head: ch.last ?? '0-0' } : {}),
        async unsubscribe() {
          if (!ch.listeners.delete(listener) || ch.listeners.size > 0) return;
          if (channels.get(name) === ch) channels.delete(name);
          if (ch.pubsubId !== undefined) pubsub.unsubscribe(ch.pubsubId);
        },
      };
    }
  }

  return {
    kind: 'redis',
    log: { append: log.append, change: log.change, range: log.range, entries: log.entries },
    reads: { markRead: log.markRead, readMarks: log.readMarks },

    delivery: {
      subscribe(topic, listener: Listener): Promise<Subscription> {
        // room topics carry log entries (messages and changes), user topics messages only
        return subscribeChannel(p + channelOf(topic), topic.kind === 'room' ? topic.room : null, topic.kind === 'room' ? isLogEntry : isMessage, listener);
      },
    },

    signals: {
      async publish(signal) {
        await guarded('signal', () => client.publish(signalChannel(signal.room), JSON.stringify(signal)));
      },
      subscribe(room, listener) {
        return subscribeChannel(signalChannel(room), null, (s): s is RoomSignal => isRoomSignal(s) && s.room === room, listener);
      },
      enterPresence: presence.enter,
      present: presence.present,
    },

    control: {
      async publish(event) {
        await guarded('broadcast', () => client.publish(p + CONTROL_CHANNEL, JSON.stringify(event)));
      },
      subscribe(listener) {
        return subscribeChannel(p + CONTROL_CHANNEL, null, isControlEvent, listener);
      },
    },

    async ping() {
      // live delivery needs the subscriber connection as well as the command one
      return subscriber.status === 'ready' && (await pingWithin(client));
    },

    async close() {
      if (closed) return;
      closed = true;
      subscriber.off('ready', onReady);
      subscriber.off('close', onClose);
      await presence.close();
      for (const ch of channels.values()) {
        try {
          if (ch.pubsubId !== undefined) pubsub.unsubscribe(ch.pubsubId);
        } catch {
          // already gone: closing must not fail
        }
      }
      channels.clear();
      await Promise.all([quitClient(client), quitClient(subscriber)]);
    },
  };
}
