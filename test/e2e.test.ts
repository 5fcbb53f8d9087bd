import { createClient as createSseClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { collect, codeOf, gql, signUp, wsClient, type Session } from './support/client.js';
import { startServer, type RunningServer } from './support/server.js';

const MESSAGE = 'id room text createdAt author { id username }';

describe('one instance on the embedded engine, over HTTP, SSE and WebSocket', () => {
  let srv: RunningServer;
  let alice: Session;
  let bob: Session;

  beforeAll(async () => {
    srv = await startServer({ MESSAGE_RATE_LIMIT: '0' });
    alice = await signUp(srv.httpUrl, 'alice');
    bob = await signUp(srv.httpUrl, 'bob');
  });
  afterAll(() => srv.stop());

  it('answers /health, /ready and /metrics with the promised metrics', async () => {
    expect((await fetch(`${srv.url}/health`)).status).toBe(200);
    expect((await fetch(`${srv.url}/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    for (const name of ['chat_open_sockets', 'chat_active_subscriptions', 'chat_messages_sent_total']) expect(metrics).toContain(name);
  });

  it('serves GraphiQL to a browser at /graphql', async () => {
    const res = await fetch(srv.httpUrl, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('GraphiQL');
  });

  it('runs the whole contract over HTTP: me, rooms, createRoom, joinRoom, inviteToRoom, sendMessage, recentMessages, sendDirectMessage', async () => {
    const me = await gql(srv.httpUrl, '{ me { id username } }', {}, alice.accessToken);
    expect(me.data).toEqual({ me: { id: alice.userId, username: alice.username } });

    const room = `r-${Date.now()}`;
    const created = await gql(srv.httpUrl, 'mutation($n:String!){ createRoom(name:$n, private:true){ name private } }', { n: room }, alice.accessToken);
    expect(created.data).toEqual({ createRoom: { name: room, private: true } });
    expect(codeOf(await gql(srv.httpUrl, 'mutation($n:String!){ joinRoom(name:$n){ name } }', { n: room }, bob.accessToken))).toBe('FORBIDDEN');
    const invited = await gql(srv.httpUrl, 'mutation($r:String!,$u:String!){ inviteToRoom(room:$r, username:$u){ name } }', { r: room, u: bob.username }, alice.accessToken);
    expect(invited.errors).toBeUndefined();
    const joined = await gql(srv.httpUrl, 'mutation($n:String!){ joinRoom(name:$n){ name private } }', { n: room }, bob.accessToken);
    expect(joined.data).toEqual({ joinRoom: { name: room, private: true } });

    const sent = await gql(srv.httpUrl, `mutation($r:String!){ sendMessage(room:$r, text:"hello"){ ${MESSAGE} } }`, { r: room }, bob.accessToken);
    expect(sent.data.sendMessage).toMatchObject({ room, text: 'hello', author: { id: bob.userId, username: bob.username } });
    expect(sent.data.sendMessage.id).toMatch(/^\d+-\d+$/);
    expect(new Date(sent.data.sendMessage.createdAt).toISOString()).toBe(sent.data.sendMessage.createdAt);

    const history = await gql(srv.httpUrl, `query($r:String!){ recentMessages(room:$r){ ${MESSAGE} } }`, { r: room }, alice.accessToken);
    expect(history.data.recentMessages).toEqual([sent.data.sendMessage]);

    const dm = await gql(srv.httpUrl, `mutation($to:String!){ sendDirectMessage(to:$to, text:"psst"){ ${MESSAGE} } }`, { to: bob.username }, alice.accessToken);
    const expectedRoom = [alice.username, bob.username].sort().join(':');
    expect(dm.data.sendDirectMessage.room).toBe(`dm:${expectedRoom}`);

    const rooms = await gql(srv.httpUrl, '{ rooms { name private } }', {}, bob.accessToken);
    expect(rooms.data.rooms).toEqual(
      expect.arrayContaining([{ name: 'general', private: false }, { name: room, private: true }, { name: `dm:${expectedRoom}`, private: true }]),
    );
  });

  it('answers a request without a token, or with a bad one, with UNAUTHENTICATED', async () => {
    expect(codeOf(await gql(srv.httpUrl, '{ me { id } }'))).toBe('UNAUTHENTICATED');
    expect(codeOf(await gql(srv.httpUrl, '{ me { id } }', {}, 'not-a-jwt'))).toBe('UNAUTHENTICATED');
  });

  it('rotates refresh tokens and revokes the login when a rotated one comes back', async () => {
    const s = await signUp(srv.httpUrl, 'rot');
    const q = 'mutation($t:String!){ refresh(refreshToken:$t){ accessToken refreshToken } }';
    const first = await gql(srv.httpUrl, q, { t: s.refreshToken });
    expect(first.errors).toBeUndefined();
    expect(codeOf(await gql(srv.httpUrl, q, { t: s.refreshToken }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await gql(srv.httpUrl, q, { t: first.data.refresh.refreshToken }))).toBe('UNAUTHENTICATED');
    const logout = await gql(srv.httpUrl, 'mutation($t:String!){ logout(refreshToken:$t) }', { t: first.data.refresh.refreshToken });
    expect(logout.data).toEqual({ logout: false });
  });

  it('delivers messageAdded over WebSocket to every subscriber, in order', async () => {
    const room = `ws-${Date.now()}`;
    await gql(srv.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, alice.accessToken);
    const a = wsClient(srv.wsUrl, alice.accessToken);
    const b = wsClient(srv.wsUrl, bob.accessToken);
    const sa = collect(a, `subscription($r:String!){ messageAdded(room:$r){ ${MESSAGE} } }`, { r: room });
    const sb = collect(b, `subscription($r:String!){ messageAdded(room:$r){ id text } }`, { r: room });
    await waitForSubscribers(srv, 2);
    for (let i = 0; i < 20; i++) await gql(srv.httpUrl, 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }', { r: room, t: `m${i}` }, bob.accessToken);
    const ra = await sa.next(20);
    const rb = await sb.next(20);
    expect(ra.map((r) => r.data.messageAdded.text)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(rb.map((r) => r.data.messageAdded.id)).toEqual(ra.map((r) => r.data.messageAdded.id));
    sa.dispose();
    sb.dispose();
    await a.dispose();
    await b.dispose();
  });

  it('resumes messageAdded with after: no gap and no duplicate while messages are being sent', async () => {
    const room = `resume-${Date.now()}`;
    await gql(srv.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, alice.accessToken);
    const send = (t: string) => gql(srv.httpUrl, 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }', { r: room, t }, alice.accessToken);
    const firstIds: string[] = [];
    for (let i = 0; i < 10; i++) firstIds.push((await send(`early${i}`)).data.sendMessage.id);
    // keep sending while the subscriber resumes from the 5th message
    let sending = true;
    const sender = (async () => {
      let i = 0;
      while (sending && i < 400) await send(`live${i++}`);
    })();
    const client = wsClient(srv.wsUrl, bob.accessToken);
    const sub = collect(client, 'subscription($r:String!,$a:ID){ messageAdded(room:$r, after:$a){ id text } }', { r: room, a: firstIds[4] });
    await sub.next(60);
    sending = false;
    await sender;
    const log = await gql(srv.httpUrl, 'query($r:String!){ recentMessages(room:$r, limit:200){ id } }', { r: room }, alice.accessToken);
    const older = await gql(srv.httpUrl, 'query($r:String!,$b:ID){ recentMessages(room:$r, limit:200, before:$b){ id } }', { r: room, b: log.data.recentMessages[0].id }, alice.accessToken);
    const all = [...older.data.recentMessages, ...log.data.recentMessages].map((m: { id: string }) => m.id);
    const expected = all.slice(all.indexOf(firstIds[4]!) + 1);
    await sub.next(expected.length);
    expect(sub.results.map((r) => r.data.messageAdded.id)).toEqual(expected);
    sub.dispose();
    await client.dispose();
  });

  it('closes a socket with 4403 when the token is missing or bad, and when it expires', async () => {
    const closeCode = (token: string) =>
      new Promise<number>((resolve) => {
        const c = wsClient(srv.wsUrl, token, { on: { closed: (e) => resolve((e as { code: number }).code) } });
        c.subscribe({ query: '{ me { id } }' }, { next() {}, error() {}, complete() {} });
      });
    expect(await closeCode('garbage')).toBe(4403);

    const short = await startServer({ ACCESS_TOKEN_TTL: '2' });
    try {
      const s = await signUp(short.httpUrl, 'exp');
      const started = Date.now();
      const code = await new Promise<number>((resolve) => {
        const c = wsClient(short.wsUrl, s.accessToken, { on: { closed: (e) => resolve((e as { code: number }).code) } });
        c.subscribe({ query: 'subscription { messageAdded(room:"general"){ id } }' }, { next() {}, error() {}, complete() {} });
      });
      expect(code).toBe(4403);
      expect(Date.now() - started).toBeGreaterThan(500);
    } finally {
      await short.stop();
    }
  });

  it('delivers directMessageAdded to the recipient only', async () => {
    const client = wsClient(srv.wsUrl, bob.accessToken);
    const sub = collect(client, 'subscription { directMessageAdded { text author { username } } }');
    await waitForSubscribers(srv, 1);
    await gql(srv.httpUrl, 'mutation($to:String!){ sendDirectMessage(to:$to, text:"for bob"){ id } }', { to: bob.username }, alice.accessToken);
    const [r] = await sub.next(1);
    expect(r!.data).toEqual({ directMessageAdded: { text: 'for bob', author: { username: alice.username } } });
    sub.dispose();
    await client.dispose();
  });

  it('delivers subscriptions over SSE (graphql-sse, distinct connections) with the Authorization header', async () => {
    const room = `sse-${Date.now()}`;
    await gql(srv.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, alice.accessToken);
    const sse = createSseClient({ url: srv.httpUrl, headers: { authorization: `Bearer ${bob.accessToken}` }, retryAttempts: 0 });
    const got: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const dispose = sse.subscribe<{ messageAdded: { text: string } }>(
        { query: 'subscription($r:String!){ messageAdded(room:$r){ text } }', variables: { r: room } },
        {
          next: (r) => {
            got.push(r.data!.messageAdded.text);
            if (got.length === 3) {
              dispose();
              resolve();
            }
          },
          error: reject,
          complete: () => {},
        },
      );
    });
    await waitForSubscribers(srv, 1);
    for (const t of ['one', 'two', 'three']) await gql(srv.httpUrl, 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }', { r: room, t }, alice.accessToken);
    await done;
    expect(got).toEqual(['one', 'two', 'three']);
    sse.dispose();
  });

  it('answers a body over 64 KiB with 413 and malformed JSON with 400, and keeps serving', async () => {
    const big = await fetch(srv.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ me { id } } #${'x'.repeat(70_000)}` }) });
    expect(big.status).toBe(413);
    const bad = await fetch(srv.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).errors[0].message).toBeTruthy();
    expect((await fetch(`${srv.url}/health`)).status).toBe(200);
  });

  it('closes a WebSocket that sends a message over 64 KiB with 1009', async () => {
    const code = await new Promise<number>((resolve) => {
      const socket = new WebSocket(srv.wsUrl, 'graphql-transport-ws');
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(70_000) } })));
      socket.on('close', (c) => resolve(c));
    });
    expect(code).toBe(1009);
  });

});

async function waitForSubscribers(srv: RunningServer, atLeast: number) {
  const { waitFor } = await import('./support/net.js');
  await waitFor(async () => {
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    const m = /^chat_active_subscriptions (\d+)/m.exec(text);
    return Number(m?.[1] ?? 0) >= atLeast;
  }, { what: `${atLeast} active subscriptions` });
}
