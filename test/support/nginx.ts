import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNginx, prepareNginx } from '../../scripts/nginx.js';
import { freePort, waitFor } from './net.js';

const HOW_TO_GET_NGINX =
  'nginx is not on PATH: the nginx end-to-end tests run the committed nginx.conf through a real nginx. ' +
  'Install it (Debian: apt-get install nginx; npm test does this as root when it is missing).';

/** The nginx binary, or throws saying how to install it. */
export function nginxBinary(): string {
  const bin = findNginx();
  if (!bin) throw new Error(HOW_TO_GET_NGINX);
  return bin;
}

export interface RunningNginx {
  readonly port: number;
  readonly url: string;
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly dir: string;
  readonly config: string;
  readonly child: ChildProcess;
  /** What nginx wrote to stderr and its error log. */
  errors(): string;
  accessLog(): string;
  stop(): Promise<void>;
}

/** A real nginx on a free local port running the committed nginx.conf, its upstream rewritten to `upstreams`. */
export async function startNginx(upstreams: readonly string[]): Promise<RunningNginx> {
  const bin = nginxBinary();
  const dir = mkdtempSync(join(tmpdir(), 'chat-nginx-'));
  const port = await freePort();
  // what `npm run nginx` runs (scripts/nginx.ts), into a temporary directory
  const { config, args } = prepareNginx(bin, { upstreams, listenPort: port, dir });
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const read = (f: string) => {
    try {
      return readFileSync(join(dir, f), 'utf8');
    } catch {
      return '';
    }
  };
  const errors = () => `${stderr}${read('error.log')}`;
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${errors()}`);
        try {
          return (await fetch(`${url}/health`)).status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 15_000, what: `nginx on port ${port}` },
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    port,
    url,
    httpUrl: `${url}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    dir,
    config,
    child,
    errors,
    accessLog: () => read('access.log'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One sample of a Prometheus gauge or counter (no labels) from a server's /metrics. */
export async function metric(serverUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${serverUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return Number(m?.[1] ?? 0);
}

/** The index of the one server holding an open WebSocket (waits until exactly one holds `count`). */
export async function socketHolder(serverUrls: readonly string[], count = 1): Promise<number> {
  let holder = -1;
  await waitFor(
    async () => {
      const open = await Promise.all(serverUrls.map((u) => metric(u, 'chat_open_sockets').catch(() => 0)));
      holder = open.findIndex((n) => n >= count);
      return holder >= 0 && open.filter((n) => n > 0).length === 1;
    },
    { timeoutMs: 15_000, what: 'a server holding the client socket' },
  );
  return holder;
}

/** Waits until a server's metric reaches `atLeast`. */
export async function waitForMetric(serverUrl: string, name: string, atLeast: number): Promise<void> {
  await waitFor(async () => (await metric(serverUrl, name).catch(() => 0)) >= atLeast, { timeoutMs: 15_000, what: `${name} >= ${atLeast} on ${serverUrl}` });
}
