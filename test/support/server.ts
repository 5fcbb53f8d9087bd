import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.js';
import { createChatServer, type ChatServer, type ChatServerOptions } from '../../src/server/app.js';
import { createLogger } from '../../src/server/logger.js';
import { freePort, waitFor } from './net.js';
import { TEST_SCRYPT } from './services.js';

export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret!';

export interface RunningServer {
  readonly server: ChatServer;
  readonly url: string;
  readonly httpUrl: string;
  readonly wsUrl: string;
  stop(): Promise<void>;
}

/**
 * Suites register many users from one address (127.0.0.1) and make a room per test, so these two
 * throttles are off unless a test sets them; test/security.*.test.ts test them on their own.
 */
const TEST_DEFAULTS = { REGISTER_RATE_LIMIT: '0', CREATE_ROOM_RATE_LIMIT: '0' } as const;

/** The real server in this process on a free port; `env` as the process environment would give it. */
export async function startServer(env: Record<string, string> = {}, options: Pick<ChatServerOptions, 'backends' | 'webRoot'> = {}): Promise<RunningServer> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'silent', ...TEST_DEFAULTS, ...env });
  const server = await createChatServer(config, { scrypt: TEST_SCRYPT, logger: createLogger(config.logLevel), ...options });
  const { port } = await server.start();
  const url = `http://127.0.0.1:${port}`;
  return { server, url, httpUrl: `${url}/graphql`, wsUrl: `ws://127.0.0.1:${port}/graphql`, stop: () => server.stop() };
}

export interface ServerProcess {
  readonly port: number;
  readonly url: string;
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly child: ChildProcess;
  /** What the process printed so far. */
  output(): string;
  /** SIGTERM (graceful) and wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
// tsx as a loader in the server's own process (not its CLI, which runs the script in a child):
// a signal sent to `child` then reaches the server itself, SIGKILL included
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

/** A real server process (tsx on src/main.ts) on a free port, ready when /ready answers 200. */
export async function startServerProcess(env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = Number(env.PORT ?? (await freePort()));
  const child = spawn(process.execPath, ['--import', TSX_LOADER, MAIN], {
    env: { ...process.env, NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...TEST_DEFAULTS, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${out}`);
      try {
        return (await fetch(`${url}/ready`)).status === 200;
      } catch {
        return false;
      }
    },
    { timeoutMs: 30_000, what: `server process on port ${port}` },
  );
  return {
    port,
    url,
    httpUrl: `${url}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    child,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
