/**
 * `npm run bench`: fan-out benchmark of the chat server against a minimal reference broadcaster.
 *
 * Starts, on the Redis at REDIS_URL (default redis://127.0.0.1:6379) under a random key prefix
 * that is deleted at the end:
 *   - two server instances (`node dist/main.js`, built first with `npm run build`; if the build
 *     fails, `tsx src/main.ts`, and the header says so),
 *   - two instances of bench/reference-broadcaster.ts (ws + ioredis, graphql-ws frames by hand),
 *   - one load client process (bench/load-client.ts) holding every WebSocket,
 * each a separate process (the reference and the load client compiled to plain JS first, so that
 * every process is bare `node`). This process only orchestrates and sends the messages over HTTP.
 * Server and reference processes listen on an inspector (127.0.0.1, random port) so that a full
 * GC can be forced before each memory reading; it costs nothing measurable while detached.
 *
 * The documents are the ones clients send (bench/documents.ts): `basic` (messageAdded(room), a
 * fixed selection), `resume` (the typed client's messageAdded(room, after) with `mine`) and
 * `roomEvents` (the web page's roomEvents(room, after)); resuming subscribers each resume from a
 * cursor of their own among the room's last ten messages. Every socket is a distinct user.
 *
 * Scenarios (each against the server, then the reference, in the same run):
 *   1. one room, 500 subscribers, a fixed rate (50 msg/s = 25,000 deliveries/s, below what the
 *      server sustains on 2 cores, so that its latency means something), the first document;
 *   2. 100 rooms x 10 subscribers, a fixed rate spread over the rooms, each document;
 *   3. one room, 200 subscribers, as fast as 8 concurrent senders go (a fixed count), each document;
 *   4. idle connections with the web page's subscriptions (roomEvents, typing and presenceChanged
 *      of its open room, a light messageAdded per other room): memory per connection and subscription;
 *   5. 200 subscribers connecting and subscribing to one room at once, each document: the time
 *      until the last one receives live messages.
 * Server CPU per delivery is the CPU time of the two instance processes over the scenario window
 * (first send until the last delivery arrived) divided by the deliveries, the cost of the sends
 * included; at a fixed rate deliveries/s is the offered load (printed in parentheses), not a
 * capacity. Memory is the growth of RSS (and V8 heap used) of the instances, each read after a
 * forced GC, divided by the connections (and subscriptions) opened.
 *
 * Knobs (env): BENCH_S1_RATE (50 msg/s), BENCH_S2_RATE (400 msg/s), BENCH_SECONDS (5),
 * BENCH_S3_COUNT (1000 messages), BENCH_S3_SENDERS (8), BENCH_IDLE (1000 connections),
 * BENCH_CONNECT (200 subscribers), BENCH_ONLY (scenarios, e.g. `3,5`), BENCH_DOCS (documents,
 * e.g. `basic,roomEvents`), BENCH_TIMEOUT (290 s for the whole run; 420 with a baseline),
 * BENCH_PROFILE=<1|2|3>[:<document>] (then an extra, unmeasured run of that scenario with the CPU
 * profiler on instance 1 of each target, summarised), BENCH_NO_INSPECT=1 (no inspector, so no
 * forced GC), BENCH_BASELINE=<git revision or path to a built main.js> (that server as a third
 * target, `baseline`: before and after in one run).
 *
 * `npm run bench -- --cluster` runs bench/cluster.ts instead: the server on a local Redis Cluster,
 * and how room channels and appends spread over its shards.
 */
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { buildBaseline, buildBench, buildServer } from './build.js';
import { DOCUMENTS, type BenchDocument } from './documents.js';
import { closeHttp } from './http.js';
import { LoadClient } from './load-control.js';
import { settle } from './measure.js';
import { cpuNs, killAllNow, startProc, stopAll } from './proc.js';
import { machineInfo, openFileLimit, printConnect, printDelivery, printMemory, printSummary } from './report.js';
import {
  profileScenario,
  runConnect,
  runDelivery,
  runMemory,
  WATCHED,
  type ConnectResult,
  type DeliveryResult,
  type DeliverySpec,
  type MemoryResult,
} from './scenarios.js';
import { note, PREFIX, REDIS_URL, say, SETTINGS, TAG } from './settings.js';
import type { CloseReply } from './shared.js';
import { startReferenceTarget, startServerTarget, type Target } from './targets.js';

/** Scenario 5 runs each document on each target this many times (the median is printed). */
const CONNECT_ROUNDS = 5;

/** Failed scenario runs: reported, and the run goes on with the next (the exit code says so at the end). */
const failures: string[] = [];

async function attempt<T>(what: string, target: Target, load: LoadClient, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    failures.push(`${what}: ${message}`);
    say(`\n${what}: FAILED: ${message}`);
    await load.call<CloseReply>({ cmd: 'close', timeoutMs: 3000 }, 20_000).catch(() => {});
    await settle(target);
    return undefined;
  }
}

function deliverySpec(n: 1 | 2 | 3, document: BenchDocument): DeliverySpec {
  switch (n) {
    case 1:
      return {
        scenario: 1,
        title: `Scenario 1: one room, 500 subscribers, ${SETTINGS.s1Rate} msg/s for ${SETTINGS.seconds} s`,
        rooms: [`s1-${TAG}-${document.name}`],
        perRoom: 500,
        document,
        mode: { kind: 'rate', rate: SETTINGS.s1Rate, seconds: SETTINGS.seconds },
        warmup: 50,
      };
    case 2:
      return {
        scenario: 2,
        title: `Scenario 2: 100 rooms x 10 subscribers, ${SETTINGS.s2Rate} msg/s spread over the rooms for ${SETTINGS.seconds} s`,
        rooms: Array.from({ length: 100 }, (_, i) => `s2-${TAG}-${document.name}-${i}`),
        perRoom: 10,
        document,
        mode: { kind: 'rate', rate: SETTINGS.s2Rate, seconds: SETTINGS.seconds },
        warmup: 200,
      };
    case 3:
      return {
        scenario: 3,
        title: `Scenario 3: one room, 200 subscribers, maximum rate (${SETTINGS.s3Count} messages, ${SETTINGS.s3Senders} concurrent senders)`,
        rooms: [`s3-${TAG}-${document.name}`],
        perRoom: 200,
        document,
        mode: { kind: 'max', count: SETTINGS.s3Count, senders: SETTINGS.s3Senders },
        warmup: 50,
      };
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--cluster')) {
    await (await import('./cluster.js')).runClusterBench();
    return;
  }
  say('Fan-out benchmark: chat server vs. minimal reference broadcaster');
  for (const l of machineInfo()) say(l);

  const idleSockets = SETTINGS.only.includes(4) ? SETTINGS.idle : 0;
  const maxSockets = Math.max(idleSockets, 1000, SETTINGS.connect);
  const limit = openFileLimit();
  say(`ulimit -n: ${limit} (the load client holds up to ${maxSockets} sockets at once)`);
  if (limit < maxSockets + 200) {
    throw new Error(`ulimit -n is ${limit}: the load client needs about ${maxSockets + 200} descriptors. Raise it (e.g. \`ulimit -n 8192\`) and run again.`);
  }

  note('building (npm run build) and compiling bench/ ...');
  const server = buildServer();
  const baseline = SETTINGS.baseline ? buildBaseline(SETTINGS.baseline) : undefined;
  const benchDir = buildBench();

  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
  say(`redis:    ${REDIS_URL.replace(/\/\/[^@]*@/, '//***@')} (Redis ${redisVersion}), key prefix ${PREFIX} (deleted at the end)`);
  say(`server:   2 instances, ${server.how}, NODE_ENV=production, rate limits off`);
  if (baseline) say(`baseline: 2 instances, ${baseline.how}`);
  say(`reference: 2 instances of bench/reference-broadcaster.ts (ws + ioredis, no GraphQL); load client: 1 process (ws)`);
  say(`documents: ${SETTINGS.documents.map((d) => `${d} = ${DOCUMENTS[d].label}`).join('; ')}`);
  const cpuProbe = cpuNs(process.pid);
  say(
    `CPU time from /proc/<pid>/${cpuProbe.source === 'schedstat' ? 'task/*/schedstat (ns, all threads)' : 'stat utime+stime (10 ms ticks)'}; ` +
      `latency = receive time - send time stamped into the text (CLOCK_MONOTONIC)`,
  );

  try {
    note(`starting 2 servers${baseline ? ', 2 baseline servers' : ''}, 2 references and the load client ...`);
    // a target that does not start is reported and left out; the others still run
    const started = async <T>(what: string, start: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await start();
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        failures.push(`starting ${what}: ${message.split('\n')[0]}`);
        say(`\nstarting ${what}: FAILED: ${message}`);
        return undefined;
      }
    };
    const [serverT, baseT, refT] = await Promise.all([
      started('the server', () => startServerTarget('server', server.args, PREFIX, maxSockets)),
      baseline ? started('the baseline', () => startServerTarget('baseline', baseline.args, `${PREFIX}base:`, maxSockets)) : undefined,
      started('the reference', () => startReferenceTarget(benchDir, maxSockets)),
    ]);
    const targets = [serverT, baseT, refT].filter((t): t is Target => t !== undefined);
    if (targets.length === 0) throw new Error('no target started');
    const load = new LoadClient(startProc('load client', [join(benchDir, 'load-client.js')], {}));

    for (const n of [1, 2, 3] as const) {
      if (!SETTINGS.only.includes(n)) continue;
      // scenario 1 is about latency at a moderate load: the first document only
      for (const name of n === 1 ? SETTINGS.documents.slice(0, 1) : SETTINGS.documents) {
        const spec = deliverySpec(n, DOCUMENTS[name]);
        const results: DeliveryResult[] = [];
        for (const t of targets) {
          const r = await attempt(`scenario ${n} ${name} ${t.kind}`, t, load, () => runDelivery(spec, t, load, redis));
          if (r) results.push(r);
        }
        printDelivery(results);
      }
    }
    if (SETTINGS.only.includes(4)) {
      const rooms = Array.from({ length: 20 }, (_, i) => `s4-${TAG}-${i}`);
      const results: MemoryResult[] = [];
      for (const t of targets) {
        const r = await attempt(`scenario 4 ${t.kind}`, t, load, () => runMemory(rooms, SETTINGS.idle, t, load));
        if (r) results.push(r);
      }
      printMemory(
        `Scenario 4: ${SETTINGS.idle} idle connections (20 rooms), each with the web page's subscriptions: roomEvents, typing and presenceChanged of its open room, messageAdded { id room } of ${WATCHED} other rooms`,
        results,
      );
    }
    if (SETTINGS.only.includes(5)) {
      // short runs, easily disturbed: rounds of every document and target in turn, the median counts
      const results: ConnectResult[] = [];
      for (let round = 1; round <= CONNECT_ROUNDS; round++) {
        for (const name of SETTINGS.documents) {
          for (const t of targets) {
            const r = await attempt(`scenario 5 ${name} ${t.kind}`, t, load, () => runConnect(DOCUMENTS[name], SETTINGS.connect, round, t, load));
            if (r) results.push(r);
          }
        }
      }
      printConnect(SETTINGS.connect, CONNECT_ROUNDS, results);
    }
    printSummary();
    if (failures.length > 0) say(`\n${failures.length} scenario run(s) failed:\n  ${failures.join('\n  ')}`);

    const profile = SETTINGS.profile;
    if (profile) {
      const spec = deliverySpec(profile.scenario, DOCUMENTS[profile.document]);
      for (const t of targets) {
        await attempt(`profile ${t.kind}`, t, load, () =>
          profileScenario({ ...spec, rooms: spec.rooms.map((r) => `p-${r}-${t.kind}`) }, t, load, redis),
        );
      }
    }
    await load.call({ cmd: 'exit' }, 5000).catch(() => {});
  } finally {
    note('stopping processes and deleting the keys ...');
    await stopAll(5000);
    const deleted = await deleteKeys(redis).catch((err: unknown) => {
      note(`could not delete keys under ${PREFIX}: ${String(err)}`);
      return 0;
    });
    note(`deleted ${deleted} keys under ${PREFIX}`);
    redis.disconnect();
    closeHttp();
  }
  say(`\ntotal time ${process.uptime().toFixed(0)} s`);
  if (failures.length > 0) process.exitCode = 1;
}

async function deleteKeys(redis: Redis): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

let exiting = false;
const abort = async (why: string, code: number) => {
  if (exiting) return;
  exiting = true;
  process.stderr.write(`\nbench: ${why}\n`);
  printSummary();
  await stopAll(3000).catch(() => {});
  // the keys: best effort from a fresh connection
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r
    .connect()
    .then(() => deleteKeys(r))
    .catch(() => {});
  r.disconnect();
  process.exit(code);
};
process.on('exit', killAllNow);
process.on('SIGINT', () => void abort('interrupted', 130));
process.on('SIGTERM', () => void abort('terminated', 143));
const deadline = setTimeout(() => void abort(`over the time bound (BENCH_TIMEOUT=${SETTINGS.timeoutS} s): stopping`, 2), SETTINGS.timeoutS * 1000);
deadline.unref();

main().then(
  () => {
    clearTimeout(deadline);
    process.exit(process.exitCode ?? 0);
  },
  (err: unknown) => {
    process.stderr.write(`\nbench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
    // main's finally has run: whatever is left is killed on exit
    process.exit(1);
  },
);
