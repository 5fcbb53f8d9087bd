import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { codeOf, gql, signUp, type GraphQLResponse, type Session } from './support/client.js';
import { ENGINE_NAMES, metric, startServerOn } from './support/engines.js';
import { waitFor } from './support/net.js';
import type { RunningServer } from './support/server.js';
import { sseSubscribe, type SseStream } from './support/sse.js';

/**
 * Issue 11, points 5, 6 and 7: room creation is throttled and the rooms list comes a page at a
 * time; live connections are capped per user and per address (WebSockets and SSE together);
 * registration is throttled per address.
 */

const CREATE = 'mutation($n: String!) { createRoom(name: $n) { name } }';
const ROOMS = 'query($first: Int, $after: String) { rooms(first: $first, after: $after) { name } }';
const REGISTER = 'mutation($u: String!, $p: String!) { register(username: $u, password: $p) { accessToken } }';
let seq = 0;
const unique = (base: string) => `${base}-${process.pid % 1000}-${Date.now() % 1e6}-${seq++}`;

describe.each(ENGINE_NAMES)('creating rooms (%s engine, CREATE_ROOM_RATE_LIMIT=3/60)', (engine) => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServerOn(engine, { CREATE_ROOM_RATE_LIMIT: '3/60' });
  });
  afterAll(() => srv.stop());

  it('is throttled per user: the fourth room in the window is RATE_LIMITED with retryAfter, and nothing is created; another user is not held up', async () => {
    const alice = await signUp(srv.httpUrl, 'mkroom');
    for (let i = 0; i < 3; i++) expect((await gql(srv.httpUrl, CREATE, { n: unique('ok') }, alice.accessToken)).errors).toBeUndefined();
    const refused = unique('refused');
    const r = await gql(srv.httpUrl, CREATE, { n: refused }, alice.accessToken);
    expect(codeOf(r)).toBe('RATE_LIMITED');
    expect(r.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(0);
    const listed = await gql(srv.httpUrl, ROOMS, { first: 200 }, alice.accessToken);
    expect(listed.data.rooms.map((x: { name: string }) => x.name)).not.toContain(refused);
    const bob = await signUp(srv.httpUrl, 'mkroom');
    expect((await gql(srv.httpUrl, CREATE, { n: unique('bob') }, bob.accessToken)).errors).toBeUndefined();
  });
});

describe.each(ENGINE_NAMES)('the rooms list (%s engine)', (engine) => {
  let srv: RunningServer;
  let alice: Session;
  beforeAll(async () => {
    srv = await startServerOn(engine, { CREATE_ROOM_RATE_LIMIT: '0' });
    alice = await signUp(srv.httpUrl, 'pages');
  });
  afterAll(() => srv.stop());

  const page = async (first: number | undefined, after?: string): Promise<string[]> => {
    const r = await gql(srv.httpUrl, ROOMS, { first, after }, alice.accessToken);
    expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
    return r.data.rooms.map((x: { name: string }) => x.name);
  };

  it('comes a page at a time, in name order: 100 rooms by default, first 1-200, after the last name of the page before', async () => {
    const names = Array.from({ length: 130 }, (_, i) => `pg-${String(i).padStart(3, '0')}`);
    for (const n of names) await gql(srv.httpUrl, CREATE, { n }, alice.accessToken);
    await gql(srv.httpUrl, 'mutation { createRoom(name: "pg-secret", private: true) { name } }', {}, alice.accessToken);
    const all = [...names, 'general', 'pg-secret'].sort();
    expect(await page(undefined)).toEqual(all.slice(0, 100));
    // every room once, in order, by following after
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const p = await page(40, after);
      seen.push(...p);
      if (p.length < 40) break;
      after = p.at(-1);
    }
    expect(seen).toEqual(all);
    // another user sees the public ones, not alice's private room
    const bob = await signUp(srv.httpUrl, 'pages');
    const theirs = await gql(srv.httpUrl, ROOMS, { first: 200 }, bob.accessToken);
    expect(theirs.data.rooms.map((x: { name: string }) => x.name)).toEqual(all.filter((n) => n !== 'pg-secret'));
  });

  it('refuses a page size outside 1-200 and a cursor that is not a room name with BAD_USER_INPUT', async () => {
    for (const first of [0, -1, 201]) {
      const r = await gql(srv.httpUrl, ROOMS, { first }, alice.accessToken);
      expect(codeOf(r)).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0]?.extensions?.field).toBe('first');
    }
    const r = await gql(srv.httpUrl, ROOMS, { first: 5, after: 'Not A Room!' }, alice.accessToken);
    expect(codeOf(r)).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.extensions?.field).toBe('after');
  });
});

/** A graphql-ws handshake that stays open: resolves 'acked' (the socket kept), an HTTP status of a refused upgrade, or a close code. */
function openSocket(wsUrl: string, token: string, headers: Record<string, string> = {}): Promise<{ outcome: 'acked' | number; socket: WebSocket }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { headers });
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'connection_ack') resolve({ outcome: 'acked', socket });
    });
    socket.on('unexpected-response', (_req, res) => resolve({ outcome: res.statusCode ?? 0, socket }));
    socket.on('close', (code) => resolve({ outcome: code, socket }));
    socket.on('error', () => {});
  });
}

const closeAll = async (sockets: WebSocket[]) => {
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.readyState === WebSocket.CLOSED) return resolve();
          s.once('close', () => resolve());
          s.terminate();
        }),
    ),
  );
};

describe.each(ENGINE_NAMES)('live connections (%s engine, MAX_STREAMS_PER_USER=3, MAX_STREAMS_PER_ADDRESS=5, per address behind a trusted proxy)', (engine) => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServerOn(engine, { MAX_STREAMS_PER_USER: '3', MAX_STREAMS_PER_ADDRESS: '5', TRUSTED_PROXIES: 'loopback' });
  });
  afterAll(() => srv.stop());
  const from = (address: string) => ({ 'x-forwarded-for': address });
  const SUB = 'subscription { messageAdded(room: "general") { id } }';

  it('one user holds at most 3, WebSockets and SSE streams together: the next socket is closed with 1013, the next stream gets 429 RATE_LIMITED; one closed frees a place', async () => {
    const u = await signUp(srv.httpUrl, 'caps');
    const first = await openSocket(srv.wsUrl, u.accessToken, from('198.51.100.1'));
    const second = await openSocket(srv.wsUrl, u.accessToken, from('198.51.100.2'));
    const stream = await sseSubscribe(srv.httpUrl, u.accessToken, SUB, {}, from('198.51.100.3'));
    expect([first.outcome, second.outcome, stream.status]).toEqual(['acked', 'acked', 200]);
    const fourth = await openSocket(srv.wsUrl, u.accessToken, from('198.51.100.4'));
    expect(fourth.outcome).toBe(1013);
    const refused = await fetch(srv.httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${u.accessToken}`, ...from('198.51.100.5') },
      body: JSON.stringify({ query: SUB }),
    });
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain('RATE_LIMITED');
    // another user is not held up
    const other = await signUp(srv.httpUrl, 'caps');
    const theirs = await openSocket(srv.wsUrl, other.accessToken, from('198.51.100.6'));
    expect(theirs.outcome).toBe('acked');
    stream.close();
    await waitFor(
      async () => {
        const { outcome, socket } = await openSocket(srv.wsUrl, u.accessToken, from('198.51.100.7'));
        socket.terminate();
        return outcome === 'acked';
      },
      { what: 'a place freed by the closed stream' },
    );
    await closeAll([first.socket, second.socket, theirs.socket]);
  });

  it('one address holds at most 5 whoever signs in: the next handshake is refused with 429 before the upgrade, the next SSE stream with 429', async () => {
    const users: Session[] = [];
    for (let i = 0; i < 3; i++) users.push(await signUp(srv.httpUrl, 'addr'));
    const sockets: WebSocket[] = [];
    const streams: SseStream[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await openSocket(srv.wsUrl, users[i]!.accessToken, from('203.0.113.50'));
      expect(s.outcome).toBe('acked');
      sockets.push(s.socket);
    }
    for (let i = 0; i < 2; i++) {
      const s = await sseSubscribe(srv.httpUrl, users[i]!.accessToken, SUB, {}, from('203.0.113.50'));
      expect(s.status).toBe(200);
      streams.push(s);
    }
    const refusedSocket = await openSocket(srv.wsUrl, users[2]!.accessToken, from('203.0.113.50'));
    expect(refusedSocket.outcome).toBe(429);
    const refusedStream = await sseSubscribe(srv.httpUrl, users[2]!.accessToken, SUB, {}, from('203.0.113.50'));
    expect(refusedStream.status).toBe(429);
    // a tab at another address is served
    const elsewhere = await openSocket(srv.wsUrl, users[2]!.accessToken, from('203.0.113.51'));
    expect(elsewhere.outcome).toBe('acked');
    for (const s of streams) s.close();
    await closeAll([...sockets, elsewhere.socket]);
    await waitFor(async () => (await metric(srv.url, 'chat_open_sockets')) === 0, { what: 'every socket closed' });
    await waitFor(async () => (await metric(srv.url, 'chat_active_subscriptions')) === 0, { what: 'every stream ended' });
  });
});

describe.each(ENGINE_NAMES)('registering (%s engine, REGISTER_RATE_LIMIT=3/60, behind a trusted proxy)', (engine) => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServerOn(engine, { REGISTER_RATE_LIMIT: '3/60', TRUSTED_PROXIES: 'loopback' });
  });
  afterAll(() => srv.stop());

  const register = async (username: string, address: string): Promise<GraphQLResponse> => {
    const res = await fetch(srv.httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
      body: JSON.stringify({ query: REGISTER, variables: { u: username, p: 'correct horse battery' } }),
    });
    return (await res.json()) as GraphQLResponse;
  };

  it('is throttled per address, every attempt counted (a taken name too); another address is not held up', async () => {
    const taken = unique('reg').replace(/-/g, '_');
    expect((await register(taken, '198.51.100.20')).errors).toBeUndefined();
    expect(codeOf(await register(taken, '198.51.100.20'))).toBe('CONFLICT');
    expect((await register(unique('reg').replace(/-/g, '_'), '198.51.100.20')).errors).toBeUndefined();
    const limited = await register(unique('reg').replace(/-/g, '_'), '198.51.100.20');
    expect(codeOf(limited)).toBe('RATE_LIMITED');
    expect(limited.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(0);
    // probing names from there answers RATE_LIMITED, not CONFLICT
    expect(codeOf(await register(taken, '198.51.100.20'))).toBe('RATE_LIMITED');
    expect((await register(unique('reg').replace(/-/g, '_'), '198.51.100.21')).errors).toBeUndefined();
  });

  it('counts an IPv6 client by its /64 (one subscriber’s block), so rotating addresses within it does not escape', async () => {
    for (let i = 1; i <= 3; i++) expect((await register(unique('v6').replace(/-/g, '_'), `2001:db8:7:7::${i}`)).errors).toBeUndefined();
    expect(codeOf(await register(unique('v6').replace(/-/g, '_'), '2001:db8:7:7:ffff:1:2:3'))).toBe('RATE_LIMITED');
    expect((await register(unique('v6').replace(/-/g, '_'), '2001:db8:7:8::1')).errors).toBeUndefined();
    // an IPv4 client reached over a dual-stack socket is the same client
    expect(codeOf(await register(unique('v4').replace(/-/g, '_'), '::ffff:198.51.100.20'))).toBe('RATE_LIMITED');
  });
});
