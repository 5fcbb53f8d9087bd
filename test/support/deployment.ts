import { inject } from 'vitest';
import { testPrefix } from './redis.js';
import { startServerProcess, type ServerProcess } from './server.js';

/**
 * Several real server processes sharing one backend under a private key prefix, as a deployment
 * runs them: the one fixture for tests that need more than one instance.
 */
export interface Deployment {
  /** The instances, in the order they became ready (`add` appends). */
  readonly servers: ServerProcess[];
  /** The environment every instance got (backend, prefix, the caller's settings). */
  readonly env: Readonly<Record<string, string>>;
  /** Starts one more instance with the same environment (plus `extra`). */
  add(extra?: Record<string, string>): Promise<ServerProcess>;
  /** Stops every instance (SIGTERM, or `signal`) and deletes the prefix's keys. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface DeploymentOptions {
  /** Instances to start at once. @default 2 */
  readonly instances?: number;
  /** Settings for every instance, e.g. `{ MESSAGE_RATE_LIMIT: '0' }`. */
  readonly env?: Record<string, string>;
}

/** Starts `instances` processes on the test run's Redis under a fresh prefix. */
export async function startDeployment(options: DeploymentOptions = {}): Promise<Deployment> {
  const redisUrl = inject('redisUrl');
  const { prefix, cleanup } = testPrefix();
  const env = { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, ...options.env };
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
    await cleanup(redisUrl);
    throw err;
  }
  return {
    servers,
    env,
    add,
    async stop(signal = 'SIGTERM') {
      await Promise.all(servers.map((s) => s.stop(signal)));
      await cleanup(redisUrl);
    },
  };
}
