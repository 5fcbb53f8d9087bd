import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRedisEngine } from '../src/pubsub/redis/index.js';
import { isChange, type Engine, type LogEntry } from '../src/pubsub/types.js';
import { createRedisClient, waitUntilReady } from '../src/store/redis-client.js';
import { waitFor } from './support/net.js';
import { startTcpProxy, type TcpProxy } from './support/proxy.js';
import { testPrefix } from './support/redis.js';

/*
 * Two engines on one Redis (the shared one, a private prefix), as two instances: A connects
 * directly, B through a TCP proxy that holds B's subscriber connection down while A writes. Pub/sub
 * loses what is published meanwhile; what B delivers once it reconnects comes from the logs.
 */

const roomName = () => `room-${randomUUID().slice(0, 12)}`;
const draft = (text: string, authorId = 'ann') => ({ text, authorId, authorName: authorId });

describe('gaps: what an instance receives after its subscriber connection was down', () => {
  const url = inject('redisUrl');
  const { prefix, cleanup } = testPrefix();
  let proxy: TcpProxy;
  let a: Engine;
  let b: Engine;
  const engines: Engine[] = [];

  const engine = async (redisUrl: string, name: string) => {
    const client = createRedisClient(redisUrl, { commandTimeoutMs: 2000, name });
    const subscriber = createRedisClient(redisUrl, { commandTimeoutMs: 2000, name: `${name}-sub` });
    await Promise.all([waitUntilReady(client, 5000), waitUntilReady(subscriber, 5000)]);
    const made = createRedisEngine({ client, subscriber, keyPrefix: prefix, historyLimit: 1000, historyTtl: 3600 });
    engines.push(made);
    return made;
  };

  beforeAll(async () => {
    proxy = await startTcpProxy(Number(new URL(url).port || 6379), new URL(url).hostname);
    a = await engine(url, 'gaps-a');
    b = await engine(proxy.url, 'gaps-b');
  });
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await proxy?.close();
    await cleanup(url);
  });

  /** Holds B's subscriber down while `during` runs, then lets it reconnect. */
  async function whileBIsDown(during: () => Promise<void>) {
    proxy.cut('gaps-b-sub');
    await waitFor(async () => !(await b.ping()), { what: "B's subscriber to notice" });
    try {
      await during();
    } finally {
      proxy.restore();
    }
    await waitFor(() => b.ping(), { timeoutMs: 10_000, what: "B's subscriber back" });
  }

  it('a room message deleted during the gap is not filled in: only its tombstone is, and a message edited meanwhile comes with its current text', async () => {
    const room = roomName();
    const got: LogEntry[] = [];
    await b.delivery.subscribe({ kind: 'room', room }, (e) => got.push(e));
    const before = await a.log.append(room, draft('before'));
    await waitFor(() => got.length === 1, { what: 'the first message on B' });
    let gone = '';
    let edited = '';
    await whileBIsDown(async () => {
      gone = (await a.log.append(room, draft('secret'))).id;
      edited = (await a.log.append(room, draft('draft one'))).id;
      await a.log.change(room, { kind: 'edited', target: edited, text: 'final text', authorId: 'ann', authorName: 'ann' });
      await a.log.change(room, { kind: 'deleted', target: gone, text: '', authorId: 'ann', authorName: 'ann' });
    });
    const after = await a.log.append(room, draft('after'));
    await waitFor(() => got.some((e) => e.id === after.id), { what: 'the message after the gap on B' });
    expect(got[0]).toEqual(before);
    expect(got.map((e) => (isChange(e) ? `${e.kind}:${e.target}:${e.text}` : `${e.id}:${e.text}`))).toEqual([
      `${before.id}:before`,
      `${edited}:final text`,
      `edited:${edited}:final text`,
      `deleted:${gone}:`,
      `${after.id}:after`,
    ]);
    expect(JSON.stringify(got)).not.toMatch(/secret|draft one/);
  });
});
