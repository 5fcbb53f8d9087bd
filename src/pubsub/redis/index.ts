import type { Redis } from 'ioredis';
import type { Engine } from '../types.js';
import { createChannels } from './channels.js';
import { classicPubSub } from './connection.js';
import { assembleEngine } from './engine.js';
import { controlKeys } from './keys.js';
import { pubSubSignals } from './signal-pubsub.js';

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
  /** Errors of the signal connection (a third one, duplicated from `client`). */
  readonly onError?: (err: Error) => void;
}

export { ISO_FROM_MS_LUA } from './lua.js';

/**
 * The single-node Redis engine: room logs in streams, written and published by one script each
 * (log.ts); direct-message references in each user's inbox (inbox.ts); control events in a log
 * too (control.ts); live delivery through the engine's own subscriber, which fills the gap of every
 * room, user and control channel from its log after a reconnect (channels.ts, delivery.ts);
 * presence (presence.ts) and signals, at-most-once, through graphql-redis-subscriptions on a
 * connection of their own (signal-pubsub.ts).
 */
export function createRedisEngine(options: RedisEngineOptions): Engine {
  const { client, subscriber, keyPrefix } = options;
  return assembleEngine({
    kind: 'redis',
    client,
    channels: createChannels(classicPubSub(subscriber)),
    signals: pubSubSignals(client, options.onError),
    publishCommand: 'PUBLISH',
    controlKeys: controlKeys(keyPrefix),
    keyPrefix,
    historyLimit: options.historyLimit,
    historyTtl: options.historyTtl,
    ...(options.presenceTtl !== undefined ? { presenceTtl: options.presenceTtl } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
}
