/** Readings: CPU time of the processes, Redis and the whole machine; memory after a forced GC; waiting for a target to go idle. */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { waitFor } from '../test/support/net.js';
import type { LoadClient } from './load-control.js';
import { collectGarbage, cpuNs, rssBytes, sleep } from './proc.js';
import { note, SETTINGS } from './settings.js';
import type { Target } from './targets.js';

export interface Sample {
  /** Per instance, ns. */
  readonly cpu: number[];
  readonly cpuSource: string;
  readonly client: number;
  readonly redisUs: number;
  /** This process (the senders). */
  readonly self: number;
  /** Busy CPU time of the whole machine, ns (NaN when /proc/stat is unreadable). */
  readonly machine: number;
  readonly extra: Record<string, number>;
}

/** Busy time of all CPUs from /proc/stat (user+nice+system+irq+softirq+steal), ns. */
function machineBusyNs(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = f;
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1e7; // USER_HZ = 100
  } catch {
    return NaN;
  }
}

async function redisCpuUs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const num = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return (num('used_cpu_sys') + num('used_cpu_user')) * 1e6;
}

export async function sample(target: Target, load: LoadClient, redis: Redis): Promise<Sample> {
  const readings = target.instances.map((i) => cpuNs(i.proc.pid));
  const extra: Record<string, number> = {};
  for (const inst of target.instances) {
    for (const [k, v] of Object.entries(await target.extra(inst).catch(() => ({}) as Record<string, number>))) extra[k] = (extra[k] ?? 0) + v;
  }
  return {
    cpu: readings.map((r) => r.ns),
    cpuSource: readings[0]!.source,
    client: cpuNs(load.proc.pid).ns,
    redisUs: await redisCpuUs(redis).catch(() => NaN),
    self: cpuNs(process.pid).ns,
    machine: machineBusyNs(),
    extra,
  };
}

/** What happened between two samples. */
export function between(before: Sample, after: Sample, seconds: number) {
  const cpu = after.cpu.reduce((s, v, i) => s + v - before.cpu[i]!, 0);
  const client = after.client - before.client;
  const redisNs = (after.redisUs - before.redisUs) * 1000;
  const extra: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.extra)) extra[k] = v - (before.extra[k] ?? 0);
  return {
    /** ns of the target's instances. */
    cpu,
    client,
    redisNs,
    /** Cores busy with work other than this benchmark's processes and Redis, on average. */
    otherCores: (after.machine - before.machine - cpu - client - (after.self - before.self) - redisNs) / 1e9 / seconds,
    extra,
  };
}

export interface MemorySnapshot {
  /** Sums over the instances, bytes: as found, then after a forced full GC. */
  readonly rss: number;
  readonly heap: number;
  readonly rssGc: number;
  readonly heapGc: number;
  readonly gc: boolean;
}

export async function memorySnapshot(target: Target): Promise<MemorySnapshot> {
  const read = async () => {
    let rss = 0;
    let heap = 0;
    for (const inst of target.instances) {
      rss += rssBytes(inst.proc.pid);
      heap += await target.heapUsed(inst);
    }
    return { rss, heap };
  };
  const plain = await read();
  let gc = SETTINGS.inspect;
  for (const inst of target.instances) gc = (await collectGarbage(await inst.proc.inspector)) && gc;
  await sleep(1000);
  const collected = await read();
  return { rss: plain.rss, heap: plain.heap, rssGc: collected.rss, heapGc: collected.heap, gc };
}

/**
 * Waits until the instances have dropped every socket of the previous run (and the reference
 * every subscription); after 15 s it says what is left and goes on.
 */
export async function settle(target: Target): Promise<void> {
  let left = '';
  try {
    await waitFor(
      async () => {
        try {
          const counts = await Promise.all(target.instances.map((inst) => target.counts(inst)));
          left = counts.map((c) => `${c.sockets} sockets, ${c.subscriptions} subscriptions`).join(' / ');
          return counts.every((c) => c.sockets === 0 && (!target.reference || c.subscriptions === 0));
        } catch {
          return false;
        }
      },
      { timeoutMs: 15_000, intervalMs: 100, what: `${target.kind} instances to drop every socket` },
    );
  } catch {
    note(`${target.kind}: instances still report ${left || 'nothing readable'} 15 s after the load client closed its sockets; going on`);
  }
}
