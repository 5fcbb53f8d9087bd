import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './net.js';

const HOW_TO_GET_REDIS =
  'Tests need Redis 7: set REDIS_URL, run one on 127.0.0.1:6379, or put redis-server on PATH (Debian: apt-get install redis-server).';

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** REDIS_URL, else 127.0.0.1:6379, else a redis-server from PATH on a free port; else fails saying how to get Redis. */
export async function ensureRedisUrl(): Promise<{ url: string; stop: () => Promise<void> }> {
  const candidates = [process.env.REDIS_URL, 'redis://127.0.0.1:6379'].filter((u): u is string => !!u);
  for (const url of candidates) if (await answers(url)) return { url, stop: async () => {} };
  try {
    const server = await startRedisServer();
    return { url: server.url, stop: server.stop };
  } catch (err) {
    throw new Error(`${HOW_TO_GET_REDIS} (${err instanceof Error ? err.message : String(err)})`);
  }
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** SIGKILL: a crash, not a clean shutdown (a SIGSTOPped server is woken first so it dies). */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory (after stop); a persistent one reloads its data. */
  restart(): Promise<void>;
  /** Stops it and deletes its directory. */
  dispose(): Promise<void>;
}

/**
 * A private redis-server on a free port, for tests that stop, hang or restart Redis (never the
 * shared one). With `persist`, it keeps an append-only file in a temporary directory, so users,
 * rooms and logs survive a restart as in production; `fsync` as Redis's appendfsync (everysec, its
 * default and the compose files', can lose the last second or two of acknowledged writes to a
 * SIGKILL; always loses none).
 */
export async function startRedisServer(options: { persist?: boolean; fsync?: 'everysec' | 'always' } = {}): Promise<RedisServer> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const dir = await mkdtemp(join(tmpdir(), 'chat-test-redis-'));
  const persistence = options.persist ? ['--appendonly', 'yes', '--appendfsync', options.fsync ?? 'everysec'] : ['--appendonly', 'no'];
  let child: ChildProcess;
  const launch = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence], { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve());
    });
    await waitFor(() => answers(url), { timeoutMs: 10_000, what: `redis-server on port ${port}` });
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url,
    port,
    get process() {
      return child;
    },
    stop,
    async restart() {
      await stop();
      await launch();
    },
    async dispose() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A random key prefix for one test run; `cleanup` deletes every key under it. */
export function testPrefix(): { prefix: string; cleanup: (url: string) => Promise<void> } {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  return {
    prefix,
    async cleanup(url) {
      const client = new Redis(url);
      try {
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          cursor = next;
          if (keys.length) await client.unlink(...keys);
        } while (cursor !== '0');
      } finally {
        client.disconnect();
      }
    },
  };
}

/** What a key holds, whatever its type (for tests that compare or search storage). */
export async function keyValue(node: Pick<Redis, 'type' | 'xrange' | 'hgetall' | 'zrange' | 'lrange' | 'smembers' | 'get'>, key: string): Promise<unknown> {
  const type = await node.type(key);
  if (type === 'stream') return node.xrange(key, '-', '+');
  if (type === 'hash') return node.hgetall(key);
  if (type === 'zset') return node.zrange(key, 0, -1);
  if (type === 'list') return node.lrange(key, 0, -1);
  if (type === 'set') return node.smembers(key);
  return node.get(key);
}
