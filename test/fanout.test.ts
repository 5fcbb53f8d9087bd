import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, gql, signUp, wsClient, type Session } from './support/client.js';
import { waitFor } from './support/net.js';
import { startServer, type RunningServer } from './support/server.js';

const metric = async (srv: RunningServer, name: string) => {
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${srv.url}/metrics`)).text());
  return Number(m?.[1] ?? 0);
};

describe('fan-out: one execution per live event and document on an instance, unless the result depends on the viewer', () => {
  let srv: RunningServer;
  let users: Session[];
  beforeAll(async () => {
    srv = await startServer({ MESSAGE_RATE_LIMIT: '0' });
    users = await Promise.all([0, 1, 2].map((i) => signUp(srv.httpUrl, `fan${i}`)));
  });
  afterAll(() => srv.stop());

  const send = (room: string, text: string, who: Session) =>
    gql(srv.httpUrl, 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }', { r: room, t: text }, who.accessToken);

  it('executes and serialises a message once for every subscriber of the same document and variables', async () => {
    const room = `shared-${Date.now()}`;
    await gql(srv.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, users[0]!.accessToken);
    const clients = users.map((u) => wsClient(srv.wsUrl, u.accessToken));
    const query = 'subscription($r:String!){ messageAdded(room:$r){ id text author { username } createdAt } }';
    const subs = clients.map((c) => collect(c, query, { r: room }));
    await waitFor(async () => (await metric(srv, 'chat_active_subscriptions')) >= 3, { what: 'three subscriptions' });
    const executions = await metric(srv, 'chat_shared_executions_total');
    const deliveries = await metric(srv, 'chat_shared_deliveries_total');
    for (let i = 0; i < 5; i++) await send(room, `m${i}`, users[i % 3]!);
    const received = await Promise.all(subs.map((s) => s.next(5)));
    expect(received[1]).toEqual(received[0]);
    expect(received[2]).toEqual(received[0]);
    expect(received[0]!.map((r) => r.data!.messageAdded.text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect((await metric(srv, 'chat_shared_executions_total')) - executions).toBe(5);
    expect((await metric(srv, 'chat_shared_deliveries_total')) - deliveries).toBe(15);
    for (const s of subs) s.dispose();
    await Promise.all(clients.map((c) => c.dispose()));
  });

  it('executes per subscriber a document that selects a viewer-dependent field (Message.mine), each viewer getting its own answer', async () => {
    const room = `mine-${Date.now()}`;
    await gql(srv.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, users[0]!.accessToken);
    const [alice, bob] = users as [Session, Session];
    const ca = wsClient(srv.wsUrl, alice.accessToken);
    const cb = wsClient(srv.wsUrl, bob.accessToken);
    // the viewer-dependent field hidden in a fragment still counts
    const query = 'subscription($r:String!){ messageAdded(room:$r){ ...M } } fragment M on Message { text mine }';
    const sa = collect(ca, query, { r: room });
    const sb = collect(cb, query, { r: room });
    await waitFor(async () => (await metric(srv, 'chat_active_subscriptions')) >= 2, { what: 'two subscriptions' });
    const executions = await metric(srv, 'chat_shared_executions_total');
    await send(room, 'from alice', alice);
    await send(room, 'from bob', bob);
    const [ra, rb] = await Promise.all([sa.next(2), sb.next(2)]);
    expect(ra.map((r) => r.data!.messageAdded)).toEqual([{ text: 'from alice', mine: true }, { text: 'from bob', mine: false }]);
    expect(rb.map((r) => r.data!.messageAdded)).toEqual([{ text: 'from alice', mine: false }, { text: 'from bob', mine: true }]);
    expect(await metric(srv, 'chat_shared_executions_total')).toBe(executions);
    sa.dispose();
    sb.dispose();
    await Promise.all([ca.dispose(), cb.dispose()]);
  });

  it('keeps documents with different variables or selections apart', async () => {
    const room = `apart-${Date.now()}`;
    await gql(srv.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, users[0]!.accessToken);
    const client = wsClient(srv.wsUrl, users[0]!.accessToken);
    const texts = collect(client, 'subscription($r:String!){ messageAdded(room:$r){ text } }', { r: room });
    const ids = collect(client, 'subscription($r:String!){ messageAdded(room:$r){ id } }', { r: room });
    const general = collect(client, 'subscription($r:String!){ messageAdded(room:$r){ text } }', { r: 'general' });
    await waitFor(async () => (await metric(srv, 'chat_active_subscriptions')) >= 3, { what: 'three subscriptions' });
    await send(room, 'only here', users[1]!);
    const [t] = await texts.next(1);
    const [i] = await ids.next(1);
    expect(t!.data).toEqual({ messageAdded: { text: 'only here' } });
    expect(Object.keys(i!.data!.messageAdded)).toEqual(['id']);
    expect(general.results).toEqual([]);
    await client.dispose();
  });
});
