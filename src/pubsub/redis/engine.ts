import { pingWithin, quitClient, type RedisClient } from '../../store/redis-client.js';
import type { Engine } from '../types.js';
import type { Channels } from './channels.js';
import { createRedisControl } from './control.js';
import { createRedisDelivery } from './delivery.js';
import { createRedisInbox } from './inbox.js';
import { createRedisLog } from './log.js';
import { createRedisModeration } from './moderation.js';
import { createRedisReads } from './reads.js';
import { createRedisSignals, type SignalSubscriber } from './signals.js';

/** What tells the single-node engine and the cluster engine apart; every concern is built the same way from it. */
export interface EngineParts {
  readonly kind: 'redis' | 'cluster';
  readonly client: RedisClient;
  /** The engine's own subscriber, for the channels backed by a log (rooms, users, control). */
  readonly channels: Channels;
  /** Where signal channels are subscribed. */
  readonly signals: SignalSubscriber;
  /** PUBLISH, or SPUBLISH on a cluster (the channel shares its keys' slot). */
  readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  /** The control channel and its log (see keys.ts). */
  readonly controlKeys: { readonly channel: string; readonly log: string };
  readonly keyPrefix: string;
  readonly historyLimit: number;
  readonly historyTtl: number;
  /** @default 30 */
  readonly presenceTtl?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** An engine from its parts: room logs, inboxes and control in Redis, delivered through `channels`, signals through `signals`. */
export function assembleEngine(parts: EngineParts): Engine {
  const { client, channels, keyPrefix, publishCommand } = parts;
  const history = { historyLimit: parts.historyLimit, historyTtl: parts.historyTtl };
  const inbox = createRedisInbox({ client, keyPrefix, publishCommand, ...history });
  const log = createRedisLog({ client, keyPrefix, publishCommand, ...history, inbox, now: parts.now ?? Date.now });
  const signals = createRedisSignals({ client, subscriber: parts.signals, keyPrefix, publishCommand, presenceTtl: parts.presenceTtl ?? 30 });
  let closed = false;
  return {
    kind: parts.kind,
    log: { append: log.append, change: log.change, range: log.range, entries: log.entries, react: log.react },
    reads: createRedisReads({ client, keyPrefix, historyLimit: parts.historyLimit }),
    delivery: createRedisDelivery({ channels, log, inbox, keyPrefix }),
    signals: { publish: signals.publish, subscribe: signals.subscribe, enterPresence: signals.enterPresence, present: signals.present },
    control: createRedisControl({ client, channels, keys: parts.controlKeys, publishCommand, historyTtl: parts.historyTtl }),
    moderation: createRedisModeration({ client, keyPrefix, publishCommand, ...history, ...(parts.now ? { now: parts.now } : {}) }),

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
