import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, gql, signUp, sseCollect, wsClient, type Session } from './support/client.js';
import { ENGINES, type Instances } from './support/engines.js';

const SEND = 'mutation($r:String!,$t:String!,$c:String){ sendMessage(room:$r, text:$t, clientId:$c){ id text } }';
const SEND_DM = 'mutation($to:String!,$t:String!,$c:String){ sendDirectMessage(to:$to, text:$t, clientId:$c){ id text room } }';

describe.each(ENGINES)('idempotent sends (clientId), end to end: $name engine', (engine) => {
  let instances: Instances;
  let ann: Session;
  let bob: Session;

  beforeAll(async () => {
    instances = await engine.start({ MESSAGE_RATE_LIMIT: '0' });
    ann = await signUp(instances.a.httpUrl, 'ann');
    bob = await signUp(instances.a.httpUrl, 'bob');
  }, 60_000);
  afterAll(() => instances?.stop());

  /** A mutation over graphql-ws. */
  async function overWebSocket(wsUrl: string, who: Session, query: string, variables: Record<string, unknown>) {
    const client = wsClient(wsUrl, who.accessToken);
    try {
      const [result] = await collect(client, query, variables).next(1);
      return result!;
    } finally {
      await client.dispose();
    }
  }

  it('a send retried with the same clientId, on another instance and over HTTP or WebSocket, answers the first message; the room and its subscribers hold it once', async () => {
    const { a, b } = instances;
    const room = `idem-${Date.now()}`;
    await gql(a.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, ann.accessToken);
    const ws = wsClient(b.wsUrl, bob.accessToken);
    const live = collect(ws, 'subscription($r:String!,$a:ID){ messageAdded(room:$r, after:$a){ id text } }', { r: room, a: '0-0' });
    try {
      const clientId = randomUUID();
      const first = (await gql(a.httpUrl, SEND, { r: room, t: 'only once', c: clientId }, ann.accessToken)).data.sendMessage;
      const overHttp = (await gql(b.httpUrl, SEND, { r: room, t: 'only once', c: clientId }, ann.accessToken)).data.sendMessage;
      const overWs = (await overWebSocket(b.wsUrl, ann, SEND, { r: room, t: 'only once', c: clientId })).data.sendMessage;
      expect(overHttp).toEqual(first);
      expect(overWs).toEqual(first);
      // the same key from someone else is their own message
      const bobs = (await gql(b.httpUrl, SEND, { r: room, t: 'mine', c: clientId }, bob.accessToken)).data.sendMessage;
      expect(bobs.id).not.toBe(first.id);
      const history = (await gql(b.httpUrl, 'query($r:String!){ recentMessages(room:$r){ id text } }', { r: room }, bob.accessToken)).data.recentMessages;
      expect(history).toEqual([first, bobs]);
      await live.next(2);
      const last = (await gql(a.httpUrl, SEND, { r: room, t: 'last' }, ann.accessToken)).data.sendMessage;
      await live.next(3);
      expect(live.results.map((r) => r.data.messageAdded)).toEqual([first, bobs, last]);
    } finally {
      live.dispose();
      await ws.dispose();
    }
  });

  it('a direct message retried with the same clientId answers the first one and reaches the recipient once (directMessageAdded over SSE and WebSocket)', async () => {
    const { a, b } = instances;
    const overSse = sseCollect(b.httpUrl, bob.accessToken, 'subscription { directMessageAdded { id text } }');
    const ws = wsClient(b.wsUrl, bob.accessToken);
    const overWs = collect(ws, 'subscription { directMessageAdded { id text } }');
    try {
      // both subscriptions are live once a first direct message reaches them
      await expect.poll(async () => {
        await gql(a.httpUrl, SEND_DM, { to: bob.username, t: 'warm-up' }, ann.accessToken);
        return overSse.results.length > 0 && overWs.results.length > 0;
      }, { timeout: 10_000, interval: 300 }).toBe(true);
      // then a marker that both receive: everything before it is behind us
      const marker = (await gql(a.httpUrl, SEND_DM, { to: bob.username, t: 'marker' }, ann.accessToken)).data.sendDirectMessage.id;
      const upTo = (sub: typeof overWs) => sub.results.findIndex((r) => r.data.directMessageAdded.id === marker) + 1;
      await expect.poll(() => upTo(overSse) > 0 && upTo(overWs) > 0, { timeout: 10_000 }).toBe(true);
      const seen = [upTo(overSse), upTo(overWs)] as const;
      const clientId = randomUUID();
      const first = (await gql(a.httpUrl, SEND_DM, { to: bob.username, t: 'just once', c: clientId }, ann.accessToken)).data.sendDirectMessage;
      const again = (await gql(b.httpUrl, SEND_DM, { to: bob.username, t: 'just once', c: clientId }, ann.accessToken)).data.sendDirectMessage;
      const viaRoom = (await gql(b.httpUrl, SEND, { r: first.room, t: 'just once', c: clientId }, ann.accessToken)).data.sendMessage;
      expect(again).toEqual(first);
      expect(viaRoom).toEqual({ id: first.id, text: first.text });
      const next = (await gql(a.httpUrl, SEND_DM, { to: bob.username, t: 'next' }, ann.accessToken)).data.sendDirectMessage;
      await Promise.all([overSse.next(seen[0] + 2), overWs.next(seen[1] + 2)]);
      for (const [sub, from] of [[overSse, seen[0]], [overWs, seen[1]]] as const) {
        expect(sub.results.slice(from).map((r) => r.data.directMessageAdded.id)).toEqual([first.id, next.id]);
      }
    } finally {
      overSse.dispose();
      overWs.dispose();
      await ws.dispose();
    }
  });
});
