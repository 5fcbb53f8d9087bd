import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { gql } from './support/client.js';
import { freePort, waitFor } from './support/net.js';
import { testPrefix } from './support/redis.js';
import { TEST_JWT_SECRET } from './support/server.js';

const run = promisify(execFile);

/** Runs a command; a failure names the step and shows what the command printed. */
async function step(what: string, file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
  try {
    await run(file, args, { ...options, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${what} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/**
 * What the Dockerfile's runtime stage holds, made on this machine: package.json, the lock file,
 * the built dist/ and `npm ci --omit=dev`, in an empty directory with nothing else of the repo.
 */
describe('the production start path, with production dependencies only', () => {
  const redisUrl = inject('redisUrl');
  const { prefix, cleanup } = testPrefix();
  let dir = '';
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chat-prod-'));
    for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(ROOT, f), join(dir, f));
    // the build the Dockerfile runs (npm run build -- --sourceMap false), written into the copy
    await step('build', process.execPath, [TSC, '-p', join(ROOT, 'tsconfig.json'), '--outDir', join(dir, 'dist'), '--sourceMap', 'false'], { cwd: ROOT });
    await step('npm ci --omit=dev', 'npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: dir,
      env: { ...process.env, NODE_ENV: 'production', npm_config_loglevel: 'error' },
    });
  }, 240_000);
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
    await cleanup(redisUrl);
  });

  /** `node dist/main.js` in the copy, with only the environment given (no inherited REDIS_URL etc.). */
  function start(env: Record<string, string>) {
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    return { child, exit, output: () => out };
  }

  async function startServing(env: Record<string, string>) {
    const port = await freePort();
    const proc = start({ ...env, PORT: String(port) });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`exited with ${proc.child.exitCode}: ${proc.output()}`);
        return fetch(`${url}/health`).then((r) => r.ok, () => false);
      },
      { timeoutMs: 20_000, what: 'the production server' },
    );
    return { ...proc, url };
  }

  it('installs no dev dependency', () => {
    for (const dev of ['typescript', 'tsx', 'vitest', 'graphql-sse', '@types/node']) expect(existsSync(join(dir, 'node_modules', dev)), dev).toBe(false);
    for (const dep of ['graphql-yoga', 'graphql-ws', 'ioredis', 'pino']) expect(existsSync(join(dir, 'node_modules', dep)), dep).toBe(true);
  });

  it('serves with NODE_ENV=production: /health, /ready, a register mutation, no GraphiQL; SIGTERM exits 0', async () => {
    const srv = await startServing({ NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'info' });
    expect(await (await fetch(`${srv.url}/health`)).text()).toBe('ok');
    expect((await fetch(`${srv.url}/ready`)).status).toBe(200);
    const r = await gql(`${srv.url}/graphql`, 'mutation($u:String!,$p:String!){ register(username:$u,password:$p){ accessToken user { username } } }', {
      u: `prod_${Date.now() % 1e6}`,
      p: 'correct horse battery',
    });
    expect(r.errors).toBeUndefined();
    expect(r.data.register.accessToken).toEqual(expect.any(String));
    // a browser asking for /graphql gets no GraphiQL page in production
    const page = await fetch(`${srv.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    expect((await page.text()).toLowerCase()).not.toContain('graphiql');
    srv.child.kill('SIGTERM');
    expect(await srv.exit).toEqual({ code: 0, signal: null });
  });

  it('serves GraphiQL outside production (so the check above can fail)', async () => {
    const srv = await startServing({ NODE_ENV: 'development', JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'warn' });
    const page = await fetch(`${srv.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect((await page.text()).toLowerCase()).toContain('graphiql');
    srv.child.kill('SIGTERM');
    expect(await srv.exit).toEqual({ code: 0, signal: null });
  });

  it('runs its Redis engine from production dependencies too', async () => {
    const srv = await startServing({ NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'info' });
    await waitFor(() => fetch(`${srv.url}/ready`).then((r) => r.status === 200, () => false), { what: 'ready on Redis' });
    expect(srv.output()).toMatch(/Redis engine/);
    srv.child.kill('SIGTERM');
    expect(await srv.exit).toEqual({ code: 0, signal: null });
  });

  it('refuses to start in production without JWT_SECRET, in one line naming it', async () => {
    const proc = start({ NODE_ENV: 'production', PORT: String(await freePort()) });
    const { code } = await proc.exit;
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/JWT_SECRET/);
  });
});
