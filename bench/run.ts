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
 * Scenarios (each against the server, then the reference, in the same run):
 *   1. one room, 500 subscribers, a fixed rate (50 msg/s = 25,000 deliveries/s: below what the
 *      server sustains on 2 cores, so that its latency means something);
 *   2. 100 rooms x 10 subscribers, a fixed rate spread over the rooms;
 *   3. one room, 200 subscribers, as fast as 8 concurrent senders go (a fixed count);
 *   4. 2000 idle subscribed connections: memory per connection.
 * Server CPU per delivery is the CPU time of the two instance processes over the scenario window
 * (first send until the last delivery arrived) divided by the deliveries, the cost of the sends
 * included; memory per connection is the growth of RSS (and V8 heap used) of the instances, each
 * read after a forced GC, divided by the connections opened.
 *
 * Knobs (env): BENCH_S1_RATE (50 msg/s), BENCH_S2_RATE (400 msg/s), BENCH_SECONDS (5),
 * BENCH_S3_COUNT (1000 messages), BENCH_S3_SENDERS (8), BENCH_IDLE (2000 connections),
 * BENCH_ONLY (e.g. `1,4`), BENCH_TIMEOUT (280 s for the whole run; 420 with a baseline),
 * BENCH_PROFILE=1 or 3 (then extra, unmeasured runs of scenario 1 or 3 with the CPU profiler on instance 1
 * of each target, summarised), BENCH_NO_INSPECT=1 (no inspector, so no forced GC),
 * BENCH_BASELINE=<git revision or path to a built main.js> (that server as a third target,
 * `baseline`: before and after in one run).
 *
 * `npm run bench -- --cluster` runs bench/cluster.ts instead: the server on a local Redis Cluster,
 * and how room channels and appends spread over its shards.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import {
  Cdp,
  collectGarbage,
  cpuNs,
  freePort,
  killAllNow,
  rssBytes,
  PendingCalls,
  sleep,
  startProc,
  stopAll,
  summariseProfile,
  type CpuProfile,
  type Proc,
} from './proc.js';
import {
  nowNs,
  PROBE_PREFIX,
  stampText,
  SUBSCRIPTION,
  type CloseReply,
  type FinishReply,
  type LoadCommand,
  type OpenReply,
  type ProbeReply,
  type SocketGroup,
} from './shared.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BENCH = join(ROOT, 'bench');
const envNum = (name: string, dflt: number) => {
  const v = process.env[name];
  const n = v === undefined || v === '' ? dflt : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number, got ${v}`);
  return n;
};
const SETTINGS = {
  s1Rate: envNum('BENCH_S1_RATE', 50),
  s2Rate: envNum('BENCH_S2_RATE', 400),
  seconds: envNum('BENCH_SECONDS', 5),
  s3Count: envNum('BENCH_S3_COUNT', 1000),
  s3Senders: envNum('BENCH_S3_SENDERS', 8),
  idle: envNum('BENCH_IDLE', 2000),
  timeoutS: envNum('BENCH_TIMEOUT', process.env.BENCH_BASELINE ? 420 : 280),
  only: (process.env.BENCH_ONLY ?? '1,2,3,4').split(',').map((s) => Number(s.trim())),
  profile: ['1', '3'].includes(process.env.BENCH_PROFILE ?? ''),
  /** BENCH_PROFILE=3 profiles scenario 3 (the maximum rate) instead of 1. */
  profileScenario: (process.env.BENCH_PROFILE === '3' ? 3 : 1) as 1 | 3,
  inspect: process.env.BENCH_NO_INSPECT !== '1',
  baseline: process.env.BENCH_BASELINE || undefined,
};
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const TAG = randomBytes(3).toString('hex');
const PREFIX = `bench-${TAG}:`;
const JWT_SECRET = randomBytes(32).toString('hex');
const startedAt = Date.now();
const say = (s = ''): void => void process.stdout.write(`${s}\n`);
const note = (s: string) => process.stderr.write(`[bench +${((Date.now() - startedAt) / 1000).toFixed(1)}s] ${s}\n`);

// ---------------------------------------------------------------- HTTP

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

function post(url: string, body: string, headers: Record<string, string> = {}, timeoutMs = 15_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`POST ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function get(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}

async function gql<T>(base: string, query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
  const res = await post(`${base}/graphql`, JSON.stringify({ query, variables }), token ? { authorization: `Bearer ${token}` } : {});
  const json = JSON.parse(res.body) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  if (!json.data || json.errors?.length) {
    const err = new Error(`GraphQL ${res.status}: ${JSON.stringify(json.errors ?? json).slice(0, 300)}`) as Error & { code?: string };
    err.code = json.errors?.[0]?.extensions?.code;
    throw err;
  }
  return json.data;
}

/** Waits until `check` is true, polling every intervalMs, failing after timeoutMs (for states that send no event). */
async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = await check();
    } catch {
      ok = false;
    }
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Runs `fn` over `items` with at most `limit` at once. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

// ---------------------------------------------------------------- load client

/** A load-client command without its correlation number (each member of the union on its own). */
type WithoutRe<C> = C extends { re: number } ? Omit<C, 're'> : never;

class LoadClient {
  private readonly pending = new PendingCalls();
  constructor(readonly proc: Proc) {
    createInterface({ input: proc.child.stdout! }).on('line', (line) => {
      let msg: { re?: number; ok?: boolean; error?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.re === undefined) return;
      this.pending.settle(msg.re, msg.ok ? { value: msg } : { error: new Error(`load client: ${msg.error}`) });
    });
    void proc.exited.then(({ code, signal }) =>
      this.pending.failAll(new Error(`load client exited (${code ?? signal}): ${proc.output().slice(-1500)}`)),
    );
  }

  call<T>(cmd: WithoutRe<LoadCommand>, timeoutMs: number): Promise<T> {
    return this.pending.call<T>(
      (re) => this.proc.child.stdin!.write(`${JSON.stringify({ ...cmd, re })}\n`),
      timeoutMs,
      `load client: no answer to ${cmd.cmd} within ${timeoutMs} ms`,
    );
  }
}

// ---------------------------------------------------------------- targets

interface Instance {
  readonly proc: Proc;
  readonly base: string;
  readonly wsUrl: string;
}

interface Target {
  /** `server`, `baseline` (BENCH_BASELINE) or `reference`. */
  readonly kind: string;
  readonly reference: boolean;
  readonly instances: readonly Instance[];
  prepareRooms(names: readonly string[]): Promise<void>;
  subscriberToken(i: number): string;
  /** Sends `text` into `room` through instance `i`; resolves with the message id. */
  send(i: number, room: string, text: string, k: number): Promise<string>;
  counts(inst: Instance): Promise<{ sockets: number; subscriptions: number }>;
  heapUsed(inst: Instance): Promise<number>;
  /** Extra counters worth printing (the server's shared-execution metrics, when it has them). */
  extra(inst: Instance): Promise<Record<string, number>>;
}

const metricOf = (text: string, name: string): number | undefined => {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

const SEND = 'mutation($r: String!, $t: String!) { sendMessage(room: $r, text: $t) { id } }';

function serverTarget(kind: string, instances: Instance[], senders: string[], subscribers: string[]): Target {
  const metrics = async (inst: Instance) => (await get(`${inst.base}/metrics`)).body;
  return {
    kind,
    reference: false,
    instances,
    async prepareRooms(names) {
      await pool(names, 8, async (name) => {
        try {
          await gql(instances[0]!.base, 'mutation($n: String!) { createRoom(name: $n) { name } }', { n: name }, senders[0]);
        } catch (err) {
          if ((err as { code?: string }).code !== 'CONFLICT') throw err;
        }
      });
    },
    subscriberToken: (i) => subscribers[i % subscribers.length]!,
    async send(i, room, text, k) {
      const res = await post(`${instances[i]!.base}/graphql`, JSON.stringify({ query: SEND, variables: { r: room, t: text } }), {
        authorization: `Bearer ${senders[k % senders.length]}`,
      });
      const json = JSON.parse(res.body) as { data?: { sendMessage?: { id?: string } }; errors?: unknown };
      const id = json.data?.sendMessage?.id;
      if (typeof id !== 'string') throw new Error(`sendMessage ${res.status}: ${res.body.slice(0, 200)}`);
      return id;
    },
    async counts(inst) {
      const text = await metrics(inst);
      return { sockets: metricOf(text, 'chat_open_sockets') ?? NaN, subscriptions: metricOf(text, 'chat_active_subscriptions') ?? NaN };
    },
    async heapUsed(inst) {
      return metricOf(await metrics(inst), 'chat_nodejs_heap_size_used_bytes') ?? NaN;
    },
    async extra(inst) {
      const text = await metrics(inst);
      const out: Record<string, number> = {};
      const e = metricOf(text, 'chat_shared_executions_total');
      const d = metricOf(text, 'chat_shared_deliveries_total');
      if (e !== undefined) out['shared executions'] = e;
      if (d !== undefined) out['shared deliveries'] = d;
      return out;
    },
  };
}

function referenceTarget(instances: Instance[]): Target {
  const mem = async (inst: Instance) =>
    JSON.parse((await get(`${inst.base}/mem`)).body) as { heapUsed: number; sockets: number; subscriptions: number };
  return {
    kind: 'reference',
    reference: true,
    instances,
    prepareRooms: async () => {},
    subscriberToken: () => 'reference-token',
    async send(i, room, text) {
      const res = await post(`${instances[i]!.base}/send`, JSON.stringify({ room, text }));
      const id = (JSON.parse(res.body) as { id?: unknown }).id;
      if (res.status !== 200 || typeof id !== 'string') throw new Error(`/send ${res.status}: ${res.body.slice(0, 200)}`);
      return id;
    },
    async counts(inst) {
      const m = await mem(inst);
      return { sockets: m.sockets, subscriptions: m.subscriptions };
    },
    heapUsed: async (inst) => (await mem(inst)).heapUsed,
    extra: async () => ({}),
  };
}

// ---------------------------------------------------------------- measurements

interface Sample {
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

async function sample(target: Target, load: LoadClient, redis: Redis): Promise<Sample> {
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

/**
 * Waits until the instances have dropped every socket of the previous run (and the reference
 * every subscription); after 15 s it says what is left and goes on.
 */
async function settle(target: Target): Promise<void> {
  let left = '';
  try {
    await waitUntil(
      `${target.kind} instances to drop every socket`,
      async () => {
        const counts = await Promise.all(target.instances.map((inst) => target.counts(inst)));
        left = counts.map((c) => `${c.sockets} sockets, ${c.subscriptions} subscriptions`).join(' / ');
        return counts.every((c) => c.sockets === 0 && (!target.reference || c.subscriptions === 0));
      },
      15_000,
      100,
    );
  } catch {
    note(`${target.kind}: instances still report ${left || 'nothing readable'} 15 s after the load client closed its sockets; going on`);
  }
}

// ---------------------------------------------------------------- scenarios

interface DeliverySpec {
  readonly title: string;
  readonly rooms: readonly string[];
  readonly perRoom: number;
  readonly mode: { readonly kind: 'rate'; readonly rate: number; readonly seconds: number } | { readonly kind: 'max'; readonly count: number; readonly senders: number };
  readonly warmup: number;
}

interface DeliveryResult {
  readonly kind: string;
  readonly open: OpenReply;
  readonly probe: ProbeReply;
  readonly sent: number;
  readonly sendErrors: number;
  readonly firstSendError?: string;
  readonly sendSeconds: number;
  readonly windowSeconds: number;
  readonly finish: FinishReply;
  readonly deliveriesPerSecond: number;
  readonly cpuUsPerDelivery: number;
  readonly cores: number;
  readonly clientUsPerDelivery: number;
  readonly redisUsPerDelivery: number;
  /** Cores busy with work other than this benchmark's processes and Redis, on average over the window. */
  readonly otherCores: number;
  readonly cpuSource: string;
  readonly extra: Record<string, number>;
}

async function openSockets(load: LoadClient, target: Target, rooms: readonly string[], perRoom: number): Promise<OpenReply> {
  const groups: SocketGroup[] = [];
  let n = 0;
  rooms.forEach((room, r) => {
    // spread over the instances: each room has subscribers on both
    const counts = target.instances.map(() => 0);
    for (let j = 0; j < perRoom; j++) counts[(j + r) % counts.length]!++;
    counts.forEach((count, i) => {
      if (count > 0) groups.push({ url: target.instances[i]!.wsUrl, token: target.subscriberToken(n++), room, count });
    });
  });
  const total = rooms.length * perRoom;
  const open = await load.call<OpenReply>({ cmd: 'open', groups, query: SUBSCRIPTION, timeoutMs: 15_000 }, 60_000 + total * 20);
  if (open.failed > 0) note(`${target.kind}: ${open.failed} of ${total} sockets failed to open (first error: ${open.firstError})`);
  return open;
}

/**
 * Sends `warmup` unmeasured messages (probe-prefixed: never counted), then probe rounds until
 * every open subscriber saw the probe of its room: their subscriptions are live and everything
 * sent before has arrived.
 */
async function warmAndProbe(load: LoadClient, target: Target, rooms: readonly string[], warmup: number): Promise<ProbeReply> {
  if (warmup > 0) {
    await pool(
      Array.from({ length: warmup }, (_, k) => k),
      8,
      async (k) => {
        await target.send(k % 2, rooms[k % rooms.length]!, `${PROBE_PREFIX}warm ${k}`, k).catch(() => {});
      },
    );
  }
  let last: ProbeReply = { missing: NaN, ended: 0 };
  for (let round = 0; round < 4; round++) {
    const token = `${TAG}-${round}-${randomBytes(3).toString('hex')}`;
    const reply = load.call<ProbeReply>({ cmd: 'probe', token, timeoutMs: 5000 }, 20_000);
    let sendError: unknown;
    await pool(rooms, 16, async (room, r) => {
      await target.send(r % 2, room, PROBE_PREFIX + token, r).catch((err: unknown) => (sendError ??= err));
    });
    if (sendError) note(`${target.kind}: a probe could not be sent: ${sendError instanceof Error ? sendError.message : String(sendError)}`);
    last = await reply;
    if (last.missing === 0) break;
    note(`${target.kind}: ${last.missing} subscribers missed probe round ${round + 1}${round < 3 ? '; probing again' : ''}`);
  }
  if (last.ended > 0) note(`${target.kind}: ${last.ended} subscriptions were ended by the peer before the run; first: ${last.firstEnd}`);
  return last;
}

/** Called around the measured window only (after the sockets are open and warmed, before they close). */
interface WindowHooks {
  opened(): Promise<void>;
  done(): Promise<void>;
}

async function runDelivery(spec: DeliverySpec, target: Target, load: LoadClient, redis: Redis, hooks?: WindowHooks): Promise<DeliveryResult> {
  note(`${spec.title}: ${target.kind}`);
  await target.prepareRooms(spec.rooms);
  const open = await openSockets(load, target, spec.rooms, spec.perRoom);
  const probe = await warmAndProbe(load, target, spec.rooms, spec.warmup);

  const expected: Record<string, string[]> = {};
  for (const room of spec.rooms) expected[room] = [];
  let sendErrors = 0;
  let firstSendError: string | undefined;
  const sendOne = async (k: number) => {
    const room = spec.rooms[k % spec.rooms.length]!;
    // alternate instances, and within a room too
    const inst = (k + Math.floor(k / spec.rooms.length)) % target.instances.length;
    try {
      expected[room]!.push(await target.send(inst, room, stampText(k), k));
    } catch (err) {
      sendErrors++;
      firstSendError ??= err instanceof Error ? err.message : String(err);
    }
  };

  await hooks?.opened();
  await load.call({ cmd: 'start' }, 10_000);
  const before = await sample(target, load, redis);
  const t0 = nowNs();
  let sent = 0;
  if (spec.mode.kind === 'rate') {
    // open loop: message k leaves at t0 + k/rate whatever the answers do (up to 512 in flight)
    const { rate, seconds } = spec.mode;
    const n = Math.round(rate * seconds);
    const inflight = new Set<Promise<void>>();
    const startMs = performance.now();
    for (let k = 0; k < n; k++) {
      const wait = startMs + (k * 1000) / rate - performance.now();
      if (wait >= 1) await sleep(wait);
      while (inflight.size >= 512) await Promise.race(inflight);
      const p: Promise<void> = sendOne(k).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.all(inflight);
    sent = n;
  } else {
    const { count, senders } = spec.mode;
    let k = 0;
    await Promise.all(
      Array.from({ length: senders }, async () => {
        while (k < count) await sendOne(k++);
      }),
    );
    sent = count;
  }
  const sendSeconds = (nowNs() - t0) / 1e9;
  const finish = await load.call<FinishReply>({ cmd: 'finish', expected, idleMs: 3000, timeoutMs: 30_000 }, 60_000);
  const after = await sample(target, load, redis);
  const windowSeconds = (nowNs() - t0) / 1e9;
  await hooks?.done();

  const cpu = after.cpu.reduce((s, v, i) => s + v - before.cpu[i]!, 0);
  const d = finish.deliveries;
  const activeSeconds = Number.isFinite(finish.lastNs) ? (finish.lastNs - t0) / 1e9 : windowSeconds;
  const extra: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.extra)) extra[k] = v - (before.extra[k] ?? 0);

  await load.call<CloseReply>({ cmd: 'close', timeoutMs: 5000 }, 30_000);
  await settle(target);
  return {
    kind: target.kind,
    open,
    probe,
    sent,
    sendErrors,
    ...(firstSendError === undefined ? {} : { firstSendError }),
    sendSeconds,
    windowSeconds,
    finish,
    deliveriesPerSecond: d / activeSeconds,
    cpuUsPerDelivery: cpu / 1000 / d,
    cores: cpu / 1e9 / windowSeconds,
    clientUsPerDelivery: (after.client - before.client) / 1000 / d,
    redisUsPerDelivery: (after.redisUs - before.redisUs) / d,
    otherCores:
      (after.machine - before.machine - cpu - (after.client - before.client) - (after.self - before.self) - (after.redisUs - before.redisUs) * 1000) /
      1e9 /
      windowSeconds,
    cpuSource: before.cpuSource,
    extra,
  };
}

interface MemoryResult {
  readonly kind: string;
  readonly open: OpenReply;
  readonly probe: ProbeReply;
  readonly before: MemorySnapshot;
  readonly after: MemorySnapshot;
  /** Bytes per connection, after a forced GC (when possible). */
  readonly rssPerConn: number;
  readonly heapPerConn: number;
  /** Bytes per connection from a collected start to the state after the settle, before forcing a GC (garbage included). */
  readonly rssPerConnNoGc: number;
  readonly heapPerConnNoGc: number;
}

interface MemorySnapshot {
  /** Sums over the instances, bytes: as found after the settle, then after a forced full GC. */
  readonly rss: number;
  readonly heap: number;
  readonly rssGc: number;
  readonly heapGc: number;
  readonly gc: boolean;
}

async function memorySnapshot(target: Target): Promise<MemorySnapshot> {
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

async function runMemory(rooms: readonly string[], total: number, target: Target, load: LoadClient): Promise<MemoryResult> {
  note(`scenario 4: ${target.kind}`);
  await target.prepareRooms(rooms);
  await settle(target);
  const before = await memorySnapshot(target);
  const open = await openSockets(load, target, rooms, Math.ceil(total / rooms.length));
  const probe = await warmAndProbe(load, target, rooms, 0);
  await sleep(2000);
  const after = await memorySnapshot(target);
  await load.call<CloseReply>({ cmd: 'close', timeoutMs: 5000 }, 60_000);
  await settle(target);
  const n = open.opened;
  return {
    kind: target.kind,
    open,
    probe,
    before,
    after,
    rssPerConn: (after.rssGc - before.rssGc) / n,
    heapPerConn: (after.heapGc - before.heapGc) / n,
    // from a clean start (after GC) to the state found after the settle, garbage included
    rssPerConnNoGc: (after.rss - before.rssGc) / n,
    heapPerConnNoGc: (after.heap - before.heapGc) / n,
  };
}

// ---------------------------------------------------------------- output

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const ratio = (a: number, b: number, digits = 2) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(digits)}x` : '-');

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const HEADER = ['', 'deliveries/s', 'lost', 'duplicate', 'out-of-order', 'p50 ms', 'p99 ms', 'CPU µs/delivery', 'mem KB/idle conn'];

function deliveryRow(r: DeliveryResult): string[] {
  const f = r.finish;
  return [r.kind, int(r.deliveriesPerSecond), int(f.lost), int(f.duplicate), int(f.outOfOrder), fmt(f.latencyMs.p50), fmt(f.latencyMs.p99), fmt(r.cpuUsPerDelivery), '-'];
}

function deliveryRatioRow(label: string, s: DeliveryResult, ref: DeliveryResult): string[] {
  return [
    label,
    ratio(s.deliveriesPerSecond, ref.deliveriesPerSecond),
    '',
    '',
    '',
    ratio(s.finish.latencyMs.p50, ref.finish.latencyMs.p50),
    ratio(s.finish.latencyMs.p99, ref.finish.latencyMs.p99),
    ratio(s.cpuUsPerDelivery, ref.cpuUsPerDelivery),
    '',
  ];
}

/** The scenario's table (one row per target, then each target's ratio to the reference); the ratios go to the summary too. */
function printDelivery(n: number, spec: DeliverySpec, results: readonly DeliveryResult[]): void {
  say(`\n${spec.title}`);
  const ref = results.find((r) => r.kind === 'reference');
  const others = results.filter((r) => r !== ref);
  const rows = results.map(deliveryRow);
  if (ref) for (const r of others) rows.push(deliveryRatioRow(`${r.kind}/reference`, r, ref));
  say(table(HEADER, rows));
  if (ref) for (const r of others) summary.push(deliveryRatioRow(`${n} ${r.kind}/ref`, r, ref).map((c, i) => (i === 5 || i === 6 ? '' : c)));
  for (const r of results) {
    const f = r.finish;
    const extras = Object.entries(r.extra)
      .map(([k, v]) => `${k} ${int(v)}`)
      .join(', ');
    say(
      `  ${r.kind}: ${int(r.open.opened)} subscribers${r.open.failed ? ` (${r.open.failed} failed to open)` : ''}, ` +
        `${int(r.sent)} messages sent in ${fmt(r.sendSeconds, 2)} s (${int(r.sent / r.sendSeconds)}/s)` +
        `${r.sendErrors ? `, ${r.sendErrors} send errors (${r.firstSendError})` : ''}; ` +
        `${int(f.deliveries)} deliveries, last ${fmt(Number.isFinite(f.lastNs) ? (f.lastNs - f.firstNs) / 1e9 : NaN, 2)} s after the first; ` +
        `latency max ${fmt(f.latencyMs.max)} ms; instances used ${fmt(r.cores, 2)} cores over ${fmt(r.windowSeconds, 2)} s; ` +
        `load client ${fmt(r.clientUsPerDelivery)} µs/delivery; Redis (all of it) ${fmt(r.redisUsPerDelivery, 2)} µs/delivery; ` +
        `other work on the machine ${fmt(Math.max(0, r.otherCores), 2)} cores` +
        `${f.unexpected ? `; ${f.unexpected} unexpected` : ''}${f.ended !== 'complete' ? `; stopped waiting: ${f.ended}` : ''}` +
        `${Object.keys(f.closes).length ? `; closed by peer ${JSON.stringify(f.closes)}` : ''}` +
        `${f.subscriptionEnds ? `; ${f.subscriptionEnds} subscriptions ended by the peer` : ''}` +
        `${r.probe.missing ? `; ${r.probe.missing} never confirmed subscribed` : ''}` +
        `${r.probe.ended ? `; ${r.probe.ended} subscriptions ended by the peer before the run` : ''}${extras ? `; ${extras}` : ''}`,
    );
  }
}

/** RSS growth per connection: after a forced GC when that was possible. */
const perConn = (r: MemoryResult) => (r.before.gc && r.after.gc ? r.rssPerConn : r.rssPerConnNoGc);

function printMemory(title: string, results: readonly MemoryResult[]): void {
  say(`\n${title}`);
  const row = (r: MemoryResult) => [r.kind, '-', '-', '-', '-', '-', '-', '-', fmt(perConn(r) / 1024)];
  const ref = results.find((r) => r.kind === 'reference');
  const others = results.filter((r) => r !== ref);
  const ratioRow = (label: string, r: MemoryResult, ref: MemoryResult) => [label, '', '', '', '', '', '', '', ratio(perConn(r), perConn(ref))];
  const rows = results.map(row);
  if (ref) for (const r of others) rows.push(ratioRow(`${r.kind}/reference`, r, ref));
  say(table(HEADER, rows));
  if (ref) for (const r of others) summary.push(ratioRow(`4 ${r.kind}/ref`, r, ref));
  for (const r of results) {
    const mb = (b: number) => fmt(b / 1048576);
    const kb = (b: number) => fmt(b / 1024);
    const gc = r.before.gc && r.after.gc;
    say(
      `  ${r.kind}: ${int(r.open.opened)} connections${r.open.failed ? ` (${r.open.failed} failed)` : ''}` +
        `${r.probe.missing ? ` (${r.probe.missing} never confirmed subscribed)` : ''}${r.probe.ended ? ` (${r.probe.ended} subscriptions ended by the peer)` : ''}; sums over the two instances` +
        (gc
          ? `, after a forced full GC: RSS ${mb(r.before.rssGc)} -> ${mb(r.after.rssGc)} MB = ${kb(r.rssPerConn)} KB/conn, ` +
            `V8 heap used ${mb(r.before.heapGc)} -> ${mb(r.after.heapGc)} MB = ${kb(r.heapPerConn)} KB/conn; before that GC (garbage included): `
          : ' (no forced GC possible: garbage included): ') +
        `RSS ${kb(r.rssPerConnNoGc)} KB/conn, heap ${kb(r.heapPerConnNoGc)} KB/conn`,
    );
  }
}

/** One row per scenario and target, printed at the end (or when the run is cut short). */
const summary: string[][] = [];
let summaryPrinted = false;

function printSummary(): void {
  if (summaryPrinted || summary.length === 0) return;
  summaryPrinted = true;
  say('\nSummary (CPU = server-side CPU of the two instances per delivered message; memory = RSS growth per idle subscribed connection)');
  say(table(['scenario', ...HEADER.slice(1)], summary));
  say(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

// ---------------------------------------------------------------- setup

function machineInfo(): string[] {
  const lines: string[] = [];
  lines.push(`date:     ${new Date().toISOString()}`);
  try {
    lines.push(`machine:  ${execFileSync('uname', ['-a'], { encoding: 'utf8' }).trim()}`);
  } catch {
    lines.push(`machine:  ${process.platform} ${process.arch}`);
  }
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // not Linux
  }
  lines.push(`cpu:      ${model}, ${cpus().length} logical CPUs; memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB`);
  lines.push(`node:     ${process.version}`);
  const [load1] = loadavg();
  lines.push(
    `load:     ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1/5/15 min averages before the run)` +
      (load1! > cpus().length * 1.5
        ? `: the machine is BUSY; each scenario says how many cores other work took during it (throughput and latency suffer first)`
        : ''),
  );
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    lines.push(`project:  commit ${head} (plus the working tree's changes)`);
  } catch {
    // not a git checkout
  }
  return lines;
}

function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m?.[1] === 'unlimited' ? Infinity : Number(m?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** `npm run build`; on failure the servers run from source with tsx (reported in the header). */
function buildServer(): { args: string[]; how: string } {
  const started = Date.now();
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status === 0 && existsSync(join(ROOT, 'dist', 'main.js'))) {
    return { args: [join(ROOT, 'dist', 'main.js')], how: `node dist/main.js (npm run build: ${((Date.now() - started) / 1000).toFixed(1)} s)` };
  }
  note(`npm run build failed, running the servers from source with tsx instead:\n${(r.stdout ?? '') + (r.stderr ?? '') || String(r.error)}`);
  return { args: ['--import', 'tsx', join(ROOT, 'src', 'main.ts')], how: 'tsx src/main.ts (npm run build FAILED: numbers include no build)' };
}

/**
 * BENCH_BASELINE=<git revision>: that revision's src/ (git archive: the work tree and the index are
 * left alone) built with this checkout's node_modules, run as a third target for before/after figures.
 * BENCH_BASELINE=<path/to/main.js>: that entry point instead (a copy of an earlier dist/, say).
 */
function buildBaseline(rev: string): { args: string[]; how: string } {
  if (/\.[cm]?js$/.test(rev)) {
    if (!existsSync(rev)) throw new Error(`BENCH_BASELINE: no file ${rev}`);
    return { args: [rev], how: `node ${rev}` };
  }
  const git = (args: string[], input?: Buffer) => execFileSync('git', args, { cwd: ROOT, maxBuffer: 1 << 28, ...(input ? { input } : {}) });
  const sha = git(['rev-parse', '--verify', `${rev}^{commit}`]).toString().trim();
  const dir = join(ROOT, 'node_modules', '.cache', 'chat-bench', `baseline-${sha.slice(0, 12)}`);
  const main = join(dir, 'dist', 'main.js');
  if (!existsSync(main)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-x', '-C', dir], { input: git(['archive', '--format=tar', sha, 'src', 'tsconfig.json']) });
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`BENCH_BASELINE: src/ of ${rev} (${sha.slice(0, 12)}) does not build on its own:\n${r.stdout}${r.stderr}`);
    }
  }
  return { args: [main], how: `node dist/main.js of ${rev} = ${sha.slice(0, 12)} (src/ of that commit, built with this checkout's node_modules)` };
}

/** Compiles the reference and the load client to plain JS (so they run on bare node, like dist/). */
function buildBench(): string {
  const out = join(ROOT, 'node_modules', '.cache', 'chat-bench');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(
    process.execPath,
    [
      tsc,
      ...['--outDir', out, '--rootDir', BENCH, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'],
      '--ignoreConfig',
      ...['--strict', '--skipLibCheck', '--types', 'node', '--sourceMap', 'false', '--declaration', 'false'],
      join(BENCH, 'load-client.ts'),
      join(BENCH, 'reference-broadcaster.ts'),
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (r.status !== 0 || !existsSync(join(out, 'load-client.js'))) throw new Error(`compiling bench/ failed:\n${r.stdout}${r.stderr}`);
  return out;
}

const inspectArgs = () => (SETTINGS.inspect ? ['--inspect=127.0.0.1:0'] : []);

async function startServer(label: string, serverArgs: string[], prefix: string): Promise<Instance> {
  const port = await freePort();
  const proc = startProc(label, [...inspectArgs(), ...serverArgs], {
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    JWT_SECRET,
    ACCESS_TOKEN_TTL: '86400',
    MESSAGE_RATE_LIMIT: '0',
    LOGIN_RATE_LIMIT: '0',
    LOGIN_IP_RATE_LIMIT: '0',
    REGISTER_RATE_LIMIT: '0',
    CREATE_ROOM_RATE_LIMIT: '0',
    // the load client is one address holding thousands of sockets of a few users
    MAX_STREAMS_PER_USER: '100000',
    MAX_STREAMS_PER_ADDRESS: '100000',
    SHUTDOWN_TIMEOUT: '3',
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUntil(
    `${label} to be ready`,
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`${label} exited: ${proc.output()}`);
      return (await get(`${base}/ready`, 1000)).status === 200;
    },
    30_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${proc.output().slice(-2000)}`);
  });
  return { proc, base, wsUrl: `ws://127.0.0.1:${port}/graphql` };
}

/** Two server instances (entry `args`) on one key prefix, and users registered on them. */
async function startServerTarget(kind: string, args: string[], prefix: string): Promise<Target> {
  const [a, b] = await Promise.all([startServer(`${kind} 1`, args, prefix), startServer(`${kind} 2`, args, prefix)]);
  // production scrypt makes registering slow: a few users, their tokens reused
  const tokens: string[] = [];
  await pool(
    Array.from({ length: 8 }, (_, i) => `bench_${TAG}_${i}`),
    4,
    async (u, i) => {
      const d = await gql<{ register: { accessToken: string } }>(
        (i % 2 ? b : a).base,
        'mutation($u: String!, $p: String!) { register(username: $u, password: $p) { accessToken } }',
        { u, p: 'bench password 123456' },
      );
      tokens[i] = d.register.accessToken;
    },
  );
  return serverTarget(kind, [a, b], tokens.slice(0, 4), tokens.slice(4));
}

async function startReference(n: number, dir: string): Promise<Instance> {
  const proc = startProc(`reference ${n}`, [...inspectArgs(), join(dir, 'reference-broadcaster.js')], {
    PORT: '0',
    REDIS_URL,
    KEY_PREFIX: PREFIX,
    NODE_ENV: 'production',
  });
  const port = Number((await proc.waitForLine(/^listening (\d+)$/, 15_000))[1]);
  const base = `http://127.0.0.1:${port}`;
  await waitUntil(`reference ${n} to be ready`, async () => (await get(`${base}/ready`, 1000)).status === 200, 15_000);
  return { proc, base, wsUrl: `ws://127.0.0.1:${port}/graphql` };
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
    await settle(target).catch(() => {});
    return undefined;
  }
}

async function profileScenario(spec: DeliverySpec, target: Target, load: LoadClient, redis: Redis): Promise<void> {
  const url = await target.instances[0]!.proc.inspector;
  if (!url) return say('\n(profile: no inspector)');
  const cdp = await Cdp.connect(url);
  try {
    await cdp.call('Profiler.enable');
    await cdp.call('Profiler.setSamplingInterval', { interval: 200 });
    const got: { profile?: CpuProfile } = {};
    const r = await runDelivery(spec, target, load, redis, {
      opened: async () => void (await cdp.call('Profiler.start')),
      done: async () => void (got.profile = (await cdp.call<{ profile: CpuProfile }>('Profiler.stop', {}, 60_000)).profile),
    });
    const { profile } = got;
    if (!profile) throw new Error('no profile');
    await cdp.call('Profiler.disable');
    const file = join(ROOT, 'node_modules', '.cache', 'chat-bench', `${target.kind}-${TAG}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    say(
      `\nCPU profile of ${target.kind} instance 1 over the measured window of an extra run of "${spec.title}" ` +
        `(${int(r.finish.deliveries)} deliveries, half of them from this instance; profiler on: ${fmt(r.cpuUsPerDelivery)} µs/delivery, not comparable)`,
    );
    say(`  saved to ${file} (open in Chrome DevTools > Performance)`);
    say(summariseProfile(profile, r.finish.deliveries / target.instances.length));
  } finally {
    await cdp.close();
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  if (process.argv.includes('--cluster')) {
    await (await import('./cluster.js')).runClusterBench();
    return;
  }
  say('Fan-out benchmark: chat server vs. minimal reference broadcaster');
  for (const l of machineInfo()) say(l);

  const maxSockets = Math.max(SETTINGS.only.includes(4) ? SETTINGS.idle : 0, 500, 1000);
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
      started('the server', () => startServerTarget('server', server.args, PREFIX)),
      baseline ? started('the baseline', () => startServerTarget('baseline', baseline.args, `${PREFIX}base:`)) : undefined,
      started('the reference', async () => referenceTarget(await Promise.all([startReference(1, benchDir), startReference(2, benchDir)]))),
    ]);
    const targets = [serverT, baseT, refT].filter((t): t is Target => t !== undefined);
    if (targets.length === 0) throw new Error('no target started');
    const loadProc = startProc('load client', [join(benchDir, 'load-client.js')], {});
    const load = new LoadClient(loadProc);

    const specs: Record<1 | 2 | 3, DeliverySpec> = {
      1: {
        title: `Scenario 1: one room, 500 subscribers, ${SETTINGS.s1Rate} msg/s for ${SETTINGS.seconds} s`,
        rooms: [`s1-${TAG}`],
        perRoom: 500,
        mode: { kind: 'rate', rate: SETTINGS.s1Rate, seconds: SETTINGS.seconds },
        warmup: 50,
      },
      2: {
        title: `Scenario 2: 100 rooms x 10 subscribers, ${SETTINGS.s2Rate} msg/s spread over the rooms for ${SETTINGS.seconds} s`,
        rooms: Array.from({ length: 100 }, (_, i) => `s2-${TAG}-${i}`),
        perRoom: 10,
        mode: { kind: 'rate', rate: SETTINGS.s2Rate, seconds: SETTINGS.seconds },
        warmup: 200,
      },
      3: {
        title: `Scenario 3: one room, 200 subscribers, maximum rate (${SETTINGS.s3Count} messages, ${SETTINGS.s3Senders} concurrent senders)`,
        rooms: [`s3-${TAG}`],
        perRoom: 200,
        mode: { kind: 'max', count: SETTINGS.s3Count, senders: SETTINGS.s3Senders },
        warmup: 50,
      },
    };
    for (const n of [1, 2, 3] as const) {
      if (!SETTINGS.only.includes(n)) continue;
      const results: DeliveryResult[] = [];
      for (const t of targets) {
        const r = await attempt(`scenario ${n} ${t.kind}`, t, load, () => runDelivery(specs[n], t, load, redis));
        if (!r) continue;
        results.push(r);
        summary.push([`${n} ${r.kind}`, ...deliveryRow(r).slice(1)]); // at once: a run cut short still shows it
      }
      printDelivery(n, specs[n], results);
    }
    if (SETTINGS.only.includes(4)) {
      const rooms = Array.from({ length: 20 }, (_, i) => `s4-${TAG}-${i}`);
      const title = `Scenario 4: ${SETTINGS.idle} idle subscribed connections (20 rooms), memory per connection`;
      const results: MemoryResult[] = [];
      for (const t of targets) {
        const r = await attempt(`scenario 4 ${t.kind}`, t, load, () => runMemory(rooms, SETTINGS.idle, t, load));
        if (!r) continue;
        results.push(r);
        summary.push([`4 ${r.kind}`, '-', '-', '-', '-', '-', '-', '-', fmt(perConn(r) / 1024)]);
      }
      printMemory(title, results);
    }
    printSummary();
    if (failures.length > 0) say(`\n${failures.length} scenario run(s) failed:\n  ${failures.join('\n  ')}`);

    if (SETTINGS.profile) {
      const which = SETTINGS.profileScenario;
      for (const t of targets) await profileScenario({ ...specs[which], rooms: [`p${which}-${TAG}-${t.kind}`] }, t, load, redis);
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
    agent.destroy();
  }
  say(`\ntotal time ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  if (failures.length > 0) process.exitCode = 1;
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
