// `npm test`'s pretest (scripts/test-prereqs.ts), run as npm runs it: it lists what the suites
// drive when all is here, and stops at once, naming what is missing and the command to run, when
// it may not install (TEST_PREREQS_INSTALL=no, or not root). Its apt-get install is what CI's
// output shows on a machine without nginx or Chromium (.ci/run).
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
const NOBODY = 65534;

function pretest(env: NodeJS.ProcessEnv, options: SpawnSyncOptions = {}) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [TSX, 'scripts/test-prereqs.ts'], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000, ...options });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr), ms: Date.now() - started };
}

describe('npm test checks what the suites need before any test starts', () => {
  it('is what npm test runs first, and CI runs exactly npm test after npm ci', () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.pretest).toBe('tsx scripts/test-prereqs.ts');
    const ci = readFileSync(`${ROOT}.ci/run`, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    expect(ci.slice(-2)).toEqual(['npm ci --no-audit --no-fund', 'npm test']);
  });

  it('names each program with its version when all are here', () => {
    const r = pretest({ TEST_PREREQS_INSTALL: 'no' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/redis-server 7\.\d+\.\d+, nginx \d+\.\d+\.\d+, chromium \d+\.[\d.]+, docker compose v?\d+\.\d+\.\d+/);
  });

  it('stops at once when a program is missing and it may not install, naming it and the command to run', () => {
    const r = pretest({ TEST_PREREQS_INSTALL: 'no', CHROMIUM_PATH: '/nonexistent/chromium' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('nothing was installed: TEST_PREREQS_INSTALL=no');
    expect(r.stderr).toContain('chromium (CHROMIUM_PATH=/nonexistent/chromium): /nonexistent/chromium does not exist');
    expect(r.stderr).toContain('Point CHROMIUM_PATH at a Chromium binary that exists');
    expect(r.ms).toBeLessThan(30_000);
  });

  it('installs nothing when not root: it says so, with the sudo apt-get line for what Debian provides', () => {
    // a nginx that is not there stands for a missing program: PATH without it, and no /usr/sbin
    const asNobody: SpawnSyncOptions = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {};
    const r = pretest({ HOME: '/tmp', PATH: '/nonexistent', CHROMIUM_PATH: '/nonexistent/chromium' }, asNobody);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('nothing was installed: not running as root');
    expect(r.stderr).toMatch(/- redis-server: not on PATH; used by /);
    expect(r.stderr).toMatch(/sudo apt-get install -y --no-install-recommends redis-server( nginx)? docker-compose\n/);
  });
});
