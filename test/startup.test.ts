import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from './support/net.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const TSX_LOADER = new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

/** Runs the server's entry point with `env` until it exits; its exit code and what it printed. */
function run(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // no REDIS_URL unless the test gives one: the in-memory engine
    const { REDIS_URL: _inherited, ...inherited } = process.env;
    const child = spawn(process.execPath, ['--import', TSX_LOADER, MAIN], {
      env: { ...inherited, NODE_ENV: 'development', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('start-up refuses bad settings with one clear line', () => {
  it('names a malformed variable and exits 1', async () => {
    const { code, output } = await run({ PORT: 'abc' });
    expect(code).toBe(1);
    expect(output.trim()).toBe('Invalid configuration: PORT: expected a port number (0-65535)');
  });

  it('says that the port is taken, in one line, and exits 1', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    try {
      const { code, output } = await run({ PORT: String(port), HOST: '127.0.0.1', JWT_SECRET: 'x'.repeat(32) });
      expect(code).toBe(1);
      expect(output.trim()).toBe(`Could not start: 127.0.0.1:${port} is already in use (set PORT or HOST to another)`);
    } finally {
      holder.close();
    }
  });

  it('says that Redis did not answer, and exits 1, when REDIS_URL points nowhere', async () => {
    const { code, output } = await run({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, JWT_SECRET: 'x'.repeat(32) });
    expect(code).toBe(1);
    expect(output.trim().split('\n')).toHaveLength(1);
    expect(output).toMatch(/^Could not start: Redis at REDIS_URL did not answer/);
  }, 30_000);

  it('refuses REDIS_URL and REDIS_CLUSTER_NODES together, naming both', async () => {
    const { code, output } = await run({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001' });
    expect(code).toBe(1);
    expect(output.trim()).toBe(
      'Invalid configuration: REDIS_CLUSTER_NODES: set either REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster), not both',
    );
  });

  it('says that the cluster did not answer, and exits 1, when REDIS_CLUSTER_NODES points nowhere', async () => {
    const { code, output } = await run({ REDIS_CLUSTER_NODES: `127.0.0.1:${await freePort()}`, JWT_SECRET: 'x'.repeat(32) });
    expect(code).toBe(1);
    expect(output.trim().split('\n')).toHaveLength(1);
    expect(output).toMatch(/^Could not start: the Redis Cluster at REDIS_CLUSTER_NODES did not answer/);
  }, 30_000);
});
