import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendUnavailableError } from '../src/errors.js';
import { createRedisEngine } from '../src/pubsub/redis/index.js';
import type { Engine, RoomSignal, StoredMessage } from '../src/pubsub/types.js';
import { createRedisClient, waitUntilReady } from '../src/store/redis-client.js';
import { createRedisStore } from '../src/store/redis.js';
import type { Store } from '../src/store/types.js';
import { waitFor } from './support/net.js';
import { startTcpProxy } from './support/proxy.js';
import { startRedisServer, type RedisServer } from './support/redis.js';

// A private redis-server on its own port: these tests kill, stop and restart it (never the shared one).

const COMMAND_TIMEOUT_MS = 1000;
const draft = (text: string) => ({ text, authorId: 'author', authorName: 'alice' });
const roomName = () => `room-${randomUUID().slice(0, 12)}`;

/** Runs `fn` and returns how long it took to settle, and its error. */
async function timed(fn: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const start = Date.now();
  try {
    await fn();
    return { ms: Date.now() - start, error: undefined };
  } catch (error) {
    return { ms: Date.now() - start, error };
  }
}

interface Backend {
  client: Redis;
  subscriber: Redis;
  store: Store;
  engine: Engine;
}

async function connect(server: RedisServer): Promise<Backend> {
  const client = createRedisClient(server.url, { commandTimeoutMs: COMMAND_TIMEOUT_MS, name: 'faults' });
  const subscriber = createRedisClient(server.url, { commandTimeoutMs: COMMAND_TIMEOUT_MS, name: 'faults-sub' });
  await Promise.all([waitUntilReady(client, 5000), waitUntilReady(subscriber, 5000)]);
  const keyPrefix = 'faults:';
  return {
    client,
    subscriber,
    store: createRedisStore({ client, keyPrefix }),
    engine: createRedisEngine({ client, subscriber, keyPrefix, historyLimit: 100, historyTtl: 3600 }),
  };
}

describe('redis faults', () => {
  let server: RedisServer;
  let backend: Backend;

  beforeAll(async () => {
    server = await startRedisServer();
    backend = await connect(server);
  });
  afterAll(async () => {
    await backend?.engine.close();
    await backend?.store.close();
    await server?.dispose();
  });

  it('while Redis is down calls fail fast with BackendUnavailableError and ping is false; after a restart all works again, live delivery included', async () => {
    const { engine, store, subscriber } = backend;
    const room = roomName();
    const received: StoredMessage[] = [];
    const subscription = await engine.delivery.subscribe({ kind: 'room', room }, (m) => received.push(m as StoredMessage));
    const before = await engine.log.append(room, draft('before'));
    await waitFor(() => received.length === 1, { what: 'delivery before the outage' });
    const leftRoom = roomName();
    const unrelated = await engine.delivery.subscribe({ kind: 'room', room: leftRoom }, () => {});

    await server.stop();
    await waitFor(() => subscriber.status !== 'ready', { what: 'the subscriber to notice' });

    for (const call of [
      () => engine.log.append(room, draft('during')),
      () => store.findUser('alice'),
      () => store.createUser({ id: randomUUID(), username: 'bob', passwordHash: 'x', createdAt: new Date().toISOString() }),
      () => store.addMember('general', 'someone'),
      () => engine.log.range(room, { limit: 10, from: 'oldest' }),
      () => engine.delivery.subscribe({ kind: 'room', room: roomName() }, () => {}),
    ]) {
      const { ms, error } = await timed(call);
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect(ms).toBeLessThan(3000);
    }
    for (const ping of [() => engine.ping(), () => store.ping()]) {
      const start = Date.now();
      expect(await ping()).toBe(false);
      expect(Date.now() - start).toBeLessThan(1500);
    }
    // leaving a channel during the outage must not leave a rejection unhandled
    await unrelated.unsubscribe();

    await server.restart();
    await waitFor(() => engine.ping(), { timeoutMs: 15_000, what: 'engine ping after restart' });
    await waitFor(() => store.ping(), { timeoutMs: 15_000, what: 'store ping after restart' });

    // the listener subscribed before the outage is subscribed again (the engine resubscribes on
    // 'ready'); pub/sub is at-most-once, so retry until the resubscription has reached Redis
    await waitFor(
      async () => {
        const probe = await engine.log.append(room, draft('probe'));
        await new Promise((r) => setTimeout(r, 100));
        return received.some((m) => m.id === probe.id);
      },
      { timeoutMs: 10_000, what: 'delivery after the restart' },
    );
    const count = received.length;
    const after = await engine.log.append(room, draft('after'));
    await waitFor(() => received.length === count + 1, { what: 'the next delivery' });
    expect(received.at(-1)).toEqual(after);
    expect(received[0]).toEqual(before);
    // scripts are loaded again on the new connection (the restarted Redis has an empty script cache)
    expect(await store.createUser({ id: randomUUID(), username: 'carol', passwordHash: 'x', createdAt: new Date().toISOString() })).toBe(true);
    // the channel left during the outage is not kept subscribed after the reconnect
    const numsub = async () => Number(((await backend.client.pubsub('NUMSUB', `faults:room:{${leftRoom}}`)) as [string, number])[1]);
    await waitFor(async () => (await numsub()) === 0, { timeoutMs: 5000, what: 'the left channel to be unsubscribed' });
    await subscription.unsubscribe();
  });

  it('signals (graphql-redis-subscriptions) through an outage: leaving during it leaves no unhandled rejection, subscribing during it fails clearly, and afterwards signals flow again', async () => {
    const { engine, client } = backend;
    const room = roomName();
    const left = roomName();
    const got: RoomSignal[] = [];
    const typing = (r: string): RoomSignal => ({ type: 'typing', room: r, userId: 'u1', username: 'ann', expiresAt: new Date().toISOString() });
    const kept = await engine.signals.subscribe(room, (s) => got.push(s));
    const leaving = await engine.signals.subscribe(left, () => {});
    await engine.signals.publish(typing(room));
    await waitFor(() => got.length === 1, { what: 'a signal before the outage' });

    await server.stop();
    await waitFor(() => client.status !== 'ready', { what: 'the client to notice' });
    // RedisPubSub sends UNSUBSCRIBE without handling its failure: it must wait for the reconnect
    // (vitest fails the run on an unhandled rejection)
    await leaving.unsubscribe();
    const { ms, error } = await timed(() => engine.signals.subscribe(roomName(), () => {}));
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(ms).toBeLessThan(3000);
    await expect(engine.signals.publish(typing(room))).rejects.toBeInstanceOf(BackendUnavailableError);

    await server.restart();
    await waitFor(() => engine.ping(), { timeoutMs: 15_000, what: 'engine ping after restart' });
    // ioredis resubscribed the kept channel; signals are at-most-once, so retry until it has
    await waitFor(
      async () => {
        await engine.signals.publish(typing(room)).catch(() => {});
        await new Promise((r) => setTimeout(r, 100));
        return got.length > 1;
      },
      { timeoutMs: 10_000, what: 'a signal after the restart' },
    );
    // the channel left during the outage is unsubscribed once the connection is back
    const numsub = async () => Number(((await client.pubsub('NUMSUB', `faults:room:{${left}}:signals`)) as [string, number])[1]);
    await waitFor(async () => (await numsub()) === 0, { timeoutMs: 5000, what: 'the left signal channel to be unsubscribed' });
    const fresh: RoomSignal[] = [];
    const again = await engine.signals.subscribe(left, (s) => fresh.push(s));
    await engine.signals.publish(typing(left));
    await waitFor(() => fresh.length === 1, { what: 'a signal on a channel subscribed after the restart' });
    await Promise.all([kept.unsubscribe(), again.unsubscribe()]);
  });

  it('an append that Redis ran but whose reply was cut off fails; retried with the same clientId it answers that message, and the log holds it once', async () => {
    const proxy = await startTcpProxy(server.port);
    const client = createRedisClient(proxy.url, { commandTimeoutMs: COMMAND_TIMEOUT_MS, name: 'faults-cutoff' });
    const subscriber = createRedisClient(server.url, { commandTimeoutMs: COMMAND_TIMEOUT_MS, name: 'faults-cutoff-sub' });
    await Promise.all([waitUntilReady(client, 5000), waitUntilReady(subscriber, 5000)]);
    const engine = createRedisEngine({ client, subscriber, keyPrefix: 'faults:', historyLimit: 100, historyTtl: 3600 });
    try {
      const room = roomName();
      const received: StoredMessage[] = [];
      await backend.engine.delivery.subscribe({ kind: 'room', room }, (m) => received.push(m as StoredMessage));
      const clientId = randomUUID();
      // Redis runs the script; its reply never reaches the client, which times out
      proxy.mute('faults-cutoff');
      const lost = await timed(() => engine.log.append(room, draft('sent once'), { clientId }));
      expect(lost.error).toBeInstanceOf(BackendUnavailableError);
      await waitFor(() => received.length === 1, { what: 'the message Redis stored and published' });
      // the connection is dropped (as a dead link would be) and comes back
      proxy.cut('faults-cutoff');
      await waitFor(() => client.status !== 'ready', { what: 'the client to see its connection drop' });
      proxy.restore();
      await waitFor(() => client.status === 'ready', { timeoutMs: 10_000, what: 'the client to reconnect' });
      const retried = await engine.log.append(room, draft('sent once'), { clientId });
      expect(retried).toEqual(received[0]);
      expect(await backend.engine.log.range(room, { limit: 10, from: 'oldest' })).toEqual([retried]);
      const probe = await engine.log.append(room, draft('probe'));
      await waitFor(() => received.length === 2, { what: 'the probe' });
      expect(received.map((m) => m.id)).toEqual([retried.id, probe.id]);
    } finally {
      await engine.close();
      await proxy.close();
    }
  });

  it('an engine closes promptly while its connections wait between two reconnection attempts', async () => {
    const proxy = await startTcpProxy(server.port);
    const client = createRedisClient(proxy.url, { commandTimeoutMs: COMMAND_TIMEOUT_MS, name: 'faults-closing' });
    const subscriber = createRedisClient(proxy.url, { commandTimeoutMs: COMMAND_TIMEOUT_MS, name: 'faults-closing-sub' });
    await Promise.all([waitUntilReady(client, 5000), waitUntilReady(subscriber, 5000)]);
    const engine = createRedisEngine({ client, subscriber, keyPrefix: 'faults:', historyLimit: 100, historyTtl: 3600 });
    try {
      proxy.cut();
      await waitFor(() => client.status === 'reconnecting' && subscriber.status === 'reconnecting', { what: 'both connections between attempts' });
      const { ms, error } = await timed(() => engine.close());
      expect(error).toBeUndefined();
      expect(ms).toBeLessThan(3000);
      // and stays closed: with Redis reachable again, past the next retry delay, neither reconnects
      proxy.restore();
      await new Promise((r) => setTimeout(r, 500));
      expect([client.status, subscriber.status]).not.toContain('ready');
    } finally {
      await proxy.close();
    }
  });

  it('an append to a Redis that hangs fails, and after Redis wakes up the refused message is not in the log', async () => {
    const { engine, store } = backend;
    const pid = server.process.pid!;
    const room = roomName();
    const received: StoredMessage[] = [];
    await engine.delivery.subscribe({ kind: 'room', room }, (m) => received.push(m as StoredMessage));
    const kept = await engine.log.append(room, draft('kept'));

    process.kill(pid, 'SIGSTOP');
    try {
      // one with a short deadline of its own, one bounded only by the client's command timeout
      const short = timed(() => engine.log.append(room, draft('refused, short deadline'), { deadline: Date.now() + 200 }));
      const plain = timed(() => engine.log.append(room, draft('refused, command timeout')));
      const subscribing = timed(() => engine.delivery.subscribe({ kind: 'room', room: roomName() }, () => {}));
      const pingStart = Date.now();
      expect(await engine.ping()).toBe(false);
      expect(Date.now() - pingStart).toBeLessThan(1500);
      for (const { ms, error } of [await short, await plain, await subscribing]) {
        expect(error).toBeInstanceOf(BackendUnavailableError);
        expect(ms).toBeLessThan(3000);
      }
      // let Redis stay asleep past every deadline before it runs the queued commands
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      process.kill(pid, 'SIGCONT');
    }

    await waitFor(() => store.ping(), { timeoutMs: 10_000, what: 'ping after SIGCONT' });
    const next = await engine.log.append(room, draft('next'));
    await waitFor(() => received.length >= 2, { what: 'delivery after SIGCONT' });
    expect(await engine.log.range(room, { limit: 100, from: 'oldest' })).toEqual([kept, next]);
    expect(received).toEqual([kept, next]);
  });
});
