import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRedisEngine } from '../src/pubsub/redis/index.js';
import { isChange, type ControlEvent, type Engine, type LogEntry, type StoredMessage } from '../src/pubsub/types.js';
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
    expect(got.map((e) => (isChange(e) ? `${e.kind}:${e.target}:${e.text}` : `${e.id}:${(e as StoredMessage).text}`))).toEqual([
      `${before.id}:before`,
      `${edited}:final text`,
      `edited:${edited}:final text`,
      `deleted:${gone}:`,
      `${after.id}:after`,
    ]);
    expect(JSON.stringify(got)).not.toMatch(/secret|draft one/);
  });

  it('control events published while the subscriber was down reach it once it reconnects, each once, in order, before the room messages it missed', async () => {
    const room = roomName();
    const order: string[] = [];
    const control = await b.control.subscribe((e) => order.push(e.type === 'login-revoked' ? `revoked ${e.familyId}` : `removed ${e.userId}`));
    const roomSub = await b.delivery.subscribe({ kind: 'room', room }, (e) => order.push(`message ${(e as StoredMessage).text}`));
    const family = randomUUID();
    const member = randomUUID();
    await whileBIsDown(async () => {
      await a.log.append(room, draft('missed'));
      await a.control.publish({ type: 'member-removed', room, userId: member });
      await a.control.publish({ type: 'login-revoked', familyId: family });
    });
    await waitFor(() => order.length === 3, { what: 'what B missed' });
    await a.control.publish({ type: 'login-revoked', familyId: 'live' });
    await waitFor(() => order.length === 4, { what: 'a live event after the gap' });
    await new Promise((r) => setTimeout(r, 100));
    expect(order).toEqual([`removed ${member}`, `revoked ${family}`, 'message missed', 'revoked live']);
    await Promise.all([control.unsubscribe(), roomSub.unsubscribe()]);
  });

  it('a direct message sent while the subscriber was down reaches the recipient once it reconnects, exactly once; one deleted meanwhile does not', async () => {
    const dm = `dm:${randomUUID().slice(0, 8)}`;
    const bob = randomUUID();
    const got: StoredMessage[] = [];
    const sub = await b.delivery.subscribe({ kind: 'user', userId: bob }, (m) => got.push(m as StoredMessage));
    const before = await a.log.append(dm, draft('before'), { notifyUsers: [bob] });
    await waitFor(() => got.length === 1, { what: 'the first direct message' });
    let missed: StoredMessage | undefined;
    await whileBIsDown(async () => {
      missed = await a.log.append(dm, draft('while down'), { notifyUsers: [bob] });
      const doomed = await a.log.append(dm, draft('regretted'), { notifyUsers: [bob] });
      await a.log.change(dm, { kind: 'deleted', target: doomed.id, text: '', authorId: 'ann', authorName: 'ann' });
    });
    const after = await a.log.append(dm, draft('after'), { notifyUsers: [bob] });
    await waitFor(() => got.some((m) => m.id === after.id), { what: 'the direct message after the gap' });
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual([before, missed, after]);
    await sub.unsubscribe();
  });

  it('figures: under repeated forced reconnects, every room message, direct message and control event reaches the other instance once, in order', async () => {
    const room = roomName();
    const bob = randomUUID();
    const received = { room: [] as string[], direct: [] as string[], control: [] as string[] };
    const subs = [
      await b.delivery.subscribe({ kind: 'room', room }, (e) => received.room.push(e.id)),
      await b.delivery.subscribe({ kind: 'user', userId: bob }, (m) => received.direct.push(m.id)),
      await b.control.subscribe((e: ControlEvent) => e.type === 'login-revoked' && e.familyId.startsWith(room) && received.control.push(e.familyId)),
    ];
    const sent = { room: [] as string[], direct: [] as string[], control: [] as string[] };
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending; i++) {
        sent.room.push((await a.log.append(room, draft(`m${i}`))).id);
        if (i % 3 === 0) sent.direct.push((await a.log.append(`dm:${room}`, draft(`d${i}`), { notifyUsers: [bob] })).id);
        if (i % 5 === 0) {
          const familyId = `${room}-${i}`;
          await a.control.publish({ type: 'login-revoked', familyId });
          sent.control.push(familyId);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const CUTS = 5;
    for (let cut = 0; cut < CUTS; cut++) {
      await new Promise((r) => setTimeout(r, 150));
      await whileBIsDown(() => new Promise((r) => setTimeout(r, 200)));
    }
    await new Promise((r) => setTimeout(r, 150));
    sending = false;
    await sender;
    const done = () => (['room', 'direct', 'control'] as const).every((k) => received[k].includes(sent[k].at(-1)!));
    await waitFor(done, { timeoutMs: 10_000, what: 'the last of each kind on B' });
    const figures = Object.fromEntries(
      (['room', 'direct', 'control'] as const).map((k) => [
        k,
        { sent: sent[k].length, delivered: received[k].length, lost: sent[k].filter((id) => !received[k].includes(id)).length, duplicated: received[k].length - new Set(received[k]).size },
      ]),
    );
    console.log(`[gaps] ${CUTS} forced reconnects of the subscriber (${proxy.cuts} connections cut or refused):`, JSON.stringify(figures));
    expect(received).toEqual(sent);
    await Promise.all(subs.map((s) => s.unsubscribe()));
  });
});
