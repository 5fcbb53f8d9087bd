import type { Redis } from 'ioredis';
import { pingWithin, quitClient } from '../../store/redis-client.js';
import type { Engine } from '../types.js';
import { createChannels } from './channels.js';
import { classicPubSub } from './connection.js';
import { createRedisControl } from './control.js';
import { createRedisDelivery } from './delivery.js';
import { createRedisInbox } from './inbox.js';
import { createRedisLog } from './log.js';
import { createRedisReads } from './reads.js';
import { createRedisSignals } from './signals.js';

export interface RedisEngineOptions {
  /** Commands and scripts. Made with createRedisClient. */
  readonly client: Redis;
  /** A second connection, used only for SUBSCRIBE (a subscribed connection can do nothing else); made with createRedisClient. */
  readonly subscriber: Redis;
  /** Prefix of every key and channel, e.g. `chat:`. */
  readonly keyPrefix: string;
  /** Messages kept per room: at least this many (trimming is approximate, see log.ts). */
  readonly historyLimit: number;
  /** Seconds a message is kept. */
  readonly historyTtl: number;
  /** Seconds a crashed instance's users stay present (its heartbeat stopped). @default 30 */
  readonly presenceTtl?: number;
  /** Clock for ageing in range (Unix ms). @default Date.now */
  readonly now?: () => number;
}

export { ISO_FROM_MS_LUA } from './lua.js';

/**
 * The single-node Redis engine: room logs in streams, written and published by one script each
 * (log.ts); direct-message references in each user's inbox (inbox.ts); control events in a log
 * too (control.ts); live delivery through the engine's own subscriber, which fills the gap of every
 * room, user and control channel from its log after a reconnect (channels.ts, delivery.ts);
 * presence and signals, at-most-once (signals.ts, presence.ts).
 */
export function createRedisEngine(options: RedisEngineOptions): Engine {
  const { client, subscriber, keyPrefix } = options;
  const publishCommand = 'PUBLISH';
  const channels = createChannels(classicPubSub(subscriber));
  const history = { historyLimit: options.historyLimit, historyTtl: options.historyTtl };
  const inbox = createRedisInbox({ client, keyPrefix, publishCommand, ...history });
  const log = createRedisLog({ client, keyPrefix, publishCommand, ...history, inbox, now: options.now ?? Date.now });
  const signals = createRedisSignals({ client, channels, keyPrefix, publishCommand, presenceTtl: options.presenceTtl ?? 30 });
  let closed = false;
  return {
    kind: 'redis',
    log: { append: log.append, change: log.change, range: log.range, entries: log.entries },
    reads: createRedisReads({ client, keyPrefix, historyLimit: options.historyLimit }),
    delivery: createRedisDelivery({ channels, log, inbox, keyPrefix }),
    signals: { publish: signals.publish, subscribe: signals.subscribe, enterPresence: signals.enterPresence, present: signals.present },
    control: createRedisControl({ client, channels, keyPrefix, publishCommand, historyTtl: options.historyTtl }),

    async ping() {
      // live delivery needs the subscriber connection as well as the command one
      return channels.ready && (await pingWithin(client));
    },

    async close() {
      if (closed) return;
      closed = true;
      await signals.close();
      await Promise.all([channels.close(), quitClient(client)]);
    },
  };
}
