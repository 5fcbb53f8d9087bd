// A new user's first run, from the README: `npm ci && npm start` in a copy of the repository
// (what a clone holds: no node_modules, no dist/, no web/dist/) serves the chat page at /, and
// stopping `npm start` by its pid stops the server; then the README's plain-processes block, as
// written (on free ports), runs two instances behind nginx.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { gql } from './support/client.js';
import { nginxBinary } from './support/nginx.js';
import { freePort, waitFor } from './support/net.js';
import { readmeBlock, shellCommands } from './support/readme.js';
import { testPrefix } from './support/redis.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What a new user's shell has: no settings of this project, no NODE_ENV (vitest sets one). */
const userEnv = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), LANG: 'C.UTF-8', ...extra });

interface Started {
  readonly child: ChildProcess;
  output(): string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `command` as a process group of its own (the cleanup stops the whole group). */
function start(command: string, args: string[], cwd: string, env: Record<string, string>): Started {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, exit };
}

const answers = (url: string) => fetch(url).then((r) => r.status, () => 0);

describe('a new user: npm ci && npm start in a fresh copy of the repository', () => {
  let dir = '';
  const started: Started[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chat-first-run-'));
    // what a clone holds: the tracked files (and new ones not ignored), as they are in this tree
    const { stdout } = await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    for (const file of stdout.split('\0').filter(Boolean)) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      try {
        copyFileSync(join(ROOT, file), join(dir, file));
      } catch {
        // listed but deleted in this tree
      }
    }
  }, 60_000);
  afterAll(async () => {
    for (const s of started) {
      if (s.child.exitCode === null && s.child.signalCode === null) {
        s.child.kill('SIGKILL');
      }
      // each was started as a process group of its own: take what it left behind with it
      try {
        process.kill(-s.child.pid!, 'SIGKILL');
      } catch {}
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the chat page at / after building everything itself; killing npm start by its pid stops the server', async () => {
    const [install, startCommand] = shellCommands(readmeBlock('Quick start', 'sh').code)[0]!.split('&&').map((c) => c.trim());
    expect([install, startCommand]).toEqual(['npm ci', 'npm start']);
    const ci = start('npm', ['ci', '--no-audit', '--no-fund'], dir, userEnv());
    const installed = await ci.exit;
    expect(installed.code, ci.output()).toBe(0);

    const port = await freePort();
    const npmStart = start('npm', ['start'], dir, userEnv({ PORT: String(port) }));
    started.push(npmStart);
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        if (npmStart.child.exitCode !== null) throw new Error(`npm start exited: ${npmStart.output()}`);
        return (await answers(`${url}/health`)) === 200;
      },
      { timeoutMs: 180_000, intervalMs: 250, what: 'npm start to serve' },
    );
    expect(npmStart.output()).toContain('building dist/');
    expect(npmStart.output()).toContain('building the web page into web/dist/');

    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('id="auth-form"');
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect((await fetch(`${url}/${script}`)).status).toBe(200);
    const api = await gql(`${url}/graphql`, '{ __typename }');
    expect(api.data).toEqual({ __typename: 'Query' });

    // the README's `npm start &` then `kill <pid>`: npm's pid is all the user has
    npmStart.child.kill('SIGTERM');
    await npmStart.exit;
    await waitFor(async () => (await answers(`${url}/health`)) === 0, { timeoutMs: 15_000, what: 'the server to stop with npm start' });
  }, 300_000);

  it('runs the README\'s plain-processes block as written: two instances on Redis behind nginx', async () => {
    nginxBinary(); // fails first, saying how to install nginx, when it is missing
    const redisUrl = inject('redisUrl');
    const { prefix, cleanup } = testPrefix();
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    try {
      const block = readmeBlock('Plain processes', 'sh').code;
      // the same block on free ports and the tests' Redis; nothing else changed
      const script = block.replaceAll('4001', String(p1)).replaceAll('4002', String(p2)).replaceAll('8080', String(p3)).replaceAll('redis://127.0.0.1:6379', redisUrl);
      const shell = start('bash', ['-c', script], dir, userEnv({ REDIS_KEY_PREFIX: prefix }));
      started.push(shell);
      const nginx = `http://127.0.0.1:${p3}`;
      await waitFor(
        async () => {
          if (shell.child.exitCode !== null) throw new Error(`the block ended: ${shell.output()}`);
          return (await answers(`${nginx}/ready`)) === 200 && (await answers(`http://127.0.0.1:${p1}/ready`)) === 200 && (await answers(`http://127.0.0.1:${p2}/ready`)) === 200;
        },
        { timeoutMs: 120_000, intervalMs: 250, what: 'both instances and nginx' },
      );
      expect(await (await fetch(`${nginx}/`)).text()).toContain('id="auth-form"');
      // one secret for both: a token from one instance works on the other
      const r = await gql(`${nginx}/graphql`, 'mutation { register(username: "plain_user", password: "correct horse") { accessToken } }');
      const token = r.data.register.accessToken;
      for (const p of [p1, p2]) expect((await gql(`http://127.0.0.1:${p}/graphql`, '{ me { username } }', {}, token)).data).toEqual({ me: { username: 'plain_user' } });
      process.kill(-shell.child.pid!, 'SIGTERM');
      await shell.exit;
      await waitFor(async () => (await answers(`http://127.0.0.1:${p1}/health`)) === 0 && (await answers(`http://127.0.0.1:${p2}/health`)) === 0, {
        timeoutMs: 15_000,
        what: 'the instances to stop',
      });
    } finally {
      await cleanup(redisUrl);
      rmSync(join(tmpdir(), `graphql-chat-nginx-${p3}`), { recursive: true, force: true }); // where npm run nginx keeps its copy
    }
  }, 180_000);
});
