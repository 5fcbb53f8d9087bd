import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../src/config/index.js';

/** What Dockerfile, docker-compose.yml and nginx.conf promise, read as files (no Docker engine here). */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (f: string) => readFileSync(`${ROOT}${f}`, 'utf8');
const defaults = loadConfig({ JWT_SECRET: 'x'.repeat(32) });

/** Node release lines that are (or were) LTS: the even majors. */
const isLtsMajor = (major: number) => major >= 20 && major % 2 === 0;

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  // instructions, with continuation lines joined and comments dropped
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: { from: string; name?: string; lines: string[] }[] = [];
  for (const line of instructions) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ from: from[1]!, name: from[2], lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  const runtime = stages.at(-1)!;

  it('is multi-stage: builds with dev dependencies, runs with the build output only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages.find((s) => s.lines.some((l) => /npm run build/.test(l)))!;
    expect(build).toBeDefined();
    expect(build.lines.some((l) => /^RUN npm ci(?!.*--omit=dev)/.test(l))).toBe(true);
    expect(build).not.toBe(runtime);
    expect(runtime.lines.some((l) => new RegExp(`^COPY --from=${build.name}\\b.*\\/dist`).test(l))).toBe(true);
  });

  it('bases every stage on one current Node LTS, pinned by major version (slim)', () => {
    const majors = new Set(
      stages.map((s) => {
        const m = /^node:(\d+)-slim$/.exec(s.from);
        expect(m, `FROM ${s.from}`).not.toBeNull();
        return Number(m![1]);
      }),
    );
    expect(majors.size).toBe(1);
    expect(isLtsMajor([...majors][0]!)).toBe(true);
  });

  it('installs production dependencies only for the runtime (npm ci --omit=dev)', () => {
    const omit = stages.find((s) => s.lines.some((l) => /npm ci\b.*--omit=dev/.test(l)));
    expect(omit).toBeDefined();
    // the runtime's node_modules come from that install, not from the build stage
    expect(runtime === omit || runtime.lines.some((l) => new RegExp(`^COPY --from=${omit!.name}\\b.*node_modules`).test(l))).toBe(true);
    expect(runtime.lines.some((l) => new RegExp(`^COPY --from=${stages.find((s) => /npm run build/.test(s.lines.join('\n')))!.name}\\b.*node_modules`).test(l))).toBe(false);
  });

  it('copies no sources or tooling into the runtime image', () => {
    const copies = runtime.lines.filter((l) => /^(COPY|ADD)\b/.test(l));
    for (const c of copies) {
      expect(c, c).not.toMatch(/\s\.\s/); // no COPY . .
      expect(c, c).not.toMatch(/\b(src|test|tsconfig\.json)\b/);
    }
    expect(copies.join('\n')).toMatch(/schema\.graphql/);
    expect(copies.join('\n')).toMatch(/package\.json/); // "type": "module" for dist/*.js
  });

  it('runs as a non-root user, with NODE_ENV=production, a HEALTHCHECK on /health and node dist/main.js', () => {
    const user = runtime.lines.filter((l) => /^USER\s/.test(l)).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER\s+(root|0)(:|\s|$)/);
    expect(runtime.lines.some((l) => /^ENV\b.*\bNODE_ENV=production\b/.test(l))).toBe(true);
    const health = runtime.lines.find((l) => /^HEALTHCHECK\b/.test(l));
    expect(health).toMatch(/\/health\b/);
    expect(health).not.toMatch(/\bcurl\b|\bwget\b/); // not in slim images
    expect(runtime.lines.find((l) => /^CMD\b/.test(l))).toMatch(/^CMD \["node",\s*"dist\/main\.js"\]$/);
  });

  it('keeps .env, node_modules and tests out of the build context (.dockerignore)', () => {
    const ignore = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    // an allow-list: everything is ignored but what is named
    expect(ignore[0]).toBe('*');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1));
    for (const secretOrBulk of ['.env', 'node_modules', 'dist', 'test', '.git']) expect(allowed).not.toContain(secretOrBulk);
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'src', 'schema.graphql']) expect(allowed).toContain(needed);
  });
});

/** The parts of a docker-compose service that the tests read (as the YAML has them, unchecked). */
interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: (string | number)[];
  healthcheck?: { test?: string | string[] };
  depends_on?: Record<string, { condition?: string }>;
  stop_grace_period?: string;
}

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as {
    services: Record<string, ComposeService>;
    volumes?: Record<string, unknown>;
  };
  const services = compose.services;
  const apps = Object.entries(services).filter(([, s]) => s.build !== undefined || s.image === services.app1?.image);
  const conditionOf = (s: ComposeService, dep: string) => s.depends_on?.[dep]?.condition;

  it('runs Redis 7 with AOF persistence on a named volume, and a healthcheck', () => {
    const redis = services.redis!;
    expect(redis.image).toMatch(/^redis:7(\.|-|$)/);
    expect([redis.command].flat().join(' ')).toMatch(/--appendonly yes/);
    const dataVolume = (redis.volumes as string[]).find((v) => v.endsWith(':/data'));
    expect(dataVolume).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(dataVolume!.split(':')[0]);
    expect([redis.healthcheck!.test].flat().join(' ')).toMatch(/redis-cli ping/);
  });

  it('runs three app instances of the one image, sharing JWT_SECRET from the environment or .env', () => {
    expect(apps.map(([name]) => name).sort()).toEqual(['app1', 'app2', 'app3']);
    const secrets = new Set(apps.map(([, s]) => s.environment!.JWT_SECRET));
    expect(secrets.size).toBe(1);
    // interpolated, required, never a literal
    expect([...secrets][0]).toMatch(/^\$\{JWT_SECRET:\?[^}]*\}$/);
    for (const [name, s] of apps) {
      expect(s.build, name).toBe('.');
      expect(s.environment!.NODE_ENV, name).toBe('production');
      expect(s.environment!.REDIS_URL, name).toBe('redis://redis:6379');
      expect(s.healthcheck?.test, name).toBeDefined();
      expect(conditionOf(s, 'redis'), name).toBe('service_healthy');
      expect(s.ports, `${name} publishes no port (nginx is the way in)`).toBeUndefined();
      // Docker's SIGKILL comes after the drain's bound
      const grace = /^(\d+)s$/.exec(s.stop_grace_period ?? '10s');
      expect(Number(grace?.[1])).toBeGreaterThan(defaults.shutdownTimeout);
    }
  });

  it('documents JWT_SECRET in .env.example and keeps .env out of git', () => {
    expect(read('.env.example')).toMatch(/^JWT_SECRET=$/m);
    expect(read('.gitignore').split('\n').map((l) => l.trim())).toContain('.env');
    const tracked = spawnSync('git', ['ls-files', '--error-unmatch', '.env'], { cwd: ROOT, stdio: 'ignore' });
    expect(tracked.status).not.toBe(0);
  });

  it('publishes one port, through nginx with the committed nginx.conf, once the apps are healthy', () => {
    const published = Object.entries(services).filter(([, s]) => s.ports?.length);
    expect(published.map(([name]) => name)).toEqual(['nginx']);
    const nginx = services.nginx!;
    expect(nginx.image).toMatch(/^nginx:/);
    expect(nginx.ports).toHaveLength(1);
    expect(String(nginx.ports![0])).toMatch(/:80$/);
    expect(nginx.volumes).toContain('./nginx.conf:/etc/nginx/nginx.conf:ro');
    for (const [name] of apps) expect(conditionOf(nginx, name)).toBe('service_healthy');
  });

  it('passes `docker compose config` (the cluster variant too)', () => {
    const compose = [
      ['docker', 'compose'],
      ['docker-compose'],
    ].find(([bin, ...sub]) => spawnSync(bin!, [...sub, 'version'], { stdio: 'ignore' }).status === 0);
    // no engine is needed for `config`; npm test installs Compose as root on Debian (scripts/test-prereqs.ts)
    if (!compose) throw new Error('neither `docker compose` nor `docker-compose` works here: apt-get install --no-install-recommends docker-compose, or Docker Compose v2');
    const [bin, ...sub] = compose;
    for (const file of ['docker-compose.yml', 'docker-compose.cluster.yml']) {
      execFileSync(bin!, [...sub, '-f', `${ROOT}${file}`, 'config', '-q'], { env: { ...process.env, JWT_SECRET: 'x'.repeat(48) }, stdio: 'pipe' });
    }
    // and the check can fail: a misspelt key in a copy is refused
    const dir = mkdtempSync(join(tmpdir(), 'compose-'));
    try {
      writeFileSync(join(dir, 'docker-compose.yml'), read('docker-compose.yml').replace('stop_grace_period:', 'stop_grace_perio:'));
      const r = spawnSync(bin!, [...sub, '-f', join(dir, 'docker-compose.yml'), 'config', '-q'], { env: { ...process.env, JWT_SECRET: 'x'.repeat(48) }, encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('stop_grace_perio');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docker-compose.cluster.yml (the cluster variant)', () => {
  const compose = parse(read('docker-compose.cluster.yml'), { merge: true }) as {
    services: Record<string, ComposeService & { restart?: string; entrypoint?: string[] }>;
    volumes?: Record<string, unknown>;
  };
  const services = compose.services;
  const nodes = Object.entries(services).filter(([name]) => /^redis-\d+$/.test(name));
  const apps = Object.entries(services).filter(([, s]) => s.build !== undefined);
  const init = services['redis-cluster-init']!;
  const conditionOf = (s: ComposeService, dep: string) => s.depends_on?.[dep]?.condition;
  /** The init script as the shell gets it (compose turns $$ into $). */
  const script = [init.command].flat().join('\n').replace(/\$\$/g, '$');

  it('runs six Redis 7 nodes in cluster mode, each with AOF on a named volume of its own and a healthcheck', () => {
    expect(nodes).toHaveLength(6);
    const volumes = new Set<string>();
    for (const [name, n] of nodes) {
      expect(n.image, name).toMatch(/^redis:7(\.|-|$)/);
      const command = [n.command].flat().join(' ');
      expect(command, name).toMatch(/--cluster-enabled yes/);
      expect(command, name).toMatch(/--appendonly yes/);
      const data = n.volumes!.find((v) => v.endsWith(':/data'))!;
      expect(Object.keys(compose.volumes ?? {}), name).toContain(data.split(':')[0]);
      volumes.add(data);
      expect([n.healthcheck!.test].flat().join(' '), name).toMatch(/redis-cli ping/);
      expect(n.ports, `${name} publishes no port`).toBeUndefined();
    }
    expect(volumes.size).toBe(6);
  });

  it('creates the cluster once with a one-shot init container: three masters with a replica each, after every node is healthy', () => {
    expect(init.restart).toBe('no');
    for (const [name] of nodes) expect(conditionOf(init, name), name).toBe('service_healthy');
    expect(script).toMatch(/redis-cli --cluster create \$nodes --cluster-replicas 1 --cluster-yes/);
    for (const [name] of nodes) expect(script).toContain(name);
    // idempotent: a cluster already created is only checked
    expect(script.indexOf('cluster_state:ok')).toBeLessThan(script.indexOf('--cluster create'));
    expect(spawnSync('sh', ['-n', '-c', script]).status).toBe(0);
  });

  it('runs three app instances on REDIS_CLUSTER_NODES (every node, no REDIS_URL) once the cluster exists, with the settings of the single-Redis file', () => {
    expect(apps.map(([name]) => name).sort()).toEqual(['app1', 'app2', 'app3']);
    for (const [name, s] of apps) {
      const env = s.environment!;
      expect(env.REDIS_URL, name).toBeUndefined();
      expect(env.REDIS_CLUSTER_NODES!.split(','), name).toEqual(nodes.map(([n]) => `${n}:6379`));
      expect(env.JWT_SECRET, name).toMatch(/^\$\{JWT_SECRET:\?[^}]*\}$/);
      expect(env.NODE_ENV, name).toBe('production');
      expect(conditionOf(s, 'redis-cluster-init'), name).toBe('service_completed_successfully');
      expect(s.ports, name).toBeUndefined();
      // the server accepts these settings
      expect(loadConfig({ NODE_ENV: env.NODE_ENV, REDIS_CLUSTER_NODES: env.REDIS_CLUSTER_NODES, JWT_SECRET: 'x'.repeat(32) }).redisClusterNodes).toHaveLength(6);
    }
  });

  it('publishes one port, through nginx with the committed nginx.conf, once the apps are healthy', () => {
    const published = Object.entries(services).filter(([, s]) => s.ports?.length);
    expect(published.map(([name]) => name)).toEqual(['nginx']);
    expect(services.nginx!.volumes).toContain('./nginx.conf:/etc/nginx/nginx.conf:ro');
    for (const [name] of apps) expect(conditionOf(services.nginx!, name)).toBe('service_healthy');
  });
});

describe('nginx.conf', () => {
  const conf = read('nginx.conf').replace(/#.*$/gm, '');
  const directive = (name: string) => [...conf.matchAll(new RegExp(`(?:^|[;{}\\s])${name}\\s+([^;{]+)[;{]`, 'g'))].map((m) => m[1]!.trim());
  const seconds = (v: string) => {
    const m = /^(\d+)(ms|s|m|h|d)?$/.exec(v);
    if (!m) throw new Error(`not an nginx time: ${v}`);
    return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? 's']!;
  };

  it('is a whole nginx.conf: events and http blocks', () => {
    expect(conf).toMatch(/^events\s*\{/m);
    expect(conf).toMatch(/^http\s*\{/m);
  });

  it('balances the three compose services with least_conn', () => {
    const upstream = /upstream\s+(\w+)\s*\{([^}]*)\}/.exec(conf);
    expect(upstream).not.toBeNull();
    expect(upstream![2]).toMatch(/^\s*least_conn;/m);
    expect([...upstream![2]!.matchAll(/^\s*server\s+(\S+?)[\s;]/gm)].map((m) => m[1])).toEqual(['app1:4000', 'app2:4000', 'app3:4000']);
    expect(directive('proxy_pass')).toEqual(expect.arrayContaining([`http://${upstream![1]}`]));
  });

  it('upgrades WebSockets on /graphql: map $http_upgrade, HTTP/1.1, Upgrade and Connection headers', () => {
    expect(conf).toMatch(/map\s+\$http_upgrade\s+\$connection_upgrade\s*\{[^}]*default\s+upgrade;/);
    expect(directive('proxy_http_version')).toEqual(['1.1']);
    const headers = directive('proxy_set_header');
    expect(headers).toContain('Upgrade $http_upgrade');
    expect(headers).toContain('Connection $connection_upgrade');
    expect(conf).toMatch(/location\s+=\s*\/graphql\s*\{/);
  });

  it('keeps sockets open far longer than the server pings them, and does not buffer SSE', () => {
    const read = directive('proxy_read_timeout').map(seconds);
    expect(read.length).toBeGreaterThan(0);
    for (const t of read) {
      expect(t).toBeGreaterThanOrEqual(300);
      expect(t).toBeGreaterThan(2 * defaults.wsPingInterval);
    }
    expect(directive('proxy_send_timeout').map(seconds).every((t) => t >= 300)).toBe(true);
    expect(directive('proxy_buffering')).toContain('off');
  });

  it('limits bodies to the server\'s 64 KiB and forwards the client\'s address and scheme', () => {
    expect(directive('client_max_body_size')).toEqual(['64k']);
    const headers = directive('proxy_set_header').map((h) => h.split(/\s+/)[0]!.toLowerCase());
    for (const h of ['host', 'x-real-ip', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']) expect(headers).toContain(h);
  });

  it('passes /health and /ready through, and retries another instance when one refuses or is draining', () => {
    expect(conf).toMatch(/location\s+=\s*\/health\s*\{\s*proxy_pass/);
    expect(conf).toMatch(/location\s+=\s*\/ready\s*\{\s*proxy_pass/);
    const next = directive('proxy_next_upstream')[0]!.split(/\s+/);
    expect(next).toEqual(expect.arrayContaining(['error', 'timeout', 'http_502', 'http_503']));
    expect(next).not.toContain('non_idempotent'); // a POST nginx sent is never sent twice
  });
});
