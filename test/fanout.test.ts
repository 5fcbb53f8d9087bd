import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { print } from 'graphql';
import { directMessageAddedSubscription, messageAddedSubscription, roomEventsSubscription } from '../client/operations.js';
import type { Client } from 'graphql-ws';
import { collect, gql, signUp, wsClient, type Session } from './support/client.js';
import { waitFor } from './support/net.js';
import { startServer, type RunningServer } from './support/server.js';

const metric = async (srv: RunningServer, name: string) => {
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${srv.url}/metrics`)).text());
  return Number(m?.[1] ?? 0);
};

/** Live-path counters of the server now. */
const counters = async (srv: RunningServer) => ({
  shared: await metric(srv, 'chat_shared_executions_total'),
  alone: await metric(srv, 'chat_subscriber_executions_total'),
  frames: await metric(srv, 'chat_shared_deliveries_total'),
});

/** Waits until the server holds `n` more subscriptions than `before`. */
const subscribed = (srv: RunningServer, before: number, n: number) =>
  waitFor(async () => (await metric(srv, 'chat_active_subscriptions')) >= before + n, { what: `${n} more subscriptions` });

// the documents as the typed client sends them
const MESSAGE_ADDED = print(messageAddedSubscription);
const ROOM_EVENTS = print(roomEventsSubscription);
const DIRECT = print(directMessageAddedSubscription);

describe('fan-out: one execution and serialisation per live event for every subscriber it is the same for, whatever cursor each resumed from', () => {
  let srv: RunningServer;
  let users: Session[];
  beforeAll(async () => {
    srv = await startServer({ MESSAGE_RATE_LIMIT: '0' });
    users = await Promise.all([0, 1, 2].map((i) => signUp(srv.httpUrl, `fan${i}`)));
  });
  afterAll(() => srv.stop());
  // every socket of a test closed (on the server too) before the next counts subscriptions
  const open: Client[] = [];
  const client = (token: string) => {
    const c = wsClient(srv.wsUrl, token);
    open.push(c);
    return c;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.dispose()));
    await waitFor(async () => (await metric(srv, 'chat_open_sockets')) === 0, { what: 'every socket closed' });
  });

  const send = async (room: string, text: string, who: Session): Promise<string> =>
    (await gql(srv.httpUrl, 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }', { r: room, t: text }, who.accessToken)).data.sendMessage.id;
  const newRoom = async (prefix: string, owner: Session, isPrivate = false) => {
    const room = `${prefix}-${Date.now()}`;
    await gql(srv.httpUrl, 'mutation($n:String!,$p:Boolean){ createRoom(name:$n, private:$p){ name } }', { n: room, p: isPrivate }, owner.accessToken);
    return room;
  };

  it("shares the typed client's messageAdded(room, after) among subscribers with different cursors, each getting its own `mine`", async () => {
    const room = await newRoom('resume', users[0]!);
    const history = [await send(room, 'h0', users[0]!), await send(room, 'h1', users[1]!), await send(room, 'h2', users[2]!)];
    const active = await metric(srv, 'chat_active_subscriptions');
    const clients = users.map((u) => client(u.accessToken));
    // each resumes from a cursor of its own: two of them have a backlog, the last is caught up
    const subs = clients.map((c, i) => collect(c, MESSAGE_ADDED, { room, after: history[i] }));
    await Promise.all(subs.map((s, i) => s.next(2 - i)));
    await subscribed(srv, active, 3);
    const before = await counters(srv);
    for (let i = 0; i < 4; i++) await send(room, `m${i}`, users[i % 3]!);
    const received = await Promise.all(subs.map((s, i) => s.next(2 - i + 4)));
    const live = received.map((r, i) => r.slice(2 - i).map((x) => x.data!.messageAdded));
    expect(live.map((l) => l.map((m: { text: string }) => m.text))).toEqual([0, 1, 2].map(() => ['m0', 'm1', 'm2', 'm3']));
    // message k was sent by user k % 3: only that user sees mine: true
    for (const [viewer, l] of live.entries()) expect(l.map((m: { mine: boolean }) => m.mine)).toEqual([0, 1, 2, 3].map((k) => k % 3 === viewer));
    const after = await counters(srv);
    expect(after.shared - before.shared).toBe(4);
    expect(after.alone - before.alone).toBe(0);
    expect(after.frames - before.frames).toBe(12);
  });

  it("shares the web page's roomEvents(room, after): added, edited and deleted", async () => {
    const room = await newRoom('events', users[0]!);
    const first = await send(room, 'first', users[0]!);
    const active = await metric(srv, 'chat_active_subscriptions');
    const clients = users.map((u) => client(u.accessToken));
    const subs = clients.map((c, i) => collect(c, ROOM_EVENTS, i === 0 ? { room, after: '0-0' } : { room, after: first }));
    await subs[0]!.next(1);
    await subscribed(srv, active, 3);
    const before = await counters(srv);
    const id = await send(room, 'second', users[1]!);
    await gql(srv.httpUrl, 'mutation($r:String!,$id:ID!,$t:String!){ editMessage(room:$r, id:$id, text:$t){ id } }', { r: room, id, t: 'second!' }, users[1]!.accessToken);
    await gql(srv.httpUrl, 'mutation($r:String!,$id:ID!){ deleteMessage(room:$r, id:$id) }', { r: room, id }, users[1]!.accessToken);
    const received = await Promise.all(subs.map((s, i) => s.next((i === 0 ? 1 : 0) + 3)));
    const events = received.map((r, i) => r.slice(i === 0 ? 1 : 0).map((x) => x.data!.roomEvents));
    for (const [viewer, e] of events.entries()) {
      expect(e.map((x: { type: string }) => x.type)).toEqual(['ADDED', 'EDITED', 'DELETED']);
      expect(e[1].message).toMatchObject({ id, text: 'second!', mine: viewer === 1 });
      expect(e[2]).toMatchObject({ messageId: id, message: null });
    }
    const after = await counters(srv);
    expect(after.shared - before.shared).toBe(3);
    expect(after.alone - before.alone).toBe(0);
  });

  it("shares directMessageAdded among one user's sockets", async () => {
    const [alice, bob] = users as [Session, Session];
    const active = await metric(srv, 'chat_active_subscriptions');
    const sockets = [client(bob.accessToken), client(bob.accessToken)];
    const subs = sockets.map((c) => collect(c, DIRECT));
    await subscribed(srv, active, 2);
    const before = await counters(srv);
    for (const text of ['one', 'two']) {
      await gql(srv.httpUrl, 'mutation($to:String!,$t:String!){ sendDirectMessage(to:$to, text:$t){ id } }', { to: bob.username, t: text }, alice.accessToken);
    }
    const [a, b] = await Promise.all(subs.map((s) => s.next(2)));
    expect(a).toEqual(b);
    expect(a!.map((r) => r.data!.directMessageAdded)).toMatchObject([
      { text: 'one', mine: false },
      { text: 'two', mine: false },
    ]);
    const after = await counters(srv);
    expect(after.shared - before.shared).toBe(2);
  });

  it('keeps documents with different variables or selections apart', async () => {
    const room = await newRoom('apart', users[0]!);
    const active = await metric(srv, 'chat_active_subscriptions');
    const socket = client(users[0]!.accessToken);
    const texts = collect(socket, 'subscription($r:String!){ messageAdded(room:$r){ text } }', { r: room });
    const ids = collect(socket, 'subscription($r:String!){ messageAdded(room:$r){ id } }', { r: room });
    const general = collect(socket, 'subscription($r:String!){ messageAdded(room:$r){ text } }', { r: 'general' });
    await subscribed(srv, active, 3);
    await send(room, 'only here', users[1]!);
    const [t] = await texts.next(1);
    const [i] = await ids.next(1);
    expect(t!.data).toEqual({ messageAdded: { text: 'only here' } });
    expect(Object.keys(i!.data!.messageAdded)).toEqual(['id']);
    expect(general.results).toEqual([]);
  });

  it('a member removed from a private room stops receiving it at once on the shared path; the other members go on', async () => {
    const [owner, guest, other] = users as [Session, Session, Session];
    const room = await newRoom('club', owner, true);
    for (const u of [guest, other]) {
      await gql(srv.httpUrl, 'mutation($r:String!,$u:String!){ inviteToRoom(room:$r, username:$u){ name } }', { r: room, u: u.username }, owner.accessToken);
    }
    const active = await metric(srv, 'chat_active_subscriptions');
    const clients = [guest, other].map((u) => client(u.accessToken));
    const [g, o] = clients.map((c) => collect(c, MESSAGE_ADDED, { room }));
    await subscribed(srv, active, 2);
    await send(room, 'before', owner);
    await Promise.all([g!.next(1), o!.next(1)]);
    await gql(srv.httpUrl, 'mutation($r:String!,$u:String!){ removeFromRoom(room:$r, username:$u){ name } }', { r: room, u: guest.username }, owner.accessToken);
    // sent as soon as the removal is answered, before the guest has even heard of it
    await send(room, 'after', owner);
    await o!.next(2);
    await waitFor(() => g!.error !== null, { what: "the guest's subscription ended" });
    expect(JSON.stringify(g!.error)).toContain('FORBIDDEN');
    expect(o!.results.map((r) => r.data!.messageAdded.text)).toEqual(['before', 'after']);
    expect(g!.results.map((r) => r.data!.messageAdded.text)).toEqual(['before']);
  });
});
