import { Redis } from 'ioredis';
import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collect, gql, signUp, wsClient, type Session } from './support/client.js';
import { waitFor } from './support/net.js';
import { startRedisServer, type RedisServer } from './support/redis.js';
import { startDeployment, type Deployment } from './support/deployment.js';
import type { ServerProcess } from './support/server.js';

/*
 * Faults with real server processes (two instances) on a PRIVATE redis-server (never the shared
 * one): Redis stopped and restarted, Redis hung with SIGSTOP, the pub/sub connections killed.
 *
 * The private Redis keeps an append-only file in a temporary directory, so users, rooms and logs
 * survive the restart, as they would in production. It is killed with SIGKILL (a crash): Redis
 * write()s the AOF before it sends the replies of a batch, so what was answered is in the file
 * (the page cache outlives the process). The other way round is the one thing no timeout can
 * settle: an append that Redis ran and wrote but whose reply the kill cut off is answered with an
 * error although it is in the log. With appendfsync everysec (the default) that window is a few
 * microseconds between the AOF write and the reply; with `always` it would include an fsync.
 */

const COMMAND_TIMEOUT_MS = 1000;

const SEND = 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }';
const SUBSCRIBE = 'subscription($r:String!,$a:ID){ messageAdded(room:$r, after:$a){ id text } }';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Undone after each test, passed or failed: sender loops and sockets must not leak into the next one. */
const cleanups: (() => Promise<unknown>)[] = [];

interface SendRecord {
  readonly sender: number;
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly id?: string;
  readonly code?: unknown;
  /** The request itself failed (server gone, connection reset): never expected. */
  readonly transportError?: string;
}

/** One sequential sender per instance, each its own user, until stopped. */
function startSenders(servers: readonly ServerProcess[], users: readonly Session[], room: string, tag: string, pauseMs = 20) {
  const records: SendRecord[] = [];
  let running = true;
  const loops = servers.map(async (s, i) => {
    for (let n = 0; running; n++) {
      const text = `${tag}-${i}-${n}`;
      const start = Date.now();
      try {
        const r = await gql<{ sendMessage: { id: string } }>(s.httpUrl, SEND, { r: room, t: text }, users[i]!.accessToken);
        const id = r.data?.sendMessage?.id;
        records.push(id ? { sender: i, text, start, end: Date.now(), id } : { sender: i, text, start, end: Date.now(), code: r.errors?.[0]?.extensions?.code ?? 'NONE' });
      } catch (err) {
        records.push({ sender: i, text, start, end: Date.now(), transportError: String(err) });
      }
      await sleep(pauseMs);
    }
  });
  const stop = async () => {
    running = false;
    await Promise.all(loops);
  };
  cleanups.push(stop);
  return {
    records,
    ok: () => records.filter((r) => r.id !== undefined),
    failed: () => records.filter((r) => r.id === undefined),
    stop,
  };
}

/** Every id of a room's log, oldest first. */
async function logOf(s: ServerProcess, room: string, token: string): Promise<{ id: string; text: string }[]> {
  const all: { id: string; text: string }[] = [];
  let before: string | undefined;
  for (;;) {
    const r = await gql<{ recentMessages: { id: string; text: string }[] }>(
      s.httpUrl,
      'query($r:String!,$b:ID){ recentMessages(room:$r, limit:200, before:$b){ id text } }',
      { r: room, b: before },
      token,
    );
    if (!r.data) throw new Error(`recentMessages failed: ${JSON.stringify(r.errors)}`);
    const page = r.data.recentMessages;
    all.unshift(...page);
    if (page.length < 200) return all;
    before = page[0]!.id;
  }
}

const readyStatus = async (s: ServerProcess) => {
  try {
    return (await fetch(`${s.url}/ready`)).status;
  } catch {
    return -1;
  }
};

const metric = async (s: ServerProcess, name: string) => {
  const m = new RegExp(`^${name} (\\S+)`, 'm').exec(await (await fetch(`${s.url}/metrics`)).text());
  return Number(m?.[1] ?? NaN);
};

interface Watcher {
  readonly name: string;
  readonly client: Client;
  readonly sub: ReturnType<typeof collect>;
  ids(): string[];
}

function watch(name: string, s: ServerProcess, user: Session, room: string, after?: string): Watcher {
  const client = wsClient(s.wsUrl, user.accessToken);
  cleanups.push(async () => client.dispose());
  const sub = collect(client, SUBSCRIBE, { r: room, a: after ?? null });
  return { name, client, sub, ids: () => sub.results.map((r) => (r.data as { messageAdded: { id: string } }).messageAdded.id) };
}

/** Live deliveries missing between a watcher's first and last id, and duplicates. */
function holes(received: readonly string[], log: readonly string[]) {
  const first = log.indexOf(received[0]!);
  const last = log.indexOf(received.at(-1)!);
  const got = new Set(received);
  return {
    missing: first < 0 || last < 0 ? -1 : log.slice(first, last + 1).filter((id) => !got.has(id)).length,
    duplicates: received.length - got.size,
  };
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

describe('faults: two server processes on a private Redis that fails', () => {
  let redis: RedisServer;
  let deployment: Deployment;
  let servers: ServerProcess[] = [];
  let users: Session[] = [];

  beforeAll(async () => {
    // the test kills Redis (SIGKILL) and holds the log to every acknowledged send: with everysec, Redis
    // itself may lose the last writes before the kill (seen once: two sends a few ms before it)
    redis = await startRedisServer({ persist: true, fsync: 'always' });
    deployment = await startDeployment({
      redisUrl: redis.url,
      env: {
        REDIS_COMMAND_TIMEOUT: String(COMMAND_TIMEOUT_MS),
        MESSAGE_RATE_LIMIT: '100000/1',
        HISTORY_LIMIT: '100000',
        SHUTDOWN_TIMEOUT: '3',
      },
    });
    servers = deployment.servers;
    users = [await signUp(servers[0]!.httpUrl, 'alice'), await signUp(servers[1]!.httpUrl, 'bob')];
  }, 60_000);

  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((f) => f().catch(() => {})));
  });

  afterAll(async () => {
    const codes = (await deployment?.stop()) ?? [];
    await redis?.dispose();
    // a graceful stop exits 0 (checked here so that a crash at shutdown is not missed either)
    expect(codes).toEqual(servers.map(() => 0));
  }, 30_000);

  /** No process exited and none reported an unhandled rejection or exception. */
  const expectHealthyProcesses = () => {
    for (const s of servers) {
      expect(s.child.exitCode, s.output()).toBeNull();
      expect(s.child.signalCode).toBeNull();
      expect(s.output()).not.toMatch(/unhandled|uncaught/i);
    }
  };

  const createRoom = async (prefix: string) => {
    const room = `${prefix}-${Date.now() % 1e8}`;
    const r = await gql(servers[0]!.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, users[0]!.accessToken);
    expect(r.errors).toBeUndefined();
    return room;
  };

  const waitForSubscriptions = (s: ServerProcess, atLeast: number) =>
    waitFor(async () => (await metric(s, 'chat_active_subscriptions')) >= atLeast, { what: `${atLeast} subscriptions on ${s.url}` });

  it('Redis stopped for seconds then restarted: no crash, sends fail fast with SERVICE_UNAVAILABLE, /ready follows, nothing answered wrongly, subscribers hold the log exactly', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const room = await createRoom('outage');
    // per instance: one subscriber that stays connected through the outage and one that drops at
    // its start and comes back on the other instance with `after` = the last id it saw
    const stayers = [watch('stayer-a', a, users[0]!, room), watch('stayer-b', b, users[1]!, room)];
    const leavers = [watch('leaver-a', a, users[1]!, room), watch('leaver-b', b, users[0]!, room)];
    await Promise.all([waitForSubscriptions(a, 2), waitForSubscriptions(b, 2)]);

    const senders = startSenders(servers, users, room, 'o');
    await Promise.all([...stayers, ...leavers].map((w) => w.sub.next(10, 15_000)));

    await redis.stop();
    const stoppedAt = Date.now();
    let restartAt = 0;
    await Promise.all(leavers.map((w) => w.client.dispose()));
    try {
      // /ready turns 503 on both instances during the outage
      await Promise.all(servers.map((s) => waitFor(async () => (await readyStatus(s)) === 503, { timeoutMs: 10_000, what: `/ready 503 on ${s.url}` })));
      // a new subscription is refused with the same clear error
      const refused = watch('during', a, users[0]!, room);
      await refused.sub.next(1, 10_000);
      // (graphql-ws carries an error of the subscription's source as a `next` with errors, then `complete`)
      expect(refused.sub.results[0]?.errors?.[0]?.extensions?.code, JSON.stringify([refused.sub.results, refused.sub.error])).toBe('SERVICE_UNAVAILABLE');
      await refused.client.dispose();
      // keep Redis away ~4 s in all, with every sender answered at least a few times meanwhile
      await waitFor(() => [0, 1].every((i) => senders.records.filter((r) => r.sender === i && r.start >= stoppedAt).length >= 3), {
        timeoutMs: 15_000,
        what: 'sends during the outage',
      });
      await sleep(Math.max(0, 4000 - (Date.now() - stoppedAt)));
    } finally {
      restartAt = Date.now();
      await redis.restart();
    }
    const restartedAt = Date.now();

    await Promise.all(servers.map((s) => waitFor(async () => (await readyStatus(s)) === 200, { timeoutMs: 20_000, what: `/ready 200 on ${s.url}` })));
    const readyAt = Date.now();
    // both senders succeed again for a while after the restart
    await waitFor(() => [0, 1].every((i) => senders.ok().filter((r) => r.sender === i && r.start >= restartedAt).length >= 20), {
      timeoutMs: 20_000,
      what: 'sends to succeed after the restart',
    });
    // the leavers come back on the other instance and resume after the last id they saw
    const resumed = leavers.map((w, i) => ({ before: w.ids(), w: watch(`${w.name}-resumed`, servers[1 - i]!, users[i]!, room, w.ids().at(-1)) }));
    await Promise.all([waitForSubscriptions(a, 2), waitForSubscriptions(b, 2)]);
    await sleep(300); // a few live messages after the resume too
    await senders.stop();

    const log = await logOf(a, room, users[0]!.accessToken);
    const logIds = log.map((m) => m.id);
    const lastId = logIds.at(-1)!;
    for (const w of [...stayers, ...resumed.map((r) => r.w)]) {
      await waitFor(() => w.ids().includes(lastId) || w.sub.error !== null || w.sub.completed, { timeoutMs: 15_000, what: `${w.name} to reach the end of the log` });
    }

    // the answers are the truth: exactly the sends answered with success are in the log
    const ok = senders.ok();
    const failed = senders.failed();
    const during = senders.records.filter((r) => r.start >= stoppedAt && r.end <= restartAt);
    const failLatencies = failed.map((r) => r.end - r.start);
    const stats = {
      sends: senders.records.length,
      ok: ok.length,
      failed: failed.length,
      duringOutage: during.length,
      maxFailLatencyMs: Math.max(...failLatencies),
      meanFailLatencyMs: Math.round(sum(failLatencies) / Math.max(1, failLatencies.length)),
      outageMs: restartAt - stoppedAt,
      readyAfterRestartMs: readyAt - restartedAt,
      log: log.length,
      stayers: stayers.map((w) => ({ name: w.name, received: w.ids().length, ...holes(w.ids(), logIds) })),
      resumed: resumed.map((r) => ({ name: r.w.name, before: r.before.length, after: r.w.ids().length })),
    };
    console.log('[faults] redis stop/restart:', JSON.stringify(stats));

    expect(senders.records.filter((r) => r.transportError)).toEqual([]);
    expect(during.length).toBeGreaterThan(0);
    for (const r of during) expect(r.code).toBe('SERVICE_UNAVAILABLE');
    for (const r of failed) expect(r.code).toBe('SERVICE_UNAVAILABLE');
    // failing fast, shown by events rather than a clock: sends were answered (with the error) while Redis was still down
    const logTexts = new Set(log.map((m) => m.text));
    expect(failed.filter((r) => logTexts.has(r.text)).map((r) => r.text)).toEqual([]);
    expect(new Set(ok.map((r) => r.id))).toEqual(new Set(logIds));
    expect(new Set(ok.map((r) => r.text))).toEqual(logTexts);

    // subscribers hold the log from their first message on, each message once, in order
    for (const w of stayers) {
      expect(w.sub.error, w.name).toBeNull();
      const ids = w.ids();
      expect(ids, w.name).toEqual(logIds.slice(logIds.indexOf(ids[0]!)));
    }
    for (const { before, w } of resumed) {
      expect(w.sub.error, w.name).toBeNull();
      expect(w.ids(), w.name).toEqual(logIds.slice(logIds.indexOf(before.at(-1)!) + 1));
      const all = [...before, ...w.ids()];
      expect(all, w.name).toEqual(logIds.slice(logIds.indexOf(before[0]!)));
    }
    expectHealthyProcesses();
    await Promise.all([...stayers, ...resumed.map((r) => r.w)].map((w) => w.client.dispose()));
  }, 90_000);

  it('Redis hung (SIGSTOP): sends answer SERVICE_UNAVAILABLE in bounded time, /ready 503; after SIGCONT all recovers and no refused send reaches the log', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const room = await createRoom('hang');
    const watchers = [watch('hang-a', a, users[0]!, room), watch('hang-b', b, users[1]!, room)];
    await Promise.all([waitForSubscriptions(a, 1), waitForSubscriptions(b, 1)]);
    const senders = startSenders(servers, users, room, 'h');
    await Promise.all(watchers.map((w) => w.sub.next(5, 15_000)));

    const pid = redis.process.pid!;
    process.kill(pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    let contAt = 0;
    try {
      await Promise.all(servers.map((s) => waitFor(async () => (await readyStatus(s)) === 503, { timeoutMs: 15_000, what: `/ready 503 on ${s.url}` })));
      await waitFor(() => [0, 1].every((i) => senders.failed().filter((r) => r.sender === i && r.start >= stoppedAt).length >= 2), {
        timeoutMs: 20_000,
        what: 'sends to fail while Redis hangs',
      });
      // asleep well past every deadline before it runs what is queued
      await sleep(Math.max(0, 4000 - (Date.now() - stoppedAt)));
    } finally {
      process.kill(pid, 'SIGCONT');
      contAt = Date.now();
    }

    await Promise.all(servers.map((s) => waitFor(async () => (await readyStatus(s)) === 200, { timeoutMs: 15_000, what: `/ready 200 on ${s.url}` })));
    await waitFor(() => [0, 1].every((i) => senders.ok().filter((r) => r.sender === i && r.start >= contAt).length >= 10), {
      timeoutMs: 15_000,
      what: 'sends to succeed after SIGCONT',
    });
    await senders.stop();
    // live delivery after the wake-up, on both instances
    const probe = await gql<{ sendMessage: { id: string } }>(a.httpUrl, SEND, { r: room, t: 'probe' }, users[0]!.accessToken);
    const probeId = probe.data!.sendMessage.id;
    await Promise.all(watchers.map((w) => waitFor(() => w.ids().includes(probeId), { what: `${w.name} to receive the probe` })));

    // give Redis's queued scripts every chance to have run: a PING behind them on a fresh connection
    const admin = new Redis(redis.url);
    await admin.ping();
    admin.disconnect();
    const log = await logOf(a, room, users[0]!.accessToken);
    const logIds = log.map((m) => m.id);
    const logTexts = new Set(log.map((m) => m.text));
    const ok = senders.ok();
    const failed = senders.failed();
    const hung = senders.records.filter((r) => r.start >= stoppedAt && r.start < contAt);
    const failLatencies = failed.map((r) => r.end - r.start);
    console.log(
      '[faults] redis SIGSTOP:',
      JSON.stringify({
        sends: senders.records.length,
        ok: ok.length,
        failed: failed.length,
        startedWhileHung: hung.length,
        maxFailLatencyMs: Math.max(...failLatencies),
        meanFailLatencyMs: Math.round(sum(failLatencies) / Math.max(1, failLatencies.length)),
        hungMs: contAt - stoppedAt,
        log: log.length,
        received: watchers.map((w) => w.ids().length),
      }),
    );

    expect(senders.records.filter((r) => r.transportError)).toEqual([]);
    expect(failed.length).toBeGreaterThan(0);
    for (const r of failed) expect(r.code).toBe('SERVICE_UNAVAILABLE');
    // failing fast: some were answered while Redis was still stopped, not when it woke
    expect(failed.filter((r) => r.end < contAt).length).toBeGreaterThan(0);
    expect(failed.filter((r) => logTexts.has(r.text)).map((r) => r.text)).toEqual([]);
    expect(new Set(ok.map((r) => r.id).concat(probeId))).toEqual(new Set(logIds));
    for (const w of watchers) {
      expect(w.sub.error, w.name).toBeNull();
      expect(w.ids(), w.name).toEqual(logIds.slice(logIds.indexOf(w.ids()[0]!)));
    }
    expectHealthyProcesses();
    await Promise.all(watchers.map((w) => w.client.dispose()));
  }, 90_000);

  it('the pub/sub connections killed (CLIENT KILL TYPE pubsub): instances resubscribe and existing subscribers keep receiving', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const room = await createRoom('kill');
    const watchers = [watch('kill-a1', a, users[0]!, room), watch('kill-a2', a, users[1]!, room), watch('kill-b1', b, users[0]!, room), watch('kill-b2', b, users[1]!, room)];
    await Promise.all([waitForSubscriptions(a, 2), waitForSubscriptions(b, 2)]);
    const send = async (s: ServerProcess, text: string) => {
      const r = await gql<{ sendMessage: { id: string } }>(s.httpUrl, SEND, { r: room, t: text }, users[0]!.accessToken);
      if (!r.data) throw new Error(JSON.stringify(r.errors));
      return r.data.sendMessage.id;
    };
    const first = await send(a, 'before the kill');
    await Promise.all(watchers.map((w) => waitFor(() => w.ids().includes(first), { what: `${w.name}: first` })));

    const admin = new Redis(redis.url);
    try {
      const numsub = async () => Number(((await admin.pubsub('NUMSUB', `${deployment.prefix}room:{${room}}`)) as [string, number])[1]);
      expect(await numsub()).toBe(2);
      const killed = Number(await admin.client('KILL', 'TYPE', 'pubsub'));
      expect(killed).toBeGreaterThanOrEqual(2);
      // right after the kill, before the instances can have subscribed again
      const rightAfter = await send(b, 'right after the kill');
      await waitFor(async () => (await numsub()) === 2, { timeoutMs: 10_000, what: 'both instances to subscribe again' });
      const later = [await send(a, 'after resubscribing (a)'), await send(b, 'after resubscribing (b)')];
      await Promise.all(watchers.map((w) => waitFor(() => later.every((id) => w.ids().includes(id)), { timeoutMs: 10_000, what: `${w.name}: after the kill` })));
      const log = (await logOf(a, room, users[0]!.accessToken)).map((m) => m.id);
      expect(log).toEqual([first, rightAfter, ...later]);
      console.log('[faults] CLIENT KILL TYPE pubsub:', JSON.stringify({ killed, received: watchers.map((w) => w.ids().length) }));
      for (const w of watchers) {
        expect(w.sub.error, w.name).toBeNull();
        // the message sent in the reconnect window too: the engine fills the gap from the log
        expect(w.ids(), w.name).toEqual(log);
      }
    } finally {
      admin.disconnect();
    }
    expectHealthyProcesses();
    await Promise.all(watchers.map((w) => w.client.dispose()));
  }, 60_000);
});
