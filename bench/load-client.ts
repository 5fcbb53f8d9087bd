/**
 * The benchmark's LOAD CLIENT, a process of its own (spawned by bench/run.ts): opens many
 * graphql-transport-ws sockets with the bare `ws` package (the protocol by hand, so that its cost
 * is small and the same for the server and the reference), sends each socket's subscriptions, and
 * records every delivery of its measured one: the message id per subscriber (lost / duplicate /
 * out-of-order) and the end-to-end latency from the send time stamped into the text.
 *
 * Commands come as JSON lines on stdin, replies go as JSON lines on stdout (see LoadCommand in
 * shared.ts); nothing else is written to stdout.
 */
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import {
  compareIds,
  nowNs,
  PROBE_PREFIX,
  quantile,
  stampOf,
  type CloseReply,
  type FinishReply,
  type LoadCommand,
  type OpenReply,
  type ProbeReply,
  type SocketSpec,
} from './shared.js';

interface Subscriber {
  readonly socket: WebSocket;
  readonly room: string;
  /** The id of the measured subscription (frames of the others are not counted). */
  readonly measuredId: string | null;
  open: boolean;
  /** The peer ended one of its subscriptions (error or complete frame). */
  ended: boolean;
  /** Ids of measured messages in arrival order (duplicates excluded). */
  ids: string[];
  last: string | null;
  duplicate: number;
  outOfOrder: number;
  /** Monotonic ns of the first probe of the armed token it saw; NaN before. */
  probedNs: number;
}

const subscribers: Subscriber[] = [];
let recording = false;
let deliveries = 0;
/** While `finish` waits: the ids sent per room, and how many (subscriber, sent id) pairs arrived. */
let expectedSets: Map<string, Set<string>> | null = null;
let gotExpected = 0;
let latencies: number[] = [];
let firstNs = NaN;
let lastNs = NaN;
let lastActivity = 0;
let closes: Record<string, number> = {};
let subscriptionEnds = 0;
/** The first frame that ended a subscription since the sockets were opened. */
let firstEnd: string | undefined;
let closeLogged = false;
/** The armed probe: texts starting with it count; null when none is armed. */
let probePrefix: string | null = null;
let probeMissing = 0;
let probeLastNs = NaN;
/** Called after every delivery or socket close while something waits. */
let onProgress: (() => void) | null = null;

function reply(re: number, body: object): void {
  process.stdout.write(`${JSON.stringify({ re, ok: true, ...body })}\n`);
}

function fail(re: number, err: unknown): void {
  process.stdout.write(`${JSON.stringify({ re, ok: false, error: err instanceof Error ? err.message : String(err) })}\n`);
}

/** Counts `sub` as having seen the armed probe at `at` (-1: it never will, being closed or ended). */
function probed(sub: Subscriber, at: number): void {
  if (probePrefix === null || !Number.isNaN(sub.probedNs)) return;
  sub.probedNs = at;
  probeMissing--;
  if (at > 0 && !(probeLastNs >= at)) probeLastNs = at;
  onProgress?.();
}

function onMessage(sub: Subscriber, id: string, text: string): void {
  if (text.startsWith(PROBE_PREFIX)) {
    if (probePrefix !== null && text.startsWith(probePrefix)) probed(sub, nowNs());
    return;
  }
  if (!recording) return;
  const at = nowNs();
  deliveries++;
  if (Number.isNaN(firstNs)) firstNs = at;
  lastNs = at;
  lastActivity = Date.now();
  const sent = stampOf(text);
  if (Number.isFinite(sent)) latencies.push((at - sent) / 1e6);
  if (sub.last !== null && compareIds(id, sub.last) <= 0) {
    if (sub.ids.includes(id)) {
      sub.duplicate++;
      onProgress?.();
      return;
    }
    sub.outOfOrder++;
  } else {
    sub.last = id;
  }
  sub.ids.push(id);
  if (expectedSets?.get(sub.room)?.has(id)) gotExpected++;
  onProgress?.();
}

const DATA_MARK = '"data":{"';
const ID_MARK = '":{"id":"';
const TEXT_MARK = '"text":"';
const MEASURED_MARK = (id: string) => `{"id":${JSON.stringify(id)},"type":"next"`;

/**
 * id and text of a `next` frame of the measured subscription by string search: the first `id` of
 * its data (messageAdded's, or roomEvents' event id, which is the message's for ADDED) and the
 * first `text` (the text holds neither quotes nor escapes in this bench); null when the frame is
 * not shaped like that. The same for the server and the reference, and a good deal cheaper than
 * JSON.parse of every frame.
 */
function quickMessage(sub: Subscriber, raw: string): { id: string; text: string } | null {
  if (sub.measuredId === null || !raw.startsWith(MEASURED_MARK(sub.measuredId))) return null;
  const d = raw.indexOf(DATA_MARK);
  if (d < 0) return null;
  const a = raw.indexOf(ID_MARK, d);
  if (a < 0) return null;
  const idStart = a + ID_MARK.length;
  const idEnd = raw.indexOf('"', idStart);
  const t = raw.indexOf(TEXT_MARK, idEnd);
  if (idEnd < 0 || t < 0) return null;
  const textStart = t + TEXT_MARK.length;
  const textEnd = raw.indexOf('"', textStart);
  if (textEnd < 0 || raw.charCodeAt(textEnd - 1) === 92 /* backslash */) return null;
  return { id: raw.slice(idStart, idEnd), text: raw.slice(textStart, textEnd) };
}

function onFrame(sub: Subscriber, raw: string): void {
  const quick = quickMessage(sub, raw);
  if (quick) {
    onMessage(sub, quick.id, quick.text);
    return;
  }
  let msg: { type?: string; id?: string };
  try {
    msg = JSON.parse(raw) as typeof msg;
  } catch {
    return;
  }
  switch (msg.type) {
    case 'ping':
      sub.socket.send('{"type":"pong"}');
      return;
    case 'error':
    case 'complete':
      if (sub.ended) return;
      sub.ended = true;
      if (recording) subscriptionEnds++;
      if (firstEnd === undefined) {
        firstEnd = raw.slice(0, 300);
        process.stderr.write(`load-client: a subscription ended (more are only counted): ${firstEnd}\n`);
      }
      probed(sub, -1);
      return;
    default:
      // `next` frames of the held subscriptions, and of roomEvents' edits and deletions: not counted
      return;
  }
}

/** Opens one socket, initialises it and sends its subscriptions; resolves once connection_ack came and they went out. */
function openOne(spec: SocketSpec, queries: readonly string[], timeoutMs: number): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(spec.url, 'graphql-transport-ws', { perMessageDeflate: false });
    const measured = spec.subscriptions.findIndex((s) => s.measured);
    const sub: Subscriber = {
      socket,
      room: spec.room,
      measuredId: measured < 0 ? null : String(measured + 1),
      open: false,
      ended: false,
      ids: [],
      last: null,
      duplicate: 0,
      outOfOrder: 0,
      probedNs: NaN,
    };
    if (probePrefix !== null) {
      if (sub.measuredId === null) sub.probedNs = -1;
      else probeMissing++;
    }
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`no connection_ack within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('open', () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${spec.token}` } }));
    });
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const raw = data.toString();
      if (!sub.open) {
        if (raw.includes('"connection_ack"')) {
          clearTimeout(timer);
          sub.open = true;
          spec.subscriptions.forEach((s, i) => {
            const payload = { query: queries[s.query], variables: s.variables, ...(s.operationName ? { operationName: s.operationName } : {}) };
            socket.send(JSON.stringify({ id: String(i + 1), type: 'subscribe', payload }));
          });
          resolve(sub);
        }
        return;
      }
      onFrame(sub, raw);
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (!sub.open) reject(err);
    });
    socket.once('close', (code, reason) => {
      clearTimeout(timer);
      if (!sub.open) {
        probed(sub, -1);
        return reject(new Error(`closed ${code} ${reason.toString()} before connection_ack`));
      }
      sub.open = false;
      if (recording || probePrefix !== null) {
        closes[code] = (closes[code] ?? 0) + 1;
        if (!closeLogged) process.stderr.write(`load-client: a socket was closed by the peer (more are only counted): ${code} ${reason.toString()}\n`);
        closeLogged = true;
      }
      probed(sub, -1);
      onProgress?.();
    });
  });
}

async function open(queries: readonly string[], specs: readonly SocketSpec[], timeoutMs: number, probeToken: string | undefined): Promise<OpenReply> {
  if (probeToken !== undefined) arm(probeToken);
  let opened = 0;
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  // a bounded number of handshakes at once: the listen backlog is finite
  const worker = async () => {
    while (next < specs.length) {
      const spec = specs[next++]!;
      try {
        subscribers.push(await openOne(spec, queries, timeoutMs));
        opened++;
      } catch (err) {
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(64, specs.length) }, worker));
  return firstError === undefined ? { opened, failed } : { opened, failed, firstError };
}

/** Waits until `done()` holds (checked on every progress event), or `timeoutMs`; returns whether it held. */
function until(done: () => boolean, timeoutMs: number, idle?: { ms: number; since: () => number }): Promise<'complete' | 'idle' | 'timeout'> {
  return new Promise((resolve) => {
    const finish = (why: 'complete' | 'idle' | 'timeout') => {
      onProgress = null;
      clearTimeout(hard);
      clearInterval(idler);
      resolve(why);
    };
    if (done()) return resolve('complete');
    const hard = setTimeout(() => finish('timeout'), timeoutMs);
    const idler = setInterval(() => {
      if (idle && Date.now() - idle.since() > idle.ms) finish('idle');
    }, 100);
    onProgress = () => {
      if (done()) finish('complete');
    };
  });
}

/** Arms a probe: from now on each open socket waits for a text starting with PROBE_PREFIX + token. */
function arm(token: string): void {
  probePrefix = PROBE_PREFIX + token;
  probeMissing = 0;
  probeLastNs = NaN;
  for (const sub of subscribers) {
    sub.probedNs = NaN;
    if (!sub.open || sub.ended || sub.measuredId === null) sub.probedNs = -1;
    else probeMissing++;
  }
}

async function probe(token: string, timeoutMs: number): Promise<ProbeReply> {
  if (probePrefix !== PROBE_PREFIX + token) arm(token);
  await until(() => probeMissing <= 0, timeoutMs);
  const missing = Math.max(0, probeMissing);
  const lastNs = probeLastNs;
  probePrefix = null;
  const ended = subscribers.filter((s) => s.ended).length;
  return firstEnd === undefined ? { missing, ended, lastNs } : { missing, ended, firstEnd, lastNs };
}

function start(): void {
  deliveries = 0;
  expectedSets = null;
  gotExpected = 0;
  latencies = [];
  firstNs = NaN;
  lastNs = NaN;
  closes = {};
  subscriptionEnds = 0;
  lastActivity = Date.now();
  for (const sub of subscribers) {
    sub.ids = [];
    sub.last = null;
    sub.duplicate = 0;
    sub.outOfOrder = 0;
  }
  recording = true;
}

async function finish(expected: Readonly<Record<string, readonly string[]>>, idleMs: number, timeoutMs: number): Promise<FinishReply> {
  const sets = new Map<string, Set<string>>();
  for (const [room, ids] of Object.entries(expected)) sets.set(room, new Set(ids));
  let total = 0;
  gotExpected = 0;
  for (const sub of subscribers) {
    const want = sets.get(sub.room);
    if (!want) continue;
    total += want.size;
    for (const id of sub.ids) if (want.has(id)) gotExpected++;
  }
  expectedSets = sets;
  lastActivity = Math.max(lastActivity, Date.now());
  // done when every subscriber has every message sent to its room (or nothing came for idleMs)
  const ended = await until(() => gotExpected >= total, timeoutMs, { ms: idleMs, since: () => lastActivity });
  recording = false;
  expectedSets = null;
  let lost = 0;
  let duplicate = 0;
  let outOfOrder = 0;
  let unexpected = 0;
  for (const sub of subscribers) {
    const want = sets.get(sub.room) ?? new Set<string>();
    let got = 0;
    for (const id of sub.ids) {
      if (want.has(id)) got++;
      else unexpected++;
    }
    lost += want.size - got;
    duplicate += sub.duplicate;
    outOfOrder += sub.outOfOrder;
  }
  const sorted = Float64Array.from(latencies).sort();
  return {
    subscribers: subscribers.length,
    deliveries,
    lost,
    duplicate,
    outOfOrder,
    unexpected,
    latencyMs: { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.length ? sorted[sorted.length - 1]! : NaN },
    firstNs,
    lastNs,
    ended,
    closes,
    subscriptionEnds,
  };
}

async function closeAll(timeoutMs: number): Promise<CloseReply> {
  const all = subscribers.splice(0);
  firstEnd = undefined;
  closeLogged = false;
  await Promise.all(
    all.map(
      (sub) =>
        new Promise<void>((resolve) => {
          const { socket } = sub;
          if (socket.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => {
            socket.terminate();
            resolve();
          }, timeoutMs);
          socket.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          socket.close(1000, 'bench done');
        }),
    ),
  );
  return { closed: all.length };
}

// one command at a time, in order
let chain: Promise<void> = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  let cmd: LoadCommand;
  try {
    cmd = JSON.parse(line) as LoadCommand;
  } catch (err) {
    return fail(-1, err);
  }
  chain = chain.then(async () => {
    try {
      switch (cmd.cmd) {
        case 'open':
          return reply(cmd.re, await open(cmd.queries, cmd.sockets, cmd.timeoutMs, cmd.probe));
        case 'probe':
          return reply(cmd.re, await probe(cmd.token, cmd.timeoutMs));
        case 'start':
          start();
          return reply(cmd.re, {});
        case 'finish':
          return reply(cmd.re, await finish(cmd.expected, cmd.idleMs, cmd.timeoutMs));
        case 'close':
          return reply(cmd.re, await closeAll(cmd.timeoutMs));
        case 'exit':
          reply(cmd.re, {});
          for (const sub of subscribers) sub.socket.terminate();
          process.exit(0);
      }
    } catch (err) {
      fail(cmd.re, err);
    }
  });
});
// the orchestrator went away: so do we
lines.on('close', () => {
  for (const sub of subscribers) sub.socket.terminate();
  process.exit(0);
});
