// nginx in front of chat instances that run as plain processes, with the committed nginx.conf:
//   npm run nginx -- [--port 8080] 127.0.0.1:4001 127.0.0.1:4002
// The file is the one docker-compose.yml mounts; only what a local, unprivileged run needs is
// changed (the upstream servers, the listen port, the pid, log and temp paths, into a directory of
// its own), in a copy. nginx runs in the foreground; Ctrl-C or SIGTERM stops it. The tests run the
// same rewrite (test/support/nginx.ts).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** The committed nginx.conf (the one docker-compose.yml mounts). */
export const NGINX_CONF = fileURLToPath(new URL('../nginx.conf', import.meta.url));

export interface RewriteOptions {
  /** host:port of each instance; the upstream gets one `server` line each, with the file's parameters. */
  readonly upstreams: readonly string[];
  readonly listenPort: number;
  /** Directory for the pid file, logs and temp paths. */
  readonly dir: string;
}

/**
 * The committed file, changed only where a local unprivileged run needs it: the upstream server
 * addresses, the listen port, and the paths (pid, logs, temp dirs; a `user` line is dropped).
 * Every other directive stays as it is. Throws when an expected directive is missing, so that a
 * change to nginx.conf cannot silently escape this.
 */
export function rewriteNginxConf(conf: string, { upstreams, listenPort, dir }: RewriteOptions): string {
  if (!upstreams.length) throw new Error('no upstream servers given');
  let out = conf;
  const replace = (pattern: RegExp, replacement: (...m: string[]) => string, what: string, count?: number) => {
    let n = 0;
    out = out.replace(pattern, (...m: string[]) => {
      n++;
      return replacement(...m);
    });
    if (n === 0 || (count !== undefined && n !== count)) throw new Error(`nginx.conf: expected ${count ?? 'a'} ${what}, found ${n}`);
  };

  // the upstream's server lines: one per instance, with the parameters of the file's first line
  const block = /(upstream\s+\w+\s*\{)([^}]*)(\})/.exec(out);
  if (!block) throw new Error('nginx.conf: no upstream block');
  const lines = block[2]!.split('\n');
  const first = lines.findIndex((l) => /^\s*server\s+\S+/.test(l));
  if (first < 0) throw new Error('nginx.conf: no server line in the upstream block');
  const [, indent = '', params = ''] = /^(\s*)server\s+[^\s;]+([^;]*);/.exec(lines[first]!) ?? [];
  const servers = upstreams.map((addr) => `${indent}server ${addr}${params};`);
  const kept = lines.filter((l) => !/^\s*server\s+\S+/.test(l));
  kept.splice(first, 0, ...servers);
  out = out.replace(block[0], `${block[1]}${kept.join('\n')}${block[3]}`);

  replace(/^(\s*listen\s+)[^;]+;/gm, (_m, head) => `${head}127.0.0.1:${listenPort};`, 'listen directive', 1);
  replace(/^(\s*pid\s+)[^;]+;/gm, (_m, head) => `${head}${join(dir, 'nginx.pid')};`, 'pid directive', 1);
  replace(/^(\s*error_log\s+)\S+/gm, (_m, head) => `${head}${join(dir, 'error.log')}`, 'error_log directive');
  replace(/^(\s*access_log\s+)\S+?(?=[\s;])/gm, (_m, head) => `${head}${join(dir, 'access.log')}`, 'access_log directive');
  out = out.replace(/^(\s*)user\s+[^;]+;/gm, '$1# (user line dropped for an unprivileged run)');
  // temp paths are compiled in as absolute paths under /var: point them into the directory
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${join(dir, t)};`).join('\n');
  replace(/^(\s*http\s*\{)/m, (_m, head) => `${head}\n    # temp paths of this run\n${temps}\n`, 'http block', 1);
  return out;
}

/** The nginx binary, or undefined. */
export function findNginx(): string | undefined {
  for (const candidate of ['nginx', '/usr/sbin/nginx', '/usr/local/sbin/nginx']) {
    const r = spawnSync(candidate, ['-v'], { stdio: 'ignore' });
    if (!r.error && r.status === 0) return candidate;
  }
  return undefined;
}

/** Writes the rewritten file into `dir` and has `nginx -t` check it; returns nginx's arguments to run it in the foreground. */
export function prepareNginx(bin: string, options: RewriteOptions): { config: string; args: string[] } {
  mkdirSync(options.dir, { recursive: true });
  // nginx started as root runs its workers as `nobody`: they must reach the temp paths inside
  chmodSync(options.dir, 0o755);
  const config = rewriteNginxConf(readFileSync(NGINX_CONF, 'utf8'), options);
  const confPath = join(options.dir, 'nginx.conf');
  writeFileSync(confPath, config);
  const base = ['-p', options.dir, '-e', join(options.dir, 'error.log'), '-c', confPath];
  const test = spawnSync(bin, ['-t', ...base], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t refused the rewritten nginx.conf:\n${test.stderr}`);
  return { config, args: [...base, '-g', 'daemon off;'] };
}

function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { port: { type: 'string', default: '8080' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help || !positionals.length) {
    console.error('usage: npm run nginx -- [--port 8080] HOST:PORT [HOST:PORT ...]   (the chat instances, e.g. 127.0.0.1:4001 127.0.0.1:4002)');
    process.exit(values.help ? 0 : 2);
  }
  const bin = findNginx();
  if (!bin) {
    console.error('nginx is not installed (Debian/Ubuntu: apt-get install nginx).');
    process.exit(1);
  }
  const listenPort = Number(values.port);
  const dir = join(tmpdir(), `graphql-chat-nginx-${listenPort}`);
  const { args } = prepareNginx(bin, { upstreams: positionals, listenPort, dir });
  console.error(`nginx on http://127.0.0.1:${listenPort}/ in front of ${positionals.join(', ')} (config and logs in ${dir})`);
  const child = spawn(bin, args, { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill('SIGQUIT')); // graceful: finish what is in flight
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
