import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from './net.js';

/** The committed nginx.conf (the one docker-compose.yml mounts). */
export const NGINX_CONF = fileURLToPath(new URL('../../nginx.conf', import.meta.url));

const HOW_TO_GET_NGINX =
  'nginx is not on PATH: the nginx end-to-end tests run the committed nginx.conf through a real nginx. ' +
  'Install it (Debian/Ubuntu: apt-get install nginx; .ci/run does this when it is missing).';

/** The nginx binary, or throws saying how to install it. */
export function nginxBinary(): string {
  for (const candidate of ['nginx', '/usr/sbin/nginx', '/usr/local/sbin/nginx']) {
    const r = spawnSync(candidate, ['-v'], { stdio: 'ignore' });
    if (!r.error && r.status === 0) return candidate;
  }
  throw new Error(HOW_TO_GET_NGINX);
}

export interface RewriteOptions {
  /** host:port of each upstream server, in the file's order; as many as the file lists. */
  readonly upstreams: readonly string[];
  readonly listenPort: number;
  /** Directory for the pid file, logs and temp paths. */
  readonly dir: string;
}

/**
 * The committed file, changed only where a local unprivileged run needs it: the upstream server
 * addresses, the listen port, and the paths (pid, logs, temp dirs; a `user` line is dropped).
 * Every other directive stays as it is. Throws when an expected directive is missing, so that
 * a change to nginx.conf cannot silently escape the test.
 */
export function rewriteNginxConf(conf: string, { upstreams, listenPort, dir }: RewriteOptions): string {
  let out = conf;
  const replace = (pattern: RegExp, replacement: (...m: string[]) => string, what: string, count?: number) => {
    let n = 0;
    out = out.replace(pattern, (...m: string[]) => {
      n++;
      return replacement(...m);
    });
    if (n === 0 || (count !== undefined && n !== count)) throw new Error(`nginx.conf: expected ${count ?? 'a'} ${what}, found ${n}`);
  };

  // upstream server addresses, keeping each line's parameters (max_fails=, fail_timeout=, ...)
  const block = /(upstream\s+\w+\s*\{)([^}]*)(\})/.exec(out);
  if (!block) throw new Error('nginx.conf: no upstream block');
  let i = 0;
  const servers = block[2]!.replace(/(^\s*server\s+)(\S+?)(\s|;)/gm, (_m, head: string, _addr: string, tail: string) => {
    const addr = upstreams[i++];
    if (addr === undefined) throw new Error(`nginx.conf lists more upstream servers than the ${upstreams.length} given`);
    return `${head}${addr}${tail}`;
  });
  if (i !== upstreams.length) throw new Error(`nginx.conf lists ${i} upstream servers, ${upstreams.length} given`);
  out = out.replace(block[0], `${block[1]}${servers}${block[3]}`);

  replace(/^(\s*listen\s+)[^;]+;/gm, (_m, head) => `${head}127.0.0.1:${listenPort};`, 'listen directive', 1);
  replace(/^(\s*pid\s+)[^;]+;/gm, (_m, head) => `${head}${join(dir, 'nginx.pid')};`, 'pid directive', 1);
  replace(/^(\s*error_log\s+)\S+/gm, (_m, head) => `${head}${join(dir, 'error.log')}`, 'error_log directive');
  replace(/^(\s*access_log\s+)\S+?(?=[\s;])/gm, (_m, head) => `${head}${join(dir, 'access.log')}`, 'access_log directive');
  out = out.replace(/^(\s*)user\s+[^;]+;/gm, '$1# (user line dropped for an unprivileged test run)');
  // temp paths are compiled in as absolute paths under /var: point them into the temp dir
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${join(dir, t)};`).join('\n');
  replace(/^(\s*http\s*\{)/m, (_m, head) => `${head}\n    # temp paths for the test run\n${temps}\n`, 'http block', 1);
  return out;
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
  // run as root, nginx's workers are `nobody`: they must reach the temp paths inside (mkdtemp makes 0700)
  chmodSync(dir, 0o755);
  const port = await freePort();
  const config = rewriteNginxConf(readFileSync(NGINX_CONF, 'utf8'), { upstreams, listenPort: port, dir });
  const confPath = join(dir, 'nginx.conf');
  writeFileSync(confPath, config);

  const test = spawnSync(bin, ['-t', '-p', dir, '-e', join(dir, 'error.log'), '-c', confPath], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t refused the rewritten nginx.conf:\n${test.stderr}\n--- config ---\n${config}`);

  const child = spawn(bin, ['-p', dir, '-e', join(dir, 'error.log'), '-c', confPath, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
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
