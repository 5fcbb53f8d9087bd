import type { Config } from '../config/index.js';
import { createRateLimits, type RateLimits } from '../limits/index.js';
import { createMemoryEngine } from '../pubsub/memory/index.js';
import type { Engine } from '../pubsub/types.js';
import { createMemoryStore } from '../store/memory.js';
import type { Store } from '../store/types.js';

export interface Backends {
  readonly kind: 'memory' | 'redis' | 'cluster';
  readonly store: Store;
  readonly engine: Engine;
  readonly limits: RateLimits;
  close(): Promise<void>;
}

/**
 * The embedded in-memory backends when neither REDIS_URL nor REDIS_CLUSTER_NODES is set; otherwise
 * ones shared by every instance, on one Redis or on a Redis Cluster.
 */
export async function createBackends(config: Config): Promise<Backends> {
  const limitsConfig = {
    message: config.messageRateLimit,
    login: config.loginRateLimit,
    loginIp: config.loginIpRateLimit,
    typing: config.typingRateLimit,
    register: config.registerRateLimit,
    createRoom: config.createRoomRateLimit,
    reaction: config.reactionRateLimit,
    moderation: config.moderationRateLimit,
    block: config.blockRateLimit,
  };
  if (config.redisClusterNodes) return clusterBackends(config, config.redisClusterNodes, limitsConfig);
  if (!config.redisUrl) {
    const store = createMemoryStore();
    const engine = createMemoryEngine({ historyLimit: config.historyLimit, historyTtl: config.historyTtl });
    return {
      kind: 'memory',
      store,
      engine,
      limits: createRateLimits(limitsConfig),
      close: async () => {
        await engine.close();
        await store.close();
      },
    };
  }
  // loaded only in Redis mode, so the embedded default never touches ioredis
  const [{ createRedisClient, waitUntilReady }, { createRedisStore }, { createRedisEngine }] = await Promise.all([
    import('../store/redis-client.js'),
    import('../store/redis.js'),
    import('../pubsub/redis/index.js'),
  ]);
  const client = createRedisClient(config.redisUrl, { commandTimeoutMs: config.redisCommandTimeoutMs, name: 'chat' });
  const subscriber = createRedisClient(config.redisUrl, { commandTimeoutMs: config.redisCommandTimeoutMs, name: 'chat-sub' });
  // the offline queue is off (commands during an outage fail fast), so wait for the first connection
  try {
    await Promise.all([waitUntilReady(client, 10_000), waitUntilReady(subscriber, 10_000)]);
  } catch (err) {
    client.disconnect();
    subscriber.disconnect();
    throw new Error(`Redis at REDIS_URL did not answer within 10 s (${err instanceof Error ? err.message : String(err)})`);
  }
  const keyPrefix = config.redisKeyPrefix;
  const store = createRedisStore({ client, keyPrefix });
  const engine = createRedisEngine({
    client,
    subscriber,
    keyPrefix,
    historyLimit: config.historyLimit,
    historyTtl: config.historyTtl,
    presenceTtl: config.presenceTtl,
  });
  return {
    kind: 'redis',
    store,
    engine,
    limits: createRateLimits({ ...limitsConfig, redis: { client, keyPrefix } }),
    close: async () => {
      await engine.close();
      await store.close();
    },
  };
}

/** A Redis Cluster: the same store, and the cluster engine (sharded pub/sub). */
async function clusterBackends(config: Config, seeds: readonly string[], limitsConfig: Omit<Parameters<typeof createRateLimits>[0], 'redis'>): Promise<Backends> {
  const [{ createRedisCluster, waitUntilReady }, { createRedisStore }, { createClusterEngine }] = await Promise.all([
    import('../store/redis-client.js'),
    import('../store/redis.js'),
    import('../pubsub/cluster/index.js'),
  ]);
  const cluster = createRedisCluster(seeds, { commandTimeoutMs: config.redisCommandTimeoutMs, name: 'chat' });
  try {
    await waitUntilReady(cluster, 10_000);
  } catch (err) {
    cluster.disconnect();
    throw new Error(`the Redis Cluster at REDIS_CLUSTER_NODES did not answer within 10 s (${err instanceof Error ? err.message : String(err)})`);
  }
  const keyPrefix = config.redisKeyPrefix;
  const store = createRedisStore({ client: cluster, keyPrefix });
  const engine = createClusterEngine({
    cluster,
    keyPrefix,
    historyLimit: config.historyLimit,
    historyTtl: config.historyTtl,
    presenceTtl: config.presenceTtl,
  });
  return {
    kind: 'cluster',
    store,
    engine,
    limits: createRateLimits({ ...limitsConfig, redis: { client: cluster, keyPrefix } }),
    close: async () => {
      await engine.close();
      await store.close();
    },
  };
}
