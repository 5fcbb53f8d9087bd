import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, codeOf, gql, signUp, wsClient, type Session } from './support/client.js';
import { startDeployment, type Deployment } from './support/deployment.js';
import { waitFor } from './support/net.js';
import { type ClusterNode, type RedisCluster, startRedisCluster } from './support/redis-cluster.js';
import type { ServerProcess } from './support/server.js';

const SEND = 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }';
const CREATE = 'mutation($n:String!){ createRoom(name:$n){ name } }';
const ADDED = 'subscription($r:String!){ messageAdded(room:$r){ id text } }';

const activeSubscriptions = async (s: ServerProcess) => Number(/^chat_active_subscriptions (\d+)/m.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1] ?? 0);

/** Subscribes with `subscribe` and waits until `s` counts `count` more subscriptions (those of other tests may still be open). */
async function subscribed<T>(s: ServerProcess, count: number, subscribe: () => T): Promise<T> {
  const before = await activeSubscriptions(s);
  const made = subscribe();
  await waitFor(async () => (await activeSubscriptions(s)) >= before + count, { what: `${count} more subscriptions on ${s.url}` });
  return made;
}

const ascending = (ids: string[]) =>
  ids.every((id, i) => {
    if (i === 0) return true;
    const [pm, ps] = ids[i - 1]!.split('-').map(BigInt) as [bigint, bigint];
    const [m, s] = id.split('-').map(BigInt) as [bigint, bigint];
    return m > pm || (m === pm && s > ps);
  });

describe('two server processes on a Redis Cluster (three masters with replicas) behave as one server', () => {
  let cluster: RedisCluster;
  let deployment: Deployment;
  let a: ServerProcess;
  let b: ServerProcess;
  let alice: Session;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    deployment = await startDeployment({ cluster, env: { MESSAGE_RATE_LIMIT: '0' } });
    [a, b] = deployment.servers as [ServerProcess, ServerProcess];
    alice = await signUp(a.httpUrl, 'alice');
  }, 90_000);
  afterAll(async () => {
    await deployment?.stop();
    await cluster?.dispose();
  });

  /** Room names whose slots are served by `count` different masters (one room each). */
  async function roomsOnShards(count: number) {
    const byMaster = new Map<ClusterNode, string>();
    for (let i = 0; byMaster.size < count && i < 1000; i++) {
      const room = `shard-${i}-${Date.now() % 100_000}`;
      const master = await cluster.masterOf(await cluster.slotOf(`${deployment.prefix}room:{${room}}`));
      if (!byMaster.has(master)) byMaster.set(master, room);
    }
    return [...byMaster.values()];
  }

  it('delivers sends made on one instance to subscribers on the other, room by room in order, with rooms on every shard', async () => {
    const rooms = await roomsOnShards(3);
    expect(rooms).toHaveLength(3);
    for (const room of rooms) await gql(a.httpUrl, CREATE, { n: room }, alice.accessToken);
    const client = wsClient(b.wsUrl, alice.accessToken);
    const subs = await subscribed(b, rooms.length, () => rooms.map((room) => collect(client, ADDED, { r: room })));
    const perRoom = 40;
    const sent = new Map<string, string[]>(rooms.map((r) => [r, []]));
    await Promise.all(
      rooms.map(async (room) => {
        for (let n = 0; n < perRoom; n++) sent.get(room)!.push((await gql(a.httpUrl, SEND, { r: room, t: `${room}-${n}` }, alice.accessToken)).data.sendMessage.id);
      }),
    );
    const received = await Promise.all(subs.map((s) => s.next(perRoom, 20_000)));
    rooms.forEach((room, i) => {
      const ids = received[i]!.map((r) => r.data.messageAdded.id as string);
      expect(ids).toEqual(sent.get(room));
      expect(ascending(ids)).toBe(true);
      expect(received[i]!.map((r) => r.data.messageAdded.text)).toEqual(Array.from({ length: perRoom }, (_, n) => `${room}-${n}`));
    });
    // history on either instance reads the same logs
    const history = await gql(b.httpUrl, 'query($r:String!){ recentMessages(room:$r, limit:100){ id } }', { r: rooms[0] }, alice.accessToken);
    expect(history.data.recentMessages.map((m: { id: string }) => m.id)).toEqual(sent.get(rooms[0]!));
    for (const s of subs) s.dispose();
    await client.dispose();
  });

  it('a CLUSTER FAILOVER of the room\'s master while one instance sends and the other streams: every acknowledged send arrives once, in order; the others failed with SERVICE_UNAVAILABLE', async () => {
    const [room] = await roomsOnShards(1);
    await gql(a.httpUrl, CREATE, { n: room }, alice.accessToken);
    const client = wsClient(b.wsUrl, alice.accessToken);
    const sub = await subscribed(b, 1, () => collect(client, ADDED, { r: room }));
    const master = await cluster.masterOf(await cluster.slotOf(`${deployment.prefix}room:{${room}}`));
    const replica = await cluster.replicaOf(master);
    const acknowledged: string[] = [];
    const codes: unknown[] = [];
    let sending = true;
    const sender = (async () => {
      for (let n = 0; sending; n++) {
        const r = await gql(a.httpUrl, SEND, { r: room, t: `f${n}` }, alice.accessToken);
        if (r.data?.sendMessage) acknowledged.push(r.data.sendMessage.id);
        else codes.push(codeOf(r));
      }
    })();
    await waitFor(() => acknowledged.length >= 20, { what: 'sends before the failover' });
    await replica.with((c) => c.call('CLUSTER', 'FAILOVER'));
    await cluster.settled(30_000);
    const before = acknowledged.length;
    await waitFor(() => acknowledged.length >= before + 50, { timeoutMs: 30_000, what: 'sends after the failover' });
    sending = false;
    await sender;
    const received = (await sub.next(acknowledged.length, 20_000).catch(() => sub.results)).map((r) => r.data.messageAdded.id as string);
    const missing = acknowledged.filter((id) => !received.includes(id));
    if (missing.length) console.log(`[cluster-e2e] not received: ${missing.map((id) => `${id} (#${acknowledged.indexOf(id)})`).join(', ')}`);
    console.log(`[cluster-e2e] CLUSTER FAILOVER through the API: ${JSON.stringify({ acknowledged: acknowledged.length, failed: codes.length, received: received.length })}`);
    expect(received).toEqual(acknowledged);
    expect(new Set(codes)).toEqual(new Set(codes.length ? ['SERVICE_UNAVAILABLE'] : []));
    sub.dispose();
    await client.dispose();
  });
});
