/**
 * `npm run bench -- --cluster`: the chat server on a real local Redis Cluster, and how the rooms
 * spread over its shards.
 *
 * Starts a cluster of three masters (redis-server in cluster mode, as the tests do; no replicas),
 * two server instances on it (REDIS_CLUSTER_NODES), one WebSocket client on instance B subscribed
 * to messageAdded in every room, and sends messages over HTTP to instance A, spread evenly over the
 * rooms by a few concurrent senders. Reports sends/s (through tsx-run instances: a figure of this
 * machine, not of the server), deliveries and loss, and
 * for each master: the slots it serves, the room channels subscribed on it (PUBSUB SHARDCHANNELS),
 * the appends it ran (XADD calls from INFO commandstats), the SPUBLISHes it ran, its keys. With
 * classic PUBLISH every master would relay every message; with SPUBLISH each message stays on the
 * shard that holds its room.
 *
 * Knobs (env): BENCH_CLUSTER_ROOMS (60), BENCH_CLUSTER_MESSAGES (3000), BENCH_CLUSTER_SENDERS (16).
 */
import { performance } from 'node:perf_hooks';
import { collect, gql, signUp, wsClient } from '../test/support/client.js';
import { type RedisCluster, startRedisCluster } from '../test/support/redis-cluster.js';
import { type ServerProcess, startServerProcess } from '../test/support/server.js';

const num = (name: string, dflt: number) => {
  const n = Number(process.env[name] ?? dflt);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number`);
  return n;
};
const ROOMS = num('BENCH_CLUSTER_ROOMS', 60);
const MESSAGES = num('BENCH_CLUSTER_MESSAGES', 3000);
const SENDERS = num('BENCH_CLUSTER_SENDERS', 16);
const PREFIX = `bench-cluster-${Date.now() % 1_000_000}:`;
const SEND = 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }';

const say = (line: string) => process.stdout.write(`${line}\n`);

/** `field:value` lines of an INFO section. */
const infoFields = (info: string) => new Map(info.split('\r\n').filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)] as [string, string]));
const calls = (stats: Map<string, string>, command: string) => Number(/calls=(\d+)/.exec(stats.get(`cmdstat_${command}`) ?? '')?.[1] ?? 0);

export async function runClusterBench(): Promise<void> {
  say('Cluster benchmark: two instances on a local Redis Cluster of three masters');
  say(`rooms ${ROOMS}, messages ${MESSAGES}, concurrent senders ${SENDERS}`);
  let cluster: RedisCluster | undefined;
  const servers: ServerProcess[] = [];
  try {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
    const env = { REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.seeds, REDIS_KEY_PREFIX: PREFIX, MESSAGE_RATE_LIMIT: '0', WS_MAX_SUBSCRIPTIONS: String(ROOMS + 10) };
    servers.push(...(await Promise.all([startServerProcess(env), startServerProcess(env)])));
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const user = await signUp(a.httpUrl, 'bench');
    const rooms = Array.from({ length: ROOMS }, (_, i) => `bench-${i}`);
    for (const r of rooms) await gql(a.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: r }, user.accessToken);
    const client = wsClient(b.wsUrl, user.accessToken);
    const subs = rooms.map((r) => collect(client, 'subscription($r:String!){ messageAdded(room:$r){ text } }', { r }));
    // subscribed everywhere: B counts them, and a probe in every room comes back
    for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
      const m = /^chat_active_subscriptions (\d+)/m.exec(await (await fetch(`${b.url}/metrics`)).text());
      if (Number(m?.[1] ?? 0) >= ROOMS) break;
    }
    for (const r of rooms) await gql(a.httpUrl, SEND, { r, t: 'probe' }, user.accessToken);
    await Promise.all(subs.map((s) => s.next(1, 30_000)));
    const masters = await Promise.all(cluster.nodes.map(async (n) => ((await n.with((c) => c.call('ROLE'))) as [string])[0] === 'master' ? n : null));
    const live = masters.filter((n) => n !== null);
    await Promise.all(live.map((n) => n.with((c) => c.call('CONFIG', 'RESETSTAT'))));

    let next = 0;
    let failed = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        for (let i = next++; i < MESSAGES; i = next++) {
          const text = `m${i}`;
          const r = await gql(a.httpUrl, SEND, { r: rooms[i % ROOMS]!, t: text }, user.accessToken);
          if (!r.data?.sendMessage) failed++;
        }
      }),
    );
    const sendSeconds = (performance.now() - started) / 1000;
    const expected = MESSAGES - failed;
    const deadline = Date.now() + 30_000;
    const received = () => subs.reduce((n, s) => n + s.results.length - 1, 0);
    while (received() < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    say('');
    say(`sends: ${MESSAGES} in ${sendSeconds.toFixed(2)} s (${Math.round(MESSAGES / sendSeconds)}/s), failed ${failed}`);
    say(`deliveries on B: ${received()} of ${expected} (lost ${Math.max(0, expected - received())})`);
    say('');
    say('| master | slots | room channels subscribed | appends (XADD) | SPUBLISH | PUBLISH | keys |');
    say('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const n of live) {
      const [slots, channels, stats, keys] = await n.with(async (c) => [
        ((await c.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][])
          .filter((r) => r[2][1] === n.port)
          .reduce((sum, [from, to]) => sum + to - from + 1, 0),
        ((await c.call('PUBSUB', 'SHARDCHANNELS', `${PREFIX}room:*`)) as string[]).filter((ch) => !ch.endsWith(':signals')).length,
        infoFields(String(await c.call('INFO', 'commandstats'))),
        Number(await c.call('DBSIZE')),
      ]);
      say(`| 127.0.0.1:${n.port} | ${slots} | ${channels} | ${calls(stats, 'xadd')} | ${calls(stats, 'spublish')} | ${calls(stats, 'publish')} | ${keys} |`);
    }
    for (const s of subs) s.dispose();
    await client.dispose();
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await cluster?.dispose();
  }
}
