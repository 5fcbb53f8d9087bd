import type { Config } from '../config/index.js';
import { createRateLimits, type RateLimits } from '../limits/index.js';
import { createMemoryEngine } from '../pubsub/memory/index.js';
import type { Engine } from '../pubsub/types.js';
import { createMemoryStore } from '../store/memory.js';
import type { Store } from '../store/types.js';

export interface Backends {
  readonly kind: 'memory' | 'redis';
  readonly store: Store;
  readonly engine: Engine;
  readonly limits: RateLimits;
  close(): Promise<void>;
}

/** The embedded in-memory backends when REDIS_URL is unset; Redis-backed ones shared by every instance otherwise. */
export async function createBackends(config: Config): Promise<Backends> {
  const limitsConfig = {
    message: config.messageRateLimit,
    login: config.loginRateLimit,
    loginIp: config.loginIpRateLimit,
    typing: config.typingRateLimit,
    register: config.registerRateLimit,
    createRoom: config.createRoomRateLimit,
  };
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
