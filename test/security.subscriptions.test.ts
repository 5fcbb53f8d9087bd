import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRevocations } from '../src/resolvers/revocations.js';
import { useHttpSubscriptionLifetime } from '../src/server/http-subscriptions.js';
import { createStreamLimits } from '../src/server/stream-limits.js';
import { codeOf, gql, signUp, type Session } from './support/client.js';
import { ENGINE_NAMES, metric, redisPair, startServerOn } from './support/engines.js';
import { waitFor } from './support/net.js';
import type { RunningServer } from './support/server.js';
import { sseSubscribe, type SseStream } from './support/sse.js';

/**
 * Issue 11, points 1 and 2: a subscription over HTTP lives no longer than its response, its access
 * token and its login, as a WebSocket's does.
 */

const MESSAGES = 'subscription { messageAdded(room: "general") { id text } }';
const DIRECT = 'subscription { directMessageAdded { id text } }';
const SEND = 'mutation($t: String!) { sendMessage(room: "general", text: $t) { id } }';
const DM = 'mutation($to: String!, $t: String!) { sendDirectMessage(to: $to, text: $t) { id } }';
const ONLINE = '{ onlineMembers(room: "general") { username } }';

/** A subscription request over HTTP with `accept` (POST, or GET with the query in the URL). */
async function subscribeOverHttp(httpUrl: string, token: string, method: 'POST' | 'GET', accept: string) {
  const headers = { accept, authorization: `Bearer ${token}` };
  const res =
    method === 'GET'
      ? await fetch(`${httpUrl}?query=${encodeURIComponent(MESSAGES)}`, { headers })
      : await fetch(httpUrl, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ query: MESSAGES }) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] }) : null };
}

/** The stream's last result is one UNAUTHENTICATED error, and the stream has ended. */
async function expectEndedUnauthenticated(stream: SseStream) {
  await stream.ended;
  const last = stream.results.at(-1);
  expect(last?.errors?.[0]?.extensions?.code, JSON.stringify(stream.results)).toBe('UNAUTHENTICATED');
  expect(stream.completed).toBe(true);
}

describe.each(ENGINE_NAMES)('subscriptions over HTTP (%s engine)', (engine) => {
  let srv: RunningServer;
  let alice: Session;
  beforeAll(async () => {
    srv = await startServerOn(engine, { MESSAGE_RATE_LIMIT: '0' });
    alice = await signUp(srv.httpUrl, 'subh');
  });
  afterAll(() => srv.stop());

  it('that do not accept an event stream are refused with 406 NOT_ACCEPTABLE before they start, over POST and GET: none keeps running, the user is not online', async () => {
    const before = await metric(srv.url, 'chat_active_subscriptions');
    const user = await signUp(srv.httpUrl, 'nostream');
    for (const method of ['POST', 'GET'] as const) {
      for (const accept of ['application/json', 'application/graphql-response+json', 'multipart/mixed', 'text/event-stream; charset=latin1']) {
        const r = await subscribeOverHttp(srv.httpUrl, user.accessToken, method, accept);
        expect(r.status, `${method} ${accept}`).toBe(406);
        // with a JSON type acceptable, the error says why (otherwise there is no type to say it in)
        if (accept.includes('json')) expect(r.body?.errors?.[0]?.extensions?.code).toBe('NOT_ACCEPTABLE');
      }
    }
    expect(await metric(srv.url, 'chat_active_subscriptions')).toBe(before);
    const online = await gql(srv.httpUrl, ONLINE, {}, alice.accessToken);
    expect(online.data.onlineMembers.map((u: { username: string }) => u.username)).not.toContain(user.username);
  });

  it('with Accept: text/event-stream (or */*) stream, and end on the server when the client goes away', async () => {
    const before = await metric(srv.url, 'chat_active_subscriptions');
    const streams = [
      await sseSubscribe(srv.httpUrl, alice.accessToken, MESSAGES),
      await sseSubscribe(srv.httpUrl, alice.accessToken, MESSAGES, {}, { accept: '*/*' }),
    ];
    expect(streams.map((s) => s.status)).toEqual([200, 200]);
    await waitFor(async () => (await metric(srv.url, 'chat_active_subscriptions')) === before + 2, { what: 'both subscriptions started' });
    await gql(srv.httpUrl, SEND, { t: 'streamed' }, alice.accessToken);
    for (const s of streams) await s.next(1);
    for (const s of streams) s.close();
    await waitFor(async () => (await metric(srv.url, 'chat_active_subscriptions')) === before, { what: 'the subscriptions ended' });
  });

  it('end with an UNAUTHENTICATED event, then the end of the stream, at once after logout; the server holds none of them', async () => {
    const bob = await signUp(srv.httpUrl, 'bye');
    const before = await metric(srv.url, 'chat_active_subscriptions');
    const rooms = await sseSubscribe(srv.httpUrl, bob.accessToken, MESSAGES);
    const direct = await sseSubscribe(srv.httpUrl, bob.accessToken, DIRECT);
    await waitFor(async () => (await metric(srv.url, 'chat_active_subscriptions')) === before + 2, { what: 'both subscriptions started' });
    await gql(srv.httpUrl, DM, { to: bob.username, t: 'before logout' }, alice.accessToken);
    await direct.next(1);
    expect((await gql(srv.httpUrl, 'mutation($t: String!) { logout(refreshToken: $t) }', { t: bob.refreshToken })).data).toEqual({ logout: true });
    await expectEndedUnauthenticated(rooms);
    await expectEndedUnauthenticated(direct);
    expect(await metric(srv.url, 'chat_active_subscriptions')).toBe(before);
  });

  it('end at once when a reused refresh token revokes the login', async () => {
    const carol = await signUp(srv.httpUrl, 'reuse');
    const stream = await sseSubscribe(srv.httpUrl, carol.accessToken, DIRECT);
    await gql(srv.httpUrl, DM, { to: carol.username, t: 'hello' }, alice.accessToken);
    await stream.next(1);
    const REFRESH = 'mutation($t: String!) { refresh(refreshToken: $t) { refreshToken } }';
    expect((await gql(srv.httpUrl, REFRESH, { t: carol.refreshToken })).errors).toBeUndefined();
    expect(codeOf(await gql(srv.httpUrl, REFRESH, { t: carol.refreshToken }))).toBe('UNAUTHENTICATED');
    await expectEndedUnauthenticated(stream);
  });
});

describe.each(ENGINE_NAMES)('an SSE subscription whose access token expires (%s engine, ACCESS_TOKEN_TTL=2)', (engine) => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServerOn(engine, { ACCESS_TOKEN_TTL: '2' });
  });
  afterAll(() => srv.stop());

  it('ends with an UNAUTHENTICATED event after exp, as a WebSocket is closed with 4403, and the server holds nothing', async () => {
    const dave = await signUp(srv.httpUrl, 'exp');
    const exp = (JSON.parse(Buffer.from(dave.accessToken.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000;
    const before = await metric(srv.url, 'chat_active_subscriptions');
    const streams = [await sseSubscribe(srv.httpUrl, dave.accessToken, MESSAGES), await sseSubscribe(srv.httpUrl, dave.accessToken, DIRECT)];
    for (const s of streams) await expectEndedUnauthenticated(s);
    expect(Date.now()).toBeGreaterThanOrEqual(exp);
    expect(streams[0]!.results.at(-1)?.errors?.[0]?.message).toMatch(/expired/);
    expect(await metric(srv.url, 'chat_active_subscriptions')).toBe(before);
  });
});

describe('a login revoked on one instance ends its SSE streams on another (Redis, two processes)', () => {
  const pair = redisPair();

  it('logout on A: the stream on B gets UNAUTHENTICATED and ends', async () => {
    const erin = await signUp(pair.a.httpUrl, 'xinst');
    const stream = await sseSubscribe(pair.b.httpUrl, erin.accessToken, MESSAGES);
    await waitFor(async () => (await metric(pair.b.url, 'chat_active_subscriptions')) === 1, { what: 'the subscription on B started' });
    await gql(pair.a.httpUrl, 'mutation($t: String!) { logout(refreshToken: $t) }', { t: erin.refreshToken });
    await expectEndedUnauthenticated(stream);
    await waitFor(async () => (await metric(pair.b.url, 'chat_active_subscriptions')) === 0, { what: 'B holds no subscription' });
  });
});

describe('a subscription result that no result processor streams', () => {
  it('is closed, whatever made it so (the belt and braces behind the Accept check)', async () => {
    const plugin = useHttpSubscriptionLifetime({ revocations: createRevocations(), streams: createStreamLimits() });
    let closed = false;
    const result: AsyncIterable<unknown> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<unknown>>(() => {}),
        return: async () => {
          closed = true;
          return { value: undefined, done: true };
        },
      }),
    };
    const processed = { result, resultProcessor: undefined } as unknown as Parameters<NonNullable<typeof plugin.onResultProcess>>[0];
    await plugin.onResultProcess?.(processed);
    expect(closed).toBe(true);
  });
});
