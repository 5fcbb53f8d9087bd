import { startDeployment } from './deployment.js';
import { startServer, type ServerProcess } from './server.js';

export interface Endpoint {
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly url: string;
}

/** Two instances to talk to: on the memory engine one server is both; on Redis two processes. */
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
] as const;
