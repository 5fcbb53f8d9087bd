import { randomUUID } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLiveLogins } from '../src/auth/live-logins.js';
import { codeOf, gql, signUp, type Session } from './support/client.js';
import { ENGINE_NAMES, redisPair, startServerOn } from './support/engines.js';
import { waitFor } from './support/net.js';
import { TEST_JWT_SECRET, type RunningServer } from './support/server.js';
import { sseSubscribe } from './support/sse.js';

/**
 * Issue 11, point 3: an access token of a revoked login (logout, refresh-token reuse) is refused
 * everywhere at once (HTTP, SSE, a new WebSocket), not only once it expires.
 */

const ME = '{ me { username } }';
const SEND = 'mutation($t: String!) { sendMessage(room: "general", text: $t) { id } }';
const LOGOUT = 'mutation($t: String!) { logout(refreshToken: $t) }';
const REFRESH = 'mutation($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken } }';

/** What a graphql-ws handshake with `token` ends in: 'acked', or the close code. */
function handshake(wsUrl: string, token: string): Promise<'acked' | number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'connection_ack') {
        resolve('acked');
        socket.close();
      }
    });
    socket.on('close', (code) => resolve(code));
  });
}

/** The token is refused on every transport, UNAUTHENTICATED saying the login was revoked. */
async function expectRefusedEverywhere(srv: { httpUrl: string; wsUrl: string }, token: string) {
  const me = await gql(srv.httpUrl, ME, {}, token);
  expect(codeOf(me)).toBe('UNAUTHENTICATED');
  expect(me.errors?.[0]?.message).toMatch(/revoked/);
  expect(codeOf(await gql(srv.httpUrl, SEND, { t: 'after revocation' }, token))).toBe('UNAUTHENTICATED');
  const sse = await sseSubscribe(srv.httpUrl, token, 'subscription { messageAdded(room: "general") { id } }');
  await sse.ended;
  expect(sse.results[0]?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expect(await handshake(srv.wsUrl, token)).toBe(4403);
}

describe.each(ENGINE_NAMES)('access tokens of a revoked login (%s engine)', (engine) => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServerOn(engine, { MESSAGE_RATE_LIMIT: '0' });
  });
  afterAll(() => srv.stop());

  it('work until logout, then are refused over HTTP, SSE and a new WebSocket', async () => {
    const alice = await signUp(srv.httpUrl, 'rev');
    expect((await gql(srv.httpUrl, ME, {}, alice.accessToken)).data).toEqual({ me: { username: alice.username } });
    expect(await handshake(srv.wsUrl, alice.accessToken)).toBe('acked');
    expect((await gql(srv.httpUrl, LOGOUT, { t: alice.refreshToken })).data).toEqual({ logout: true });
    await expectRefusedEverywhere(srv, alice.accessToken);
  });

  it('are refused once a reused refresh token revoked the login, the newest one included', async () => {
    const bob = await signUp(srv.httpUrl, 'theft');
    const rotated = (await gql(srv.httpUrl, REFRESH, { t: bob.refreshToken })).data.refresh;
    expect((await gql(srv.httpUrl, ME, {}, rotated.accessToken)).data).toEqual({ me: { username: bob.username } });
    // the thief (or the victim) presents the spent token again: the whole login is revoked
    expect(codeOf(await gql(srv.httpUrl, REFRESH, { t: bob.refreshToken }))).toBe('UNAUTHENTICATED');
    await expectRefusedEverywhere(srv, bob.accessToken);
    await expectRefusedEverywhere(srv, rotated.accessToken);
  });

  it('a token signed with the right key for a login that never existed is refused', async () => {
    const carol = await signUp(srv.httpUrl, 'nofam');
    const claims = decodeJwt(carol.accessToken);
    const forged = await new SignJWT({ ...claims, fam: randomUUID(), jti: randomUUID() })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    await expectRefusedEverywhere(srv, forged);
  });

  it('other logins of the same user keep working', async () => {
    const dave = await signUp(srv.httpUrl, 'twice');
    const LOGIN = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }';
    const second = (await gql(srv.httpUrl, LOGIN, { u: dave.username, p: dave.password })).data.login.accessToken as string;
    await gql(srv.httpUrl, LOGOUT, { t: dave.refreshToken });
    expect(codeOf(await gql(srv.httpUrl, ME, {}, dave.accessToken))).toBe('UNAUTHENTICATED');
    expect((await gql(srv.httpUrl, ME, {}, second)).data).toEqual({ me: { username: dave.username } });
  });
});

describe('a login revoked on one instance is refused on another at once, although it was cached there (Redis, two processes)', () => {
  const pair = redisPair();

  it('logout on A: B refuses the token well inside its cache lifetime (5 s), by the control event', async () => {
    const erin: Session = await signUp(pair.a.httpUrl, 'cached');
    // B now holds "live" for this login in its cache
    expect((await gql(pair.b.httpUrl, ME, {}, erin.accessToken)).data).toEqual({ me: { username: erin.username } });
    const revokedAt = Date.now();
    await gql(pair.a.httpUrl, LOGOUT, { t: erin.refreshToken });
    await waitFor(async () => codeOf(await gql(pair.b.httpUrl, ME, {}, erin.accessToken)) === 'UNAUTHENTICATED', {
      timeoutMs: 3000,
      what: 'B refusing the token',
    });
    expect(Date.now() - revokedAt).toBeLessThan(3000);
    await expectRefusedEverywhere(pair.b, erin.accessToken);
  });
});

describe('the live-login cache', () => {
  const counted = (live: Set<string>) => {
    const asked: string[] = [];
    const isLoginLive = async (id: string) => {
      asked.push(id);
      return live.has(id);
    };
    return { asked, isLoginLive };
  };

  it('answers a warm login without asking the store; asks again after its lifetime', async () => {
    let now = 1_000_000;
    const store = counted(new Set(['f1']));
    const logins = createLiveLogins({ isLoginLive: store.isLoginLive, ttlMs: 5000, revokedTtlMs: 900_000, now: () => now });
    expect(await logins.isLive('f1')).toBe(true);
    for (let i = 0; i < 100; i++) expect(await logins.isLive('f1')).toBe(true);
    expect(store.asked).toEqual(['f1']);
    now += 5001;
    expect(await logins.isLive('f1')).toBe(true);
    expect(store.asked).toEqual(['f1', 'f1']);
  });

  it('refuses a revoked login at once, without asking, even while the store answer is on its way', async () => {
    let answer!: (live: boolean) => void;
    const logins = createLiveLogins({ isLoginLive: () => new Promise<boolean>((r) => (answer = r)), revokedTtlMs: 900_000 });
    const pending = logins.isLive('f2');
    logins.revoked('f2');
    answer(true); // read before the revocation
    expect(await pending).toBe(false);
    expect(await logins.isLive('f2')).toBe(false);
  });

  it('lets a token through when the store cannot answer (every other operation then fails with SERVICE_UNAVAILABLE), and asks again next time', async () => {
    const errors: unknown[] = [];
    let down = true;
    const logins = createLiveLogins({
      isLoginLive: async () => {
        if (down) throw new Error('Redis down');
        return false;
      },
      revokedTtlMs: 900_000,
      onStoreError: (err) => errors.push(err),
    });
    expect(await logins.isLive('f3')).toBe(true);
    expect(errors).toHaveLength(1);
    down = false;
    expect(await logins.isLive('f3')).toBe(false);
  });

});
