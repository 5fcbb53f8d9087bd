import { afterAll, beforeAll, inject } from 'vitest';
import { startDeployment } from './deployment.js';
import { testPrefix } from './redis.js';
import { startRedisCluster } from './redis-cluster.js';
import { startServer, type RunningServer, type ServerProcess } from './server.js';

export interface Endpoint {
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly url: string;
}

/** Two instances to talk to: on the memory engine one server is both; on Redis and on a cluster two processes. */
export interface Instances {
  readonly a: Endpoint;
  readonly b: Endpoint;
  stop(): Promise<unknown>;
}

/** The engines a rule runs on end to end, for `describe.each`: each starts its instances with `env`. */
export const ENGINES = [
  {
    name: 'memory',
    async start(env: Record<string, string>): Promise<Instances> {
      const server = await startServer(env);
      return { a: server, b: server, stop: () => server.stop() };
    },
  },
  {
    name: 'redis',
    async start(env: Record<string, string>): Promise<Instances> {
      const deployment = await startDeployment({ env });
      const [a, b] = deployment.servers as [ServerProcess, ServerProcess];
      return { a, b, stop: () => deployment.stop() };
    },
  },
  {
    name: 'cluster',
    async start(env: Record<string, string>): Promise<Instances> {
      const cluster = await startRedisCluster({ replicasPerMaster: 0 });
      try {
        const deployment = await startDeployment({ env, cluster });
        const [a, b] = deployment.servers as [ServerProcess, ServerProcess];
        return { a, b, stop: () => deployment.stop().finally(() => cluster.dispose()) };
      } catch (err) {
        await cluster.dispose();
        throw err;
      }
    },
  },
] as const;

/** The engine names, for `describe.each` of tests that start one in-process server per engine (startServerOn). */
export const ENGINE_NAMES = ['memory', 'redis'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

/** startServer in this process on `engine` (Redis: the test run's, under a fresh key prefix); stopping it also deletes its keys. */
export async function startServerOn(engine: EngineName, env: Record<string, string> = {}): Promise<RunningServer> {
  if (engine === 'memory') return startServer(env);
  const url = inject('redisUrl');
  const { prefix, cleanup } = testPrefix();
  const srv = await startServer({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix, ...env });
  return {
    ...srv,
    async stop() {
      await srv.stop();
      await cleanup(url);
    },
  };
}

/** A metric of a server (read from 127.0.0.1, which /metrics answers by default). */
export async function metric(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`no metric ${name} in /metrics`);
  return Number(m[1]);
}

/** Two Redis-backed server processes for the enclosing describe: started before its tests, stopped after. */
export function redisPair(env: Record<string, string> = {}): { readonly a: Endpoint; readonly b: Endpoint } {
  let instances: Instances | undefined;
  beforeAll(async () => {
    instances = await ENGINES.find((e) => e.name === 'redis')!.start(env);
  }, 60_000);
  afterAll(() => instances?.stop());
  return {
    get a() {
      return instances!.a;
    },
    get b() {
      return instances!.b;
    },
  };
}
