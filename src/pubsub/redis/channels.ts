import { BackendUnavailableError } from '../../errors.js';
import { toBackendError } from '../../store/redis-client.js';
import { compareIdStrings } from '../ids.js';
import { createListeners, type Listeners } from '../listeners.js';
import type { PubSubConnection } from './connection.js';

/** A payload as a channel's listeners get it, with its place in the channel's log. */
export interface Delivered<T> {
  /** The payload's id in the log behind the channel; null on channels without one. */
  readonly cursor: string | null;
  /** What listeners receive; null for an entry that only moves the cursor (e.g. a message since deleted). */
  readonly value: T | null;
}

/** What a channel carries, and the log that backs it. */
export interface ChannelSource<T> {
  /** Reads a parsed payload; null when it is not one of this channel's (it is dropped). */
  decode(payload: unknown): Delivered<T> | null;
  /** The log behind the channel, for filling gaps; absent for at-most-once channels (signals). */
  readonly log?: {
    /** The id of the log's newest entry now; '0-0' when empty. */
    head(): Promise<string>;
    /** Entries after a cursor, oldest first, at most `limit`; fewer means the end was reached. */
    after(cursor: string, limit: number): Promise<Delivered<T>[]>;
  };
  /** Filled before the other channels after a reconnect (control events: a revocation applies before missed room messages go out). */
  readonly fillFirst?: boolean;
}

export interface ChannelSubscription {
  /** Channels with a log: every entry with a cursor above it reaches the listener, and every one at or below it is in the log. */
  readonly head?: string;
  unsubscribe(): Promise<void>;
}

/** Log entries read per round trip when filling the gap of a reconnect. */
const FILL_PAGE = 500;

interface Channel {
  readonly name: string;
  readonly source: ChannelSource<unknown>;
  readonly listeners: Listeners<unknown>;
  /** The channel's SUBSCRIBE, confirmed (and for a logged channel, its head read): shared by every local listener. */
  ready: Promise<void>;
  /** Logged channels: every entry after this cursor is owed to the listeners. */
  last?: string;
  /** Logged channels, from a disconnect until the gap is filled: live payloads held back. */
  held: Delivered<unknown>[] | null;
  /** Incremented each time the channel's subscription may have been lost: a resubscription or fill started before is abandoned. */
  generation: number;
}

/**
 * The engine's own subscriber: one Redis subscription per channel for all local listeners, each
 * payload parsed and checked once and handed as the same object to every listener.
 *
 * Filling the gap of a reconnect. Pub/sub is at-most-once: while the connection is down (Redis
 * restarted, CLIENT KILL, network; on a cluster also a failover or a slot move), what any instance
 * publishes is in the logs but reaches no local listener, and nothing would tell the clients to
 * resume. So for each logged channel the registry remembers the largest cursor it delivered (or,
 * before the first, the log's head when SUBSCRIBE was confirmed); from the moment the connection
 * reports the channel lost it holds live payloads back, and once SUBSCRIBE is confirmed again it
 * reads the log after that cursor, delivers what was missed, then what it held, skipping cursors
 * already delivered. Listeners so receive every entry, in log order, each once. A listener that
 * joins an existing channel while its gap is being filled may also get the few entries of the gap,
 * published just before it joined.
 */
export function createChannels(connection: PubSubConnection) {
  const channels = new Map<string, Channel>();
  let closed = false;

  const emit = (ch: Channel, d: Delivered<unknown>) => {
    if (d.cursor !== null) {
      // cursors strictly increase on a channel: one not above the last was delivered by a fill
      if (ch.last !== undefined && compareIdStrings(d.cursor, ch.last) <= 0) return;
      ch.last = d.cursor;
    }
    if (d.value !== null) ch.listeners.emit(d.value);
  };

  const onMessage = (name: string, payload: string) => {
    const ch = channels.get(name);
    if (!ch) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return; // not ours
    }
    const d = ch.source.decode(parsed);
    if (!d) return;
    if (ch.held) ch.held.push(d);
    else emit(ch, d);
  };

  /** True while nothing has happened to the channel since `gen` was taken. */
  const current = (ch: Channel, gen: number) => !closed && ch.generation === gen && channels.get(ch.name) === ch;

  /** Delivers what a channel missed while its subscription was lost, then what was held; false if cut short. */
  async function fill(ch: Channel, gen: number): Promise<boolean> {
    const log = ch.source.log!;
    for (let attempt = 0, cursor = ch.last; cursor !== undefined; attempt++) {
      try {
        for (;;) {
          const page = await log.after(cursor, FILL_PAGE);
          if (!current(ch, gen)) return false;
          for (const d of page) emit(ch, d);
          if (page.length < FILL_PAGE) break;
          cursor = page[page.length - 1]!.cursor ?? cursor;
        }
        break;
      } catch {
        if (!current(ch, gen)) return false;
        // Redis answers the subscriber but not this read: try a few times, then deliver live
        // payloads again without the gap rather than hold them back indefinitely
        if (attempt >= 3) break;
        await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
        if (!current(ch, gen)) return false;
      }
    }
    const held = ch.held ?? [];
    ch.held = null;
    for (const d of held) emit(ch, d);
    return true;
  }

  /** SUBSCRIBE again (retrying while nothing else happens to the channel); true once Redis confirmed it. */
  async function resubscribe(ch: Channel, gen: number): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await connection.subscribe([ch.name]);
        return current(ch, gen);
      } catch {
        if (!current(ch, gen)) return false; // the next 'up' starts over
        await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
        if (!current(ch, gen)) return false;
      }
    }
  }

  const select = (names?: readonly string[]): Channel[] =>
    names === undefined ? [...channels.values()] : names.map((n) => channels.get(n)).filter((ch): ch is Channel => ch !== undefined);

  // The subscription of these channels (all when unnamed) may be lost: hold their live payloads.
  const down = (names?: readonly string[]) => {
    for (const ch of select(names)) {
      ch.generation++;
      if (ch.source.log) ch.held ??= [];
    }
  };

  // Once reconnected: SUBSCRIBE again to each channel, each on its own (on a cluster, a shard still
  // failing over does not hold back the others), and once Redis has confirmed it, fill each logged
  // channel's gap; control before any other (a revocation applies before missed room messages go out).
  const up = (names?: readonly string[]) => {
    const chosen = select(names);
    const restore = async (ch: Channel, before?: Promise<unknown>) => {
      const gen = ch.generation;
      if (!(await resubscribe(ch, gen))) return false;
      // a channel lost while it was being opened fills from the head its opening reads
      await Promise.all([before, ch.ready.catch(() => {})]);
      return ch.held !== null && current(ch, gen) ? fill(ch, gen) : true;
    };
    const first = Promise.all(chosen.filter((ch) => ch.source.fillFirst).map((ch) => restore(ch)));
    for (const ch of chosen) if (!ch.source.fillFirst) void restore(ch, first);
  };

  const stopListening = connection.listen({ message: onMessage, down, up });

  /** Opens a channel: SUBSCRIBE, confirmed, then (logged channels) the floor of what is owed. */
  function open(name: string, source: ChannelSource<unknown>): Channel {
    const ch: Channel = { name, source, listeners: createListeners(), ready: Promise.resolve(), held: null, generation: 0 };
    channels.set(name, ch);
    ch.ready = (async () => {
      await connection.subscribe([name]);
      // every entry after the log's head now is delivered live or, after a disconnect, filled:
      // the SUBSCRIBE is confirmed
      if (source.log) {
        const head = await source.log.head();
        if (ch.last === undefined || compareIdStrings(head, ch.last) > 0) ch.last = head;
      }
    })();
    ch.ready.catch(() => {
      // a SUBSCRIBE that timed out may still be carried out by a Redis that was only slow
      if (channels.get(name) !== ch) return;
      channels.delete(name);
      connection.unsubscribe([name]);
    });
    return ch;
  }

  return {
    /** Adds a listener to a channel; resolves once the channel's SUBSCRIBE is confirmed. */
    async subscribe<T>(name: string, source: ChannelSource<T>, listener: (value: T) => void): Promise<ChannelSubscription> {
      for (;;) {
        if (closed) throw new BackendUnavailableError('the engine is closed');
        // the offline queue is off: SUBSCRIBE would fail anyway while the connection is down
        if (!connection.ready) throw new BackendUnavailableError('Redis subscriber connection is not ready');
        const ch = channels.get(name) ?? open(name, source as ChannelSource<unknown>);
        try {
          await ch.ready;
        } catch (err) {
          throw toBackendError(err, 'subscribe');
        }
        if (closed) throw new BackendUnavailableError('the engine is closed');
        // the last listener may have left (and the channel closed) while this one waited: start over
        if (channels.get(name) !== ch) continue;
        const remove = ch.listeners.add(listener as (value: unknown) => void);
        let done = false;
        return {
          ...(source.log ? { head: ch.last ?? '0-0' } : {}),
          async unsubscribe() {
            if (done) return;
            done = true;
            remove();
            if (ch.listeners.size > 0 || channels.get(name) !== ch) return;
            channels.delete(name);
            connection.unsubscribe([name]);
          },
        };
      }
    },

    get ready() {
      return connection.ready;
    },

    async close() {
      if (closed) return;
      closed = true;
      stopListening();
      channels.clear();
      await connection.close();
    },
  };
}

export type Channels = ReturnType<typeof createChannels>;
