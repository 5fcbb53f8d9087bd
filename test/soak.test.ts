import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { collect, gql, signUp, wsClient, type Session } from './support/client.js';
import { waitFor } from './support/net.js';
import { startDeployment, type Deployment } from './support/deployment.js';
import type { ServerProcess } from './support/server.js';

/*
 * A bounded churn soak: two server processes on the shared Redis (under a random key prefix),
 * thousands of subscribe/complete cycles over a few graphql-ws sockets, abrupt socket closes
 * (terminate, no complete) while messages flow; afterwards the subscription and socket gauges,
 * Redis PUBSUB NUMSUB of the rooms and the heap come back near their baseline.
 *
 * SOAK_SECONDS sets the churn's duration (default 45, at most 120).
 */

const SOAK_SECONDS = Math.min(120, Math.max(5, Number(process.env.SOAK_SECONDS ?? 45) || 45));
const SOCKETS_PER_INSTANCE = 3;
/** Operations a churn socket keeps open at once (well under the per-socket cap of 100). */
const CONCURRENT_PER_SOCKET = 4;
const ROOMS = 6;
const MB = 1024 * 1024;
/** Preloaded into the server processes (no spaces: NODE_OPTIONS splits on them). */
const GC_EVERY_SECOND = `data:text/javascript,${encodeURIComponent('setInterval(() => globalThis.gc?.(), 1000).unref();')}`;
/** How much the heap may grow over the soak (garbage is collected every second, see GC_EVERY_SECOND). */
const HEAP_SLACK = 20 * MB;

const SEND = 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }';
const SUBSCRIBE = 'subscription($r:String!,$a:ID){ messageAdded(room:$r, after:$a){ id } }';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

interface Stats {
  cycles: number;
  immediateCompletes: number;
  afterFirstMessage: number;
  withAfter: number;
  terminations: number;
  socketsOpened: number;
  messagesReceived: number;
  /** `error` messages for an operation, or a socket closed by the server: never expected. */
  errors: string[];
}

/**
 * A bare graphql-transport-ws client: lets the soak complete operations at any moment (also
 * before the server has set them up) and terminate the TCP connection without a close frame.
 */
class RawSocket {
  private readonly ws: WebSocket;
  private readonly waiting = new Map<string, () => void>();
  private acked!: Promise<void>;
  terminated = false;

  constructor(url: string, token: string, stats: Stats) {
    this.ws = new WebSocket(url, 'graphql-transport-ws');
    this.acked = new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => this.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
      this.ws.on('error', reject);
      this.ws.on('message', (data) => {
        const msg = JSON.parse(String(data)) as { type: string; id?: string; payload?: unknown };
        if (msg.type === 'connection_ack') resolve();
        else if (msg.type === 'ping') this.send({ type: 'pong' });
        else if (msg.type === 'next') {
          stats.messagesReceived++;
          const payload = msg.payload as { errors?: unknown };
          if (payload.errors) stats.errors.push(`next with errors: ${JSON.stringify(payload.errors)}`);
          this.waiting.get(msg.id!)?.();
        } else if (msg.type === 'error') stats.errors.push(`error: ${JSON.stringify(msg.payload)}`);
      });
      this.ws.once('close', (code, reason) => {
        reject(new Error(`closed before ack: ${code}`));
        if (!this.terminated && code !== 1000) stats.errors.push(`socket closed by the server: ${code} ${String(reason)}`);
        for (const wake of this.waiting.values()) wake();
      });
    });
    stats.socketsOpened++;
  }

  ready() {
    return this.acked;
  }

  get open() {
    return this.ws.readyState === WebSocket.OPEN && !this.terminated;
  }

  private send(msg: unknown) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  subscribe(id: string, room: string, after?: string) {
    this.send({ id, type: 'subscribe', payload: { query: SUBSCRIBE, variables: { r: room, a: after ?? null } } });
  }

  complete(id: string) {
    this.waiting.delete(id);
    this.send({ id, type: 'complete' });
  }

  /** Resolves at the operation's next message, when the socket closes, or after `ms`. */
  nextOrTimeout(id: string, ms: number) {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.waiting.set(id, done);
    });
  }

  close() {
    this.ws.close(1000);
  }

  /** Drops the TCP connection: no complete, no close frame. */
  terminate() {
    this.terminated = true;
    this.ws.terminate();
  }
}

const metricsOf = async (s: ServerProcess) => {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const get = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  return {
    subscriptions: get('chat_active_subscriptions'),
    sockets: get('chat_open_sockets'),
    heap: get('chat_nodejs_heap_size_used_bytes'),
    rss: get('chat_process_resident_memory_bytes'),
  };
};

/** Every id of a room's log, oldest first. */
async function logOf(s: ServerProcess, room: string, token: string): Promise<string[]> {
  const ids: string[] = [];
  let before: string | undefined;
  for (;;) {
    const r = await gql<{ recentMessages: { id: string }[] }>(s.httpUrl, 'query($r:String!,$b:ID){ recentMessages(room:$r, limit:200, before:$b){ id } }', { r: room, b: before }, token);
    if (!r.data) throw new Error(`recentMessages failed: ${JSON.stringify(r.errors)}`);
    const page = r.data.recentMessages.map((m) => m.id);
    ids.unshift(...page);
    if (page.length < 200) return ids;
    before = page[0];
  }
}

/** The smallest heap seen over a few samples (each second's collection in between). */
async function settledHeap(s: ServerProcess, samples = 6, everyMs = 500): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < samples; i++) {
    min = Math.min(min, (await metricsOf(s)).heap);
    if (i < samples - 1) await sleep(everyMs);
  }
  return min;
}

describe('churn soak', () => {
  let deployment: Deployment | undefined;
  let servers: ServerProcess[] = [];
  let users: Session[] = [];
  const rooms = Array.from({ length: ROOMS }, (_, i) => `soak-${process.pid % 1000}-${i}`);

  beforeAll(async () => {
    const env = {
      MESSAGE_RATE_LIMIT: '100000/1',
      LOGIN_RATE_LIMIT: '1000/1',
      HISTORY_LIMIT: '100000',
      // a full collection every second, so that the heap figures are live memory, not garbage
      // V8 has not got round to (a child cannot be asked to collect on demand otherwise)
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --import=${GC_EVERY_SECOND}`.trim(),
    };
    deployment = await startDeployment({ env });
    servers = deployment.servers;
    users = [await signUp(servers[0]!.httpUrl, 'soaka'), await signUp(servers[1]!.httpUrl, 'soakb')];
    for (const room of rooms) {
      const r = await gql(servers[0]!.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, users[0]!.accessToken);
      if (r.errors) throw new Error(JSON.stringify(r.errors));
    }
  }, 60_000);

  afterAll(async () => {
    await deployment?.stop();
  });

  /** Churns until `until`: each socket keeps a few operations going, completing them early or late, and is sometimes terminated. */
  async function churn(until: number, stats: Stats, lastIds: Map<string, string>) {
    let seq = 0;
    const worker = async (server: ServerProcess, user: Session) => {
      while (Date.now() < until) {
        const socket = new RawSocket(server.wsUrl, user.accessToken, stats);
        try {
          await socket.ready();
        } catch (err) {
          stats.errors.push(`connect: ${String(err)}`);
          await sleep(200);
          continue;
        }
        // this socket lives for some cycles, then is either closed or terminated with operations open
        const lifetime = 20 + Math.floor(Math.random() * 60);
        let done = 0;
        const lane = async () => {
          while (socket.open && done < lifetime && Date.now() < until) {
            const id = `op${seq++}`;
            const room = pick(rooms);
            const mode = Math.random();
            const after = mode < 0.25 ? lastIds.get(room) : undefined;
            if (after) stats.withAfter++;
            socket.subscribe(id, room, after);
            if (mode < 0.4) {
              // complete right away: often before the server has even set the subscription up
              stats.immediateCompletes++;
            } else {
              await socket.nextOrTimeout(id, 20 + Math.random() * 200);
              stats.afterFirstMessage++;
            }
            socket.complete(id);
            stats.cycles++;
            done++;
          }
        };
        await Promise.all(Array.from({ length: CONCURRENT_PER_SOCKET }, lane));
        if (Math.random() < 0.5) {
          // open a few more and drop the connection under them
          for (let i = 0; i < 3; i++) socket.subscribe(`op${seq++}`, pick(rooms));
          await sleep(Math.random() * 30);
          socket.terminate();
          stats.terminations++;
        } else socket.close();
      }
    };
    await Promise.all(servers.flatMap((s, i) => Array.from({ length: SOCKETS_PER_INSTANCE }, () => worker(s, users[i % users.length]!))));
  }

  /** One sender per instance, round robin over the rooms, until stopped. */
  function startSenders(lastIds: Map<string, string>) {
    let running = true;
    let sent = 0;
    const failures: string[] = [];
    const loops = servers.map(async (s, i) => {
      for (let n = 0; running; n++) {
        const room = rooms[n % rooms.length]!;
        const r = await gql<{ sendMessage: { id: string } }>(s.httpUrl, SEND, { r: room, t: `m${i}-${n}` }, users[i]!.accessToken);
        if (r.data?.sendMessage) {
          sent++;
          lastIds.set(room, r.data.sendMessage.id);
        } else failures.push(JSON.stringify(r.errors));
        await sleep(15);
      }
    });
    return {
      get sent() {
        return sent;
      },
      failures,
      async stop() {
        running = false;
        await Promise.all(loops);
      },
    };
  }

  const newStats = (): Stats => ({
    cycles: 0,
    immediateCompletes: 0,
    afterFirstMessage: 0,
    withAfter: 0,
    terminations: 0,
    socketsOpened: 0,
    messagesReceived: 0,
    errors: [],
  });

  const backToIdle = (baseline: { subscriptions: number; sockets: number }[], what: string) =>
    Promise.all(
      servers.map((s, i) =>
        waitFor(
          async () => {
            const m = await metricsOf(s);
            return m.subscriptions === baseline[i]!.subscriptions && m.sockets === baseline[i]!.sockets;
          },
          { timeoutMs: 20_000, intervalMs: 200, what: `${what}: gauges back to baseline on ${s.url}` },
        ),
      ),
    );

  it(`churns subscriptions and sockets for ${SOAK_SECONDS} s; gauges, PUBSUB NUMSUB and heap return to baseline`, async () => {
    const admin = new Redis(deployment!.redisUrl);
    const numsub = async () => {
      const reply = (await admin.pubsub('NUMSUB', ...rooms.map((r) => `${deployment!.prefix}room:{${r}}`))) as (string | number)[];
      return rooms.map((_, i) => Number(reply[2 * i + 1]));
    };
    try {
      const lastIds = new Map<string, string>();
      const cold = await Promise.all(servers.map(metricsOf));
      expect(cold.map((m) => m.subscriptions)).toEqual([0, 0]);

      // warm-up: the first seconds load code and fill caches that stay; the baseline is taken after
      const warm = newStats();
      let senders = startSenders(lastIds);
      await churn(Date.now() + 3000, warm, lastIds);
      await senders.stop();
      await backToIdle(cold, 'after the warm-up');
      const before = await Promise.all(servers.map(async (s) => ({ ...(await metricsOf(s)), heap: await settledHeap(s) })));

      // a steady subscriber per instance on one room must get all of it through the churn
      const steadyClients = servers.map((s, i) => wsClient(s.wsUrl, users[i]!.accessToken));
      const steady = steadyClients.map((c) => collect(c, SUBSCRIBE, { r: rooms[0] }));
      await Promise.all(servers.map((s) => waitFor(async () => (await metricsOf(s)).subscriptions >= 1, { what: 'steady subscriber' })));

      const stats = newStats();
      senders = startSenders(lastIds);
      const peak = servers.map(() => ({ heap: 0, rss: 0, subscriptions: 0, sockets: 0 }));
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const ms = await Promise.all(servers.map(metricsOf));
          ms.forEach((m, i) => {
            const p = peak[i]!;
            p.heap = Math.max(p.heap, m.heap);
            p.rss = Math.max(p.rss, m.rss);
            p.subscriptions = Math.max(p.subscriptions, m.subscriptions);
            p.sockets = Math.max(p.sockets, m.sockets);
          });
          await sleep(500);
        }
      })();
      const started = Date.now();
      await churn(started + SOAK_SECONDS * 1000, stats, lastIds);
      const churnMs = Date.now() - started;
      await senders.stop();
      sampling = false;
      await sampler;

      // the steady subscribers hold room 0's log exactly, from their first message on
      const log = await logOf(servers[0]!, rooms[0]!, users[0]!.accessToken);
      const lastId = log.at(-1)!;
      for (const s of steady) await waitFor(() => s.results.some((r) => (r.data as { messageAdded: { id: string } }).messageAdded.id === lastId), { what: 'steady subscriber to reach the end' });
      const steadyIds = steady.map((s) => s.results.map((r) => (r.data as { messageAdded: { id: string } }).messageAdded.id));
      for (const s of steady) s.dispose();
      await Promise.all(steadyClients.map((c) => c.dispose()));

      await backToIdle(before, 'after the soak');
      await waitFor(async () => (await numsub()).every((n) => n === 0), { timeoutMs: 10_000, what: 'PUBSUB NUMSUB of every room to be 0' });
      await sleep(2000);
      const after = await Promise.all(servers.map(async (s) => ({ ...(await metricsOf(s)), heap: await settledHeap(s) })));
      const channels = await numsub();

      const figures = {
        seconds: Math.round(churnMs / 1000),
        cycles: stats.cycles,
        cyclesPerSecond: Math.round(stats.cycles / (churnMs / 1000)),
        immediateCompletes: stats.immediateCompletes,
        withAfter: stats.withAfter,
        terminations: stats.terminations,
        socketsOpened: stats.socketsOpened,
        messagesSent: senders.sent,
        messagesReceived: stats.messagesReceived,
        errors: stats.errors.length,
        numsubAfter: channels,
        instances: servers.map((_, i) => ({
          subscriptions: { before: before[i]!.subscriptions, peak: peak[i]!.subscriptions, after: after[i]!.subscriptions },
          sockets: { before: before[i]!.sockets, peak: peak[i]!.sockets, after: after[i]!.sockets },
          heapMB: { before: +(before[i]!.heap / MB).toFixed(1), peak: +(peak[i]!.heap / MB).toFixed(1), after: +(after[i]!.heap / MB).toFixed(1) },
          rssMB: { before: +(before[i]!.rss / MB).toFixed(1), peak: +(peak[i]!.rss / MB).toFixed(1), after: +(after[i]!.rss / MB).toFixed(1) },
        })),
      };
      console.log('[soak]', JSON.stringify(figures, null, 1));

      expect(stats.errors.slice(0, 5)).toEqual([]);
      expect(senders.failures.slice(0, 5)).toEqual([]);
      expect(stats.cycles).toBeGreaterThan(1000);
      expect(stats.terminations).toBeGreaterThan(10);
      for (const ids of steadyIds) expect(ids).toEqual(log.slice(log.indexOf(ids[0]!)));
      expect(channels).toEqual(rooms.map(() => 0));
      for (let i = 0; i < servers.length; i++) {
        expect(after[i]!.subscriptions).toBe(before[i]!.subscriptions);
        expect(after[i]!.sockets).toBe(before[i]!.sockets);
        expect(after[i]!.heap).toBeLessThan(before[i]!.heap + HEAP_SLACK);
      }
      for (const s of servers) {
        expect(s.child.exitCode, s.output()).toBeNull();
        expect(s.output()).not.toMatch(/unhandled|uncaught/i);
      }
    } finally {
      admin.disconnect();
    }
  }, SOAK_SECONDS * 1000 + 120_000);
});
