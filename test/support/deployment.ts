import { inject } from 'vitest';
import { testPrefix } from './redis.js';
import type { RedisCluster } from './redis-cluster.js';
import { startServerProcess, type ServerProcess } from './server.js';

/**
 * Several real server processes sharing one Redis (or one Redis Cluster) under a private key
 * prefix, as a deployment runs them: the one fixture for tests that need more than one instance,
 * or a Redis-backed process.
 */
export interface Deployment {
  /** Every instance started, in the order they became ready (`add` appends; stopped ones stay listed). */
  readonly servers: ServerProcess[];
  /** The environment every instance got (Redis, prefix, the caller's settings). */
  readonly env: Readonly<Record<string, string>>;
  /** The key prefix of this deployment (every key and channel starts with it). */
  readonly prefix: string;
  /** The single Redis they share; a cluster deployment has none (see `cluster`). */
  readonly redisUrl: string;
  /** The cluster they share, when started with one. */
  readonly cluster?: RedisCluster;
  /** Starts one more instance with the same environment (plus `extra`, e.g. `{ PORT }` to take a stopped one's place). */
  add(extra?: Record<string, string>): Promise<ServerProcess>;
  /** Stops every instance still running (SIGTERM, or `signal`), deletes the prefix's keys, and answers the exit codes. */
  stop(signal?: NodeJS.Signals): Promise<(number | null)[]>;
}

export interface DeploymentOptions {
  /** Instances to start at once. @default 2 */
  readonly instances?: number;
  /** Settings for every instance, e.g. `{ MESSAGE_RATE_LIMIT: '0' }`. */
  readonly env?: Record<string, string>;
  /** The Redis to share, e.g. a private one (startRedisServer) that the test stops. @default the test run's */
  readonly redisUrl?: string;
  /** A Redis Cluster (startRedisCluster) to share instead of a Redis: the instances get REDIS_CLUSTER_NODES. */
  readonly cluster?: RedisCluster;
}

/** Starts `instances` processes on one Redis under a fresh prefix. */
export async function startDeployment(options: DeploymentOptions = {}): Promise<Deployment> {
  const { cluster } = options;
  const redisUrl = cluster ? '' : (options.redisUrl ?? inject('redisUrl'));
  const { prefix, cleanup: cleanupPrefix } = testPrefix();
  // a cluster is the test's own, gone with it: nothing to clean
  const cleanup = async (url: string) => {
    if (!cluster) await cleanupPrefix(url);
  };
  const backend: Record<string, string> = cluster ? { REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.seeds } : { REDIS_URL: redisUrl };
  const env = { ...backend, REDIS_KEY_PREFIX: prefix, ...options.env };
  const servers: ServerProcess[] = [];
  const add = async (extra: Record<string, string> = {}) => {
    const server = await startServerProcess({ ...env, ...extra });
    servers.push(server);
    return server;
  };
  try {
    await Promise.all(Array.from({ length: options.instances ?? 2 }, () => add()));
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
    await cleanup(redisUrl).catch(() => {});
    throw err;
  }
  return {
    servers,
    env,
    prefix,
    redisUrl,
    ...(cluster ? { cluster } : {}),
    add,
    async stop(signal = 'SIGTERM') {
      const codes = await Promise.all(servers.map((s) => s.stop(signal)));
      await cleanup(redisUrl);
      return codes;
    },
  };
}
