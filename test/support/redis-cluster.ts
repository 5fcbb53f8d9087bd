import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './net.js';

/** One redis-server of a test cluster. */
export interface ClusterNode {
  readonly port: number;
  readonly url: string;
  /** CLUSTER MYID. */
  readonly id: string;
  /** The role it was started with (a failover swaps roles; ask the node for the current one). */
  readonly startedAs: 'master' | 'replica';
  readonly process: ChildProcess;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** A short-lived connection to this node only (not cluster-aware); closed after `work`. */
  with<T>(work: (client: Redis) => Promise<T>): Promise<T>;
}

export interface RedisCluster {
  readonly nodes: readonly ClusterNode[];
  /** `host:port,...` of every node, as REDIS_CLUSTER_NODES takes it. */
  readonly seeds: string;
  /** The node serving `slot` as master now. */
  masterOf(slot: number): Promise<ClusterNode>;
  /** Waits until every live node reports cluster_state:ok and agrees on who serves every slot. */
  settled(timeoutMs?: number): Promise<void>;
  /** The slot of a key (CLUSTER KEYSLOT). */
  slotOf(key: string): Promise<number>;
  /** A live replica of `master`. */
  replicaOf(master: ClusterNode): Promise<ClusterNode>;
  /**
   * Moves a slot to another master as redis-cli --cluster reshard does: IMPORTING on the target,
   * MIGRATING on the source, MIGRATE of its keys in batches, then SETSLOT NODE on every master.
   */
  migrateSlot(slot: number, target: ClusterNode): Promise<void>;
  /** Kills every node and deletes their directories. */
  dispose(): Promise<void>;
}

export interface RedisClusterOptions {
  /** @default 3 */
  readonly masters?: number;
  /** @default 1 */
  readonly replicasPerMaster?: number;
  /**
   * Milliseconds before a silent master is failed over (cluster-node-timeout). Short in tests so
   * that a SIGKILLed master's replica takes over within a few seconds. @default 2000
   */
  readonly nodeTimeoutMs?: number;
}

const SLOTS = 16384;

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10000 > 65535 || taken.has(port)) continue;
    const bus = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port + 10000, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (bus) {
      taken.add(port);
      return port;
    }
  }
}

/**
 * A real Redis Cluster on local ports, started from the redis-server on PATH (the same binary as a
 * single Redis): each node with --cluster-enabled, slots spread over the masters with
 * CLUSTER ADDSLOTSRANGE, joined with CLUSTER MEET, replicas attached with CLUSTER REPLICATE.
 * About 2 s on two cores.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2000;
  const dir = await mkdtemp(join(tmpdir(), 'chat-test-cluster-'));
  const taken = new Set<number>();
  const nodes: ClusterNode[] = [];

  const connect = (port: number) => {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
    client.on('error', () => {});
    return client;
  };
  const withNode = async <T>(port: number, work: (client: Redis) => Promise<T>): Promise<T> => {
    const client = connect(port);
    try {
      await client.connect();
      return await work(client);
    } finally {
      client.disconnect();
    }
  };

  const launch = async (startedAs: 'master' | 'replica'): Promise<ClusterNode> => {
    const port = await freeClusterPort(taken);
    const child = spawn(
      'redis-server',
      [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
        '--cluster-node-timeout', String(nodeTimeoutMs),
        '--save', '', '--appendonly', 'no',
        // a replica's first sync starts at once (the default waits 5 s for more replicas to batch)
        '--repl-diskless-sync-delay', '0',
      ],
      { stdio: 'ignore' },
    );
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve());
    });
    await waitFor(
      () => withNode(port, async (c) => (await c.ping()) === 'PONG').catch(() => false),
      { timeoutMs: 10_000, what: `cluster node on port ${port}` },
    );
    const id = await withNode(port, (c) => c.call('CLUSTER', 'MYID') as Promise<string>);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      port,
      url: `redis://127.0.0.1:${port}`,
      id,
      startedAs,
      process: child,
      async kill() {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGCONT');
          child.kill('SIGKILL');
        }
        await exited;
      },
      with: (work) => withNode(port, work),
    };
  };

  const alive = () => nodes.filter((n) => n.process.exitCode === null && n.process.signalCode === null);

  const settled = async (timeoutMs = 20_000) => {
    await waitFor(
      async () => {
        const views = await Promise.all(
          alive().map((n) =>
            n
              .with(async (c) => {
                const info = String(await c.call('CLUSTER', 'INFO'));
                if (!/cluster_state:ok/.test(info)) return null;
                return JSON.stringify(await c.call('CLUSTER', 'SHARDS').catch(() => c.call('CLUSTER', 'SLOTS')));
              })
              .catch(() => null),
          ),
        );
        return views.length > 0 && views.every((v) => v !== null);
      },
      { timeoutMs, intervalMs: 100, what: 'the cluster to settle (cluster_state:ok on every live node)' },
    );
  };

  try {
    const masterNodes = await Promise.all(Array.from({ length: masters }, () => launch('master')));
    const replicaNodes = await Promise.all(Array.from({ length: masters * replicas }, () => launch('replica')));
    nodes.push(...masterNodes, ...replicaNodes);

    // slots in equal ranges, one per master
    await Promise.all(
      masterNodes.map((m, i) => {
        const from = Math.floor((SLOTS * i) / masters);
        const to = Math.floor((SLOTS * (i + 1)) / masters) - 1;
        return m.with((c) => c.call('CLUSTER', 'ADDSLOTSRANGE', String(from), String(to)));
      }),
    );
    // every node meets the first one; gossip spreads the rest
    const first = nodes[0]!;
    await Promise.all(nodes.slice(1).map((n) => n.with((c) => c.call('CLUSTER', 'MEET', '127.0.0.1', String(first.port)))));
    await waitFor(
      async () =>
        (
          await Promise.all(
            nodes.map((n) => n.with(async (c) => String(await c.call('CLUSTER', 'NODES')).trim().split('\n').length).catch(() => 0)),
          )
        ).every((count) => count === nodes.length),
      { timeoutMs: 15_000, intervalMs: 50, what: 'every cluster node to know every other' },
    );
    await Promise.all(
      replicaNodes.map((r, i) => r.with((c) => c.call('CLUSTER', 'REPLICATE', masterNodes[i % masters]!.id))),
    );
    // replicas attached and in sync, so that a failover in a test has someone to promote
    await waitFor(
      async () =>
        (
          await Promise.all(
            replicaNodes.map((r) => r.with(async (c) => /master_link_status:up/.test(String(await c.info('replication')))).catch(() => false)),
          )
        ).every(Boolean),
      { timeoutMs: 20_000, intervalMs: 100, what: 'replicas in sync with their masters' },
    );
    await settled();
  } catch (err) {
    await Promise.all(nodes.map((n) => n.kill()));
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

const masterOf = async (slot: number): Promise<ClusterNode> => {
    for (const n of alive()) {
      const ranges = (await n.with((c) => c.call('CLUSTER', 'SLOTS')).catch(() => null)) as [number, number, [string, number, string]][] | null;
      if (!ranges) continue;
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      const port = range?.[2][1];
      const node = nodes.find((x) => x.port === port);
      if (node) return node;
    }
    throw new Error(`no live node serves slot ${slot}`);
  };

  return {
    nodes,
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    masterOf,
    settled,
    async slotOf(key) {
      return Number(await alive()[0]!.with((c) => c.call('CLUSTER', 'KEYSLOT', key)));
    },
    async replicaOf(master) {
      // on a loaded machine a replica can be flagged `fail?` for a moment (node timeout 2 s): ask again
      let node: ClusterNode | undefined;
      await waitFor(
        async () => {
          const lines = String(await master.with((c) => c.call('CLUSTER', 'NODES'))).trim().split('\n');
          const replica = lines.map((l) => l.split(' ')).find((f) => f[3] === master.id && !f[2]!.includes('fail'));
          node = nodes.find((n) => n.id === replica?.[0]);
          return node !== undefined;
        },
        { timeoutMs: 15_000, intervalMs: 100, what: `a live replica of the master on port ${master.port}` },
      );
      return node!;
    },
    async migrateSlot(slot, target) {
      const source = await masterOf(slot);
      if (source === target) return;
      await target.with((c) => c.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', source.id));
      await source.with((c) => c.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', target.id));
      await source.with(async (c) => {
        for (;;) {
          const keys = (await c.call('CLUSTER', 'GETKEYSINSLOT', String(slot), '100')) as string[];
          if (keys.length === 0) break;
          await c.call('MIGRATE', '127.0.0.1', String(target.port), '', '0', '5000', 'KEYS', ...keys);
        }
      });
      const masters = (await Promise.all(alive().map(async (n) => ((await n.with((c) => c.call('ROLE')).catch(() => null)) as [string] | null)?.[0] === 'master' ? n : null))).filter(
        (n): n is ClusterNode => n !== null,
      );
      // the target first, then the source, then the others: the order redis-cli uses
      for (const n of [target, source, ...masters.filter((m) => m !== target && m !== source)]) {
        await n.with((c) => c.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', target.id));
      }
    },
    async dispose() {
      await Promise.all(nodes.map((n) => n.kill()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One cluster for a whole test file, started by the first test that asks for it: `get()` in the
 * file's suites, `dispose()` in an afterAll.
 */
export function sharedCluster(options: RedisClusterOptions = {}) {
  let started: Promise<RedisCluster> | null = null;
  return {
    get: () => (started ??= startRedisCluster(options)),
    async dispose() {
      if (started) await (await started.catch(() => null))?.dispose();
    },
  };
}
