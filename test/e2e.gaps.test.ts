import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { collect, gql, signUp, sseCollect, wsClient, type Json, type Session } from './support/client.js';
import { startDeployment, type Deployment } from './support/deployment.js';
import { waitFor } from './support/net.js';
import { startTcpProxy, type TcpProxy } from './support/proxy.js';
import type { ServerProcess } from './support/server.js';

/*
 * Two server processes on one Redis; B reaches Redis through a TCP proxy that holds B's subscriber
 * connection (CLIENT SETNAME chat-sub) down while A acts: what was published meanwhile is lost to
 * B's pub/sub, and must still take effect on B once it reconnects.
 */

const SEND = 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }';
const SEND_DM = 'mutation($to:String!,$t:String!){ sendDirectMessage(to:$to, text:$t){ id } }';

type Collected = ReturnType<typeof collect>;

/** The subscription ended with FORBIDDEN (graphql-ws: an error; SSE: a result carrying it, or an error). */
const endedForbidden = (sub: Collected) =>
  JSON.stringify(sub.error ?? '').includes('FORBIDDEN') || sub.results.some((r) => r.errors?.some((e) => e.extensions?.code === 'FORBIDDEN'));

describe('an instance whose pub/sub connection was down applies what it missed once it reconnects', () => {
  let proxy: TcpProxy;
  let deployment: Deployment;
  let a: ServerProcess;
  let b: ServerProcess;
  let ann: Session;
  let bob: Session;

  beforeAll(async () => {
    const redisUrl = new URL(inject('redisUrl'));
    proxy = await startTcpProxy(Number(redisUrl.port || 6379), redisUrl.hostname);
    deployment = await startDeployment({ instances: 1, env: { MESSAGE_RATE_LIMIT: '0' } });
    a = deployment.servers[0]!;
    b = await deployment.add({ REDIS_URL: proxy.url });
    ann = await signUp(a.httpUrl, 'ann');
    bob = await signUp(a.httpUrl, 'bob');
  }, 60_000);
  afterAll(async () => {
    await deployment?.stop();
    await proxy?.close();
  });

  const ready = async (s: ServerProcess) => (await fetch(`${s.url}/ready`)).status;

  /** Holds B's subscriber connection down (B's /ready says 503) while `during` runs on A, then lets it back. */
  async function whileBIsDown(during: () => Promise<void>) {
    proxy.cut('chat-sub');
    try {
      await waitFor(async () => (await ready(b)) === 503, { what: "B's subscriber down" });
      await during();
    } finally {
      proxy.restore();
    }
    await waitFor(async () => (await ready(b)) === 200, { timeoutMs: 15_000, what: "B's subscriber back" });
  }

  it('a member removed while B was cut off stops receiving the private room on B (WebSocket and SSE) once B reconnects, and gets nothing sent after the removal', async () => {
    const room = `club-${Date.now()}`;
    await gql(a.httpUrl, 'mutation($n:String!){ createRoom(name:$n, private:true){ name } }', { n: room }, ann.accessToken);
    await gql(a.httpUrl, 'mutation($r:String!,$u:String!){ inviteToRoom(room:$r, username:$u){ name } }', { r: room, u: bob.username }, ann.accessToken);
    const query = 'subscription($r:String!){ messageAdded(room:$r){ text } }';
    const bobWs = wsClient(b.wsUrl, bob.accessToken);
    const annWs = wsClient(b.wsUrl, ann.accessToken);
    const subs = { ws: collect(bobWs, query, { r: room }), sse: sseCollect(b.httpUrl, bob.accessToken, query, { r: room }), owner: collect(annWs, query, { r: room }) };
    try {
      await waitFor(async () => {
        await gql(a.httpUrl, SEND, { r: room, t: 'ping' }, ann.accessToken);
        return Object.values(subs).every((s) => s.results.length > 0);
      }, { what: 'every subscription receiving the room', intervalMs: 200 });
      await whileBIsDown(async () => {
        const removed = await gql(a.httpUrl, 'mutation($r:String!,$u:String!){ removeFromRoom(room:$r, username:$u){ name } }', { r: room, u: bob.username }, ann.accessToken);
        expect(removed.errors).toBeUndefined();
        await gql(a.httpUrl, SEND, { r: room, t: 'after removal' }, ann.accessToken);
      });
      await waitFor(() => endedForbidden(subs.ws) && endedForbidden(subs.sse), { timeoutMs: 15_000, what: "bob's subscriptions on B to end with FORBIDDEN" });
      // B did catch up: the owner, still a member, got the message sent during the gap
      await waitFor(() => subs.owner.results.some((r) => r.data?.messageAdded.text === 'after removal'), { what: 'the owner to get the message' });
      for (const sub of [subs.ws, subs.sse]) expect(JSON.stringify(sub.results)).not.toContain('after removal');
    } finally {
      for (const sub of Object.values(subs)) sub.dispose();
      await Promise.all([bobWs.dispose(), annWs.dispose()]);
    }
  });

  it("a logout while B was cut off closes that login's sockets on B with 4403 once B reconnects", async () => {
    const s = await signUp(a.httpUrl, 'bye');
    let received = 0;
    const closed = new Promise<number>((resolve) => {
      const client = wsClient(b.wsUrl, s.accessToken, { on: { closed: (e) => resolve((e as { code: number }).code) } });
      client.subscribe({ query: 'subscription { directMessageAdded { id } }' }, { next: () => void received++, error() {}, complete() {} });
    });
    // the socket's subscription is live once a direct message reaches it
    await waitFor(async () => {
      await gql(a.httpUrl, SEND_DM, { to: s.username, t: 'are you there' }, ann.accessToken);
      return received > 0;
    }, { what: 'the socket on B subscribed', intervalMs: 300 });
    await whileBIsDown(async () => {
      expect((await gql(a.httpUrl, 'mutation($t:String!){ logout(refreshToken:$t) }', { t: s.refreshToken })).data).toEqual({ logout: true });
    });
    expect(await closed).toBe(4403);
  });

  it("a direct message sent while B was cut off reaches the recipient's directMessageAdded on B (WebSocket and SSE) once B reconnects, exactly once", async () => {
    const query = 'subscription { directMessageAdded { id text } }';
    const ws = wsClient(b.wsUrl, bob.accessToken);
    const subs = { ws: collect(ws, query), sse: sseCollect(b.httpUrl, bob.accessToken, query) };
    try {
      // markers until both subscriptions have one (a marker may still be on its way when its send answers)
      const markers: string[] = [];
      const has = (sub: { results: { data?: Json }[] }, id: string) => sub.results.some((r) => r.data?.directMessageAdded.id === id);
      await waitFor(async () => {
        markers.push((await gql(a.httpUrl, SEND_DM, { to: bob.username, t: 'marker' }, ann.accessToken)).data.sendDirectMessage.id);
        return markers.some((id) => Object.values(subs).every((sub) => has(sub, id)));
      }, { what: 'both subscriptions live', intervalMs: 300 });
      // then every marker sent reaches both, and what follows the last one is the test's
      const last = markers[markers.length - 1]!;
      await waitFor(() => Object.values(subs).every((sub) => has(sub, last)), { what: 'the last marker on both' });
      const from = Object.values(subs).map((sub) => sub.results.findIndex((r) => r.data.directMessageAdded.id === last) + 1);
      const sent: string[] = [];
      await whileBIsDown(async () => {
        for (const t of ['while down 1', 'while down 2']) sent.push((await gql(a.httpUrl, SEND_DM, { to: bob.username, t }, ann.accessToken)).data.sendDirectMessage.id);
      });
      sent.push((await gql(a.httpUrl, SEND_DM, { to: bob.username, t: 'after' }, ann.accessToken)).data.sendDirectMessage.id);
      await Promise.all(Object.values(subs).map((sub, i) => sub.next(from[i]! + 3, 15_000)));
      await new Promise((r) => setTimeout(r, 200));
      Object.values(subs).forEach((sub, i) => {
        expect(sub.results.slice(from[i]).map((r) => r.data.directMessageAdded.id)).toEqual(sent);
      });
    } finally {
      for (const sub of Object.values(subs)) sub.dispose();
      await ws.dispose();
    }
  });
});
