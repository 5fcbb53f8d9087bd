import type { Cluster } from 'ioredis';
import { createChannels } from '../redis/channels.js';
import { assembleEngine } from '../redis/engine.js';
import { clusterControlKeys } from '../redis/keys.js';
import { registrySignals } from '../redis/signals.js';
import type { Engine } from '../types.js';
import { shardedPubSub } from './sharded.js';

export interface ClusterEngineOptions {
  /** Commands, scripts and sharded subscriptions. Made with createRedisCluster. */
  readonly cluster: Cluster;
  /** Prefix of every key and channel, e.g. `chat:`; without braces (they would put every key in one slot). */
  readonly keyPrefix: string;
  /** Messages kept per room: at least this many. */
  readonly historyLimit: number;
  /** Seconds a message is kept. */
  readonly historyTtl: number;
  /** Seconds a crashed instance's users stay present. @default 30 */
  readonly presenceTtl?: number;
  /** Clock for ageing in range (Unix ms). @default Date.now */
  readonly now?: () => number;
}

/**
 * The Redis Cluster engine: the single-node engine's scripts and layout (every key of a room in the
 * room's slot, of a user in the user's), publishing with SPUBLISH from the scripts, so that a
 * room's events stay on its shard; every channel, signals and control included, goes through the
 * engine's own subscriber over ioredis' sharded subscribers (sharded.ts), which confirms each
 * subscription and fills its gap after a failover, a slot move or a reconnect.
 */
export function createClusterEngine(options: ClusterEngineOptions): Engine {
  const { cluster, keyPrefix } = options;
  const channels = createChannels(shardedPubSub(cluster));
  return assembleEngine({
    kind: 'cluster',
    client: cluster,
    channels,
    signals: registrySignals(channels),
    publishCommand: 'SPUBLISH',
    controlKeys: clusterControlKeys(keyPrefix),
    keyPrefix,
    historyLimit: options.historyLimit,
    historyTtl: options.historyTtl,
    ...(options.presenceTtl !== undefined ? { presenceTtl: options.presenceTtl } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
}
