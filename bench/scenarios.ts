/**
 * The scenarios: open the load client's sockets on a target, warm up, send, and measure. Each
 * function runs one scenario against one target and returns its figures (bench/report.ts prints them).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { subscriptionOf, webPageSubscriptions, type BenchDocument } from './documents.js';
import { pool } from './http.js';
import type { LoadClient } from './load-control.js';
import { between, memorySnapshot, sample, settle, type MemorySnapshot } from './measure.js';
import { Cdp, cpuNs, sleep, summariseProfile, type CpuProfile } from './proc.js';
import { CACHE, note, say, TAG } from './settings.js';
import { nowNs, PROBE_PREFIX, stampText, type CloseReply, type FinishReply, type OpenReply, type ProbeReply, type SocketSpec, type SubscriptionSpec } from './shared.js';
import type { Target } from './targets.js';

export interface DeliverySpec {
  readonly scenario: 1 | 2 | 3;
  readonly title: string;
  readonly rooms: readonly string[];
  readonly perRoom: number;
  readonly document: BenchDocument;
  /** rate: an open loop at a fixed rate (not a capacity figure); max: a fixed count as fast as `senders` go. */
  readonly mode: { readonly kind: 'rate'; readonly rate: number; readonly seconds: number } | { readonly kind: 'max'; readonly count: number; readonly senders: number };
  /** Unmeasured messages sent before the subscribers come (the rooms' history: resuming ones start from it). */
  readonly warmup: number;
}

export interface DeliveryResult {
  readonly kind: string;
  readonly spec: DeliverySpec;
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
  readonly otherCores: number;
  readonly cpuSource: string;
  readonly extra: Record<string, number>;
  /** Instances' CPU per message sent before anyone subscribed (the history), µs: what a send alone costs. */
  readonly sendUs: number;
}

/** Sends of a fixed-rate scenario waiting for their answer at most. */
const IN_FLIGHT = 64;

/** Resuming subscribers resume from one of their room's last HISTORY messages (the last: caught up). */
const HISTORY = 10;

/**
 * Sends `perRoom` unmeasured messages into each room (probe-prefixed: never counted) and returns
 * their ids per room: each resuming subscriber resumes from one of them, its own.
 */
async function writeHistory(target: Target, rooms: readonly string[], perRoom: number): Promise<Map<string, string[]>> {
  const ids = new Map<string, string[]>(rooms.map((r) => [r, []]));
  // one room after another in order, rooms in parallel: each room's ids come back in log order
  await pool(rooms, 16, async (room, r) => {
    for (let k = 0; k < perRoom; k++) ids.get(room)!.push(await target.send((r + k) % target.instances.length, room, `${PROBE_PREFIX}history ${k}`, k));
  });
  return ids;
}

/** Subscriber j's cursor in a room: one of the room's last HISTORY ids (the last one: caught up, no backlog). */
const cursorOf = (ids: readonly string[] | undefined, j: number) => (ids?.length ? ids[ids.length - 1 - (j % Math.min(HISTORY, ids.length))] : undefined);

/** `perRoom` sockets per room, spread over the instances, each with `subscriptions(room, j)`. */
function socketsFor(target: Target, rooms: readonly string[], perRoom: number, subscriptions: (room: string, j: number) => SubscriptionSpec[]) {
  const queries: string[] = [];
  const indexOf = (q: string) => {
    const i = queries.indexOf(q);
    return i >= 0 ? i : queries.push(q) - 1;
  };
  const sockets: SocketSpec[] = [];
  rooms.forEach((room, r) => {
    for (let j = 0; j < perRoom; j++) {
      sockets.push({
        url: target.instances[(j + r) % target.instances.length]!.wsUrl,
        token: target.users.take(),
        room,
        subscriptions: subscriptions(room, j).map((s) => ({ ...s, query: indexOf(s.query) })),
      });
    }
  });
  return { queries, sockets };
}

async function openSockets(load: LoadClient, target: Target, plan: { queries: string[]; sockets: SocketSpec[] }, probe?: string): Promise<OpenReply> {
  const total = plan.sockets.length;
  const open = await load.call<OpenReply>({ cmd: 'open', ...plan, timeoutMs: 15_000, ...(probe ? { probe } : {}) }, 60_000 + total * 20);
  if (open.failed > 0) note(`${target.kind}: ${open.failed} of ${total} sockets failed to open (first error: ${open.firstError})`);
  return open;
}

/**
 * Probe rounds until every open subscriber saw the probe of its room: their subscriptions are
 * live and everything sent before has arrived.
 */
async function probeAll(load: LoadClient, target: Target, rooms: readonly string[]): Promise<ProbeReply> {
  let last: ProbeReply = { missing: NaN, ended: 0, lastNs: NaN };
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
export interface WindowHooks {
  opened(): Promise<void>;
  done(): Promise<void>;
}

export async function runDelivery(spec: DeliverySpec, target: Target, load: LoadClient, redis: Redis, hooks?: WindowHooks): Promise<DeliveryResult> {
  note(`${spec.title}, ${spec.document.name}: ${target.kind}`);
  await target.prepareRooms(spec.rooms);
  // the warm-up is the rooms' history, for every document alike: resuming subscribers start from it;
  // with nobody subscribed yet, it also tells what a send alone costs the instances
  const perRoom = Math.max(1, Math.ceil(spec.warmup / spec.rooms.length));
  const cpuBefore = instancesCpuNs(target);
  const history = await writeHistory(target, spec.rooms, perRoom);
  const sendUs = (instancesCpuNs(target) - cpuBefore) / 1000 / (perRoom * spec.rooms.length);
  const plan = socketsFor(target, spec.rooms, spec.perRoom, (room, j) => [subscriptionOf(spec.document, room, cursorOf(history.get(room), j))]);
  const open = await openSockets(load, target, plan);
  const probe = await probeAll(load, target, spec.rooms);

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
    // open loop: message k leaves at t0 + k/rate whatever the answers do, up to IN_FLIGHT at once:
    // a target that cannot keep up (a busy machine) is then sent to more slowly, instead of being
    // buried under hundreds of open requests that its figures would mostly measure
    const { rate, seconds } = spec.mode;
    const n = Math.round(rate * seconds);
    const inflight = new Set<Promise<void>>();
    const startMs = performance.now();
    for (let k = 0; k < n; k++) {
      const wait = startMs + (k * 1000) / rate - performance.now();
      if (wait >= 1) await sleep(wait);
      while (inflight.size >= IN_FLIGHT) await Promise.race(inflight);
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

  const used = between(before, after, windowSeconds);
  const d = finish.deliveries;
  const activeSeconds = Number.isFinite(finish.lastNs) ? (finish.lastNs - t0) / 1e9 : windowSeconds;
  await load.call<CloseReply>({ cmd: 'close', timeoutMs: 5000 }, 30_000);
  await settle(target);
  return {
    kind: target.kind,
    spec,
    open,
    probe,
    sent,
    sendErrors,
    ...(firstSendError === undefined ? {} : { firstSendError }),
    sendSeconds,
    windowSeconds,
    finish,
    deliveriesPerSecond: d / activeSeconds,
    cpuUsPerDelivery: used.cpu / 1000 / d,
    cores: used.cpu / 1e9 / windowSeconds,
    clientUsPerDelivery: used.client / 1000 / d,
    redisUsPerDelivery: used.redisNs / 1000 / d,
    otherCores: used.otherCores,
    cpuSource: before.cpuSource,
    extra: used.extra,
    sendUs,
  };
}

/** CPU time of a target's instances so far, ns. */
const instancesCpuNs = (target: Target) => target.instances.reduce((sum, i) => sum + cpuNs(i.proc.pid).ns, 0);

export interface ConnectResult {
  readonly kind: string;
  readonly document: BenchDocument;
  readonly open: OpenReply;
  /** From the first connect until every socket had its connection_ack and sent its subscription. */
  readonly openMs: number;
  /** From the first connect until the last subscriber received its first live message. */
  readonly liveMs: number;
  /** CPU time of the target's instances meanwhile (the live messages sent every CONNECT_PROBE_MS included). */
  readonly cpuMs: number;
  readonly probe: ProbeReply;
}

/** How often the connect scenario sends a live message into the room while the subscribers arrive. */
export const CONNECT_PROBE_MS = 20;

/**
 * `n` subscribers connect and subscribe to one room at once (resuming ones each from its own
 * cursor, with a backlog of up to HISTORY messages); a live message goes into the room every
 * CONNECT_PROBE_MS meanwhile. The time is until the last subscriber received one: connected,
 * signed in, subscribed, its backlog sent, live.
 */
export async function runConnect(document: BenchDocument, n: number, round: number, target: Target, load: LoadClient): Promise<ConnectResult> {
  note(`connect+subscribe, ${n} subscribers, ${document.name}, round ${round}: ${target.kind}`);
  const room = `c-${TAG}-${document.name}-${round}`;
  await target.prepareRooms([room]);
  const history = await writeHistory(target, [room], HISTORY);
  const plan = socketsFor(target, [room], n, (r, j) => [subscriptionOf(document, r, cursorOf(history.get(r), j))]);
  const token = `${TAG}-connect-${randomBytes(3).toString('hex')}`;
  let probing = true;
  let k = 0;
  const cpu = () => instancesCpuNs(target);
  const cpu0 = cpu();
  const t0 = nowNs();
  let openNs = NaN;
  const opened = openSockets(load, target, plan, token).then((reply) => {
    openNs = nowNs();
    return reply;
  });
  const live = load.call<ProbeReply>({ cmd: 'probe', token, timeoutMs: 30_000 }, 60_000);
  const sender = (async () => {
    while (probing) {
      const at = performance.now();
      await target.send(k % 2, room, `${PROBE_PREFIX}${token} ${k}`, k).catch(() => {});
      k++;
      await sleep(Math.max(0, CONNECT_PROBE_MS - (performance.now() - at)));
    }
  })();
  const [open, probe] = await Promise.all([opened, live]).finally(() => (probing = false));
  const cpuMs = (cpu() - cpu0) / 1e6;
  await sender;
  await load.call<CloseReply>({ cmd: 'close', timeoutMs: 5000 }, 30_000);
  await settle(target);
  return { kind: target.kind, document, open, openMs: (openNs - t0) / 1e6, liveMs: (probe.lastNs - t0) / 1e6, cpuMs, probe };
}

export interface MemoryResult {
  readonly kind: string;
  readonly open: OpenReply;
  readonly probe: ProbeReply;
  readonly subscriptionsPerConnection: number;
  readonly before: MemorySnapshot;
  readonly after: MemorySnapshot;
  /** Bytes per connection, after a forced GC (when possible). */
  readonly rssPerConn: number;
  readonly heapPerConn: number;
  /** Bytes per connection from a collected start to the state after the settle, before forcing a GC (garbage included). */
  readonly rssPerConnNoGc: number;
  readonly heapPerConnNoGc: number;
}

/**
 * Rooms each idle connection watches besides its open room: the web page watches every room of
 * its list (up to 80); a list of ten rooms here.
 */
export const WATCHED = 9;

/** `total` idle connections, each with the web page's subscriptions; memory growth per connection. */
export async function runMemory(rooms: readonly string[], total: number, target: Target, load: LoadClient): Promise<MemoryResult> {
  note(`scenario 4: ${target.kind}`);
  await target.prepareRooms(rooms);
  const history = await writeHistory(target, rooms, 1);
  await settle(target);
  const before = await memorySnapshot(target);
  const subscriptions = (room: string, j: number) => {
    const r = rooms.indexOf(room);
    const others = Array.from({ length: WATCHED }, (_, w) => rooms[(r + j + w + 1) % rooms.length]!).filter((o) => o !== room);
    return webPageSubscriptions(room, others, history.get(room)?.[0]);
  };
  const plan = socketsFor(target, rooms, Math.ceil(total / rooms.length), subscriptions);
  const open = await openSockets(load, target, plan);
  const probe = await probeAll(load, target, rooms);
  await sleep(2000);
  const after = await memorySnapshot(target);
  await load.call<CloseReply>({ cmd: 'close', timeoutMs: 5000 }, 60_000);
  await settle(target);
  const n = open.opened;
  return {
    kind: target.kind,
    open,
    probe,
    subscriptionsPerConnection: plan.sockets[0]?.subscriptions.length ?? 0,
    before,
    after,
    rssPerConn: (after.rssGc - before.rssGc) / n,
    heapPerConn: (after.heapGc - before.heapGc) / n,
    // from a clean start (after GC) to the state found after the settle, garbage included
    rssPerConnNoGc: (after.rss - before.rssGc) / n,
    heapPerConnNoGc: (after.heap - before.heapGc) / n,
  };
}

/** An extra, unmeasured run of `spec` with the CPU profiler on instance 1 of `target`; prints a summary. */
export async function profileScenario(spec: DeliverySpec, target: Target, load: LoadClient, redis: Redis): Promise<void> {
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
    const file = join(CACHE, `${target.kind}-${spec.document.name}-${TAG}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    say(
      `\nCPU profile of ${target.kind} instance 1 over the measured window of an extra run of "${spec.title}", ${spec.document.label} ` +
        `(${r.finish.deliveries} deliveries, half of them from this instance; profiler on: ${r.cpuUsPerDelivery.toFixed(1)} µs/delivery, not comparable)`,
    );
    say(`  saved to ${file} (open in Chrome DevTools > Performance)`);
    say(summariseProfile(profile, r.finish.deliveries / target.instances.length));
  } finally {
    await cdp.close();
  }
}

