// The generated typed client (client/) from Node against real servers.
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createChatClient,
  meQuery,
  messageAddedSubscription,
  recentMessagesQuery,
  roomsQuery,
  sendMessageMutation,
  createRoomMutation,
  signIn,
  type ChatClient,
  type ChatSession,
  type MessageAddedSubscription,
} from '../client/index.js';
import { signUp, type Session } from './support/client.js';
import { waitFor } from './support/net.js';
import { testPrefix } from './support/redis.js';
import { startServer, startServerProcess, type RunningServer, type ServerProcess } from './support/server.js';

type Message = MessageAddedSubscription['messageAdded'];

const fastRetry = () => new Promise<void>((resolve) => setTimeout(resolve, 100));

/** A signed-in client for `user` (logs in with its password) that the test disposes afterwards. */
function clientFor(server: { httpUrl: string; wsUrl: string }, user: Session, extra: Partial<Parameters<typeof createChatClient>[0]> = {}) {
  const client = createChatClient({
    httpUrl: server.httpUrl,
    wsUrl: server.wsUrl,
    credentials: { username: user.username, password: user.password },
    webSocketImpl: WebSocket,
    retryWait: fastRetry,
    ...extra,
  });
  open.push(client);
  return client;
}
const open: ChatClient[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.dispose()));
});

/** Subscribes to a room with the typed document and collects what arrives. */
function watch(client: ChatClient, room: string, after?: string) {
  const messages: Message[] = [];
  const errors: unknown[] = [];
  const stop = client.subscribe(messageAddedSubscription, { room, after }, {
    next: (data) => messages.push(data.messageAdded),
    error: (err) => errors.push(err),
  });
  return {
    messages,
    errors,
    stop,
    texts: () => messages.map((m) => m.text),
    until: (n: number, what = `${n} messages`) => waitFor(() => messages.length >= n || errors.length > 0, { timeoutMs: 15_000, what }).then(() => {
      if (errors.length) throw errors[0];
    }),
  };
}

/** Resolves once the server has the subscription running (a probe message arrives). */
async function subscribed(sender: ChatClient, sub: ReturnType<typeof watch>, room: string) {
  const before = sub.messages.length;
  await sender.request(sendMessageMutation, { room, text: `probe ${before}` });
  await sub.until(before + 1, 'the probe message');
}

describe('the typed client against one server', () => {
  let server: RunningServer;
  let alice: Session;
  let bob: Session;
  beforeAll(async () => {
    server = await startServer({ MESSAGE_RATE_LIMIT: '0' });
    alice = await signUp(server.httpUrl, 'alice');
    bob = await signUp(server.httpUrl, 'bob');
  });
  afterAll(() => server.stop());

  it('logs in with credentials and runs typed queries and mutations over HTTP', async () => {
    const sessions: (ChatSession | undefined)[] = [];
    const client = clientFor(server, alice, { onSession: (s) => sessions.push(s) });
    const { me } = await client.request(meQuery);
    expect(me.username).toBe(alice.username);
    expect(sessions).toHaveLength(1);
    expect(client.session()?.user.username).toBe(alice.username);

    const room = `typed-${Date.now()}`;
    const { createRoom } = await client.request(createRoomMutation, { name: room });
    expect(createRoom).toEqual({ name: room, private: false });
    const { rooms } = await client.request(roomsQuery);
    expect(rooms.map((r) => r.name)).toEqual(expect.arrayContaining(['general', room]));

    const { sendMessage } = await client.request(sendMessageMutation, { room, text: 'typed hello' });
    expect(sendMessage).toMatchObject({ room, text: 'typed hello', mine: true, author: { username: alice.username } });
    const { recentMessages } = await client.request(recentMessagesQuery, { room });
    expect(recentMessages.map((m) => m.id)).toEqual([sendMessage.id]);
  });

  it('rejects a wrong password with UNAUTHENTICATED', async () => {
    const client = clientFor(server, { ...alice, password: 'not the password' });
    await expect(client.request(meQuery)).rejects.toMatchObject({ name: 'ChatApiError', code: 'UNAUTHENTICATED' });
  });

  it('delivers typed messageAdded events over graphql-ws', async () => {
    const reader = clientFor(server, bob);
    const writer = clientFor(server, alice);
    const room = 'general';
    const sub = watch(reader, room);
    await subscribed(writer, sub, room);
    const { sendMessage } = await writer.request(sendMessageMutation, { room, text: 'live one' });
    await sub.until(2);
    expect(sub.messages[1]).toEqual({ ...sendMessage, mine: false });
  });

  it('starts a subscription from `after`: history newer than it, then live messages', async () => {
    const writer = clientFor(server, alice);
    const room = `after-${Date.now()}`;
    await writer.request(createRoomMutation, { name: room });
    const sent = [];
    for (const text of ['one', 'two', 'three']) sent.push((await writer.request(sendMessageMutation, { room, text })).sendMessage);
    const sub = watch(clientFor(server, bob), room, sent[0]!.id);
    await sub.until(2);
    await writer.request(sendMessageMutation, { room, text: 'four' });
    await sub.until(3);
    expect(sub.texts()).toEqual(['two', 'three', 'four']);
  });
});

describe('token refresh across a forced expiry (ACCESS_TOKEN_TTL=2)', () => {
  let server: RunningServer;
  let alice: Session;
  let bob: Session;
  beforeAll(async () => {
    server = await startServer({ ACCESS_TOKEN_TTL: '2', MESSAGE_RATE_LIMIT: '0' });
    alice = await signUp(server.httpUrl, 'alice');
    bob = await signUp(server.httpUrl, 'bob');
  });
  afterAll(() => server.stop());

  it('the server closes the socket with 4403 at expiry; the client refreshes, reconnects and resumes with nothing lost', async () => {
    const closes: number[] = [];
    let reconnects = 0;
    const sessions: ChatSession[] = [];
    // signed in from a session (no credentials): only the refresh token keeps it going
    const reader = createChatClient({
      httpUrl: server.httpUrl,
      wsUrl: server.wsUrl,
      session: await signIn(server.httpUrl, { username: bob.username, password: bob.password }),
      webSocketImpl: WebSocket,
      retryWait: fastRetry,
      onSession: (s) => s && sessions.push(s),
      wsOptions: { on: { closed: (e) => closes.push((e as { code: number }).code), connected: (_s, _p, wasRetry) => void (wasRetry && reconnects++) } },
    });
    open.push(reader);
    const writer = clientFor(server, alice);
    const room = `expiry-${Date.now()}`;
    await writer.request(createRoomMutation, { name: room });

    const sub = watch(reader, room);
    await subscribed(writer, sub, room);
    // keep sending while the token expires and the socket is closed and reopened
    let n = 0;
    while (!(closes.includes(4403) && reconnects > 0)) {
      await writer.request(sendMessageMutation, { room, text: `m${n++}` });
      await new Promise((r) => setTimeout(r, 100));
      if (n > 100) throw new Error(`no 4403 close and reconnect after ${n} sends; closes=${closes}`);
    }
    await writer.request(sendMessageMutation, { room, text: 'after the refresh' });
    await sub.until(n + 2, 'every message sent across the expiry');

    expect(closes).toContain(4403);
    expect(sub.texts()).toEqual(['probe 0', ...Array.from({ length: n }, (_, i) => `m${i}`), 'after the refresh']);
    expect(new Set(sub.messages.map((m) => m.id)).size).toBe(sub.messages.length);
    // a new pair: the rotated refresh token replaced the first one
    expect(sessions.length).toBeGreaterThan(1);
    expect(reader.session()!.refreshToken).not.toBe(sessions[0]!.refreshToken);
    // HTTP requests refresh too: the token of the first session has long expired
    expect((await reader.request(meQuery)).me.username).toBe(bob.username);
  });

  it('refreshes a token that is near expiry before an HTTP request, once for concurrent requests', async () => {
    const sessions: ChatSession[] = [];
    const client = clientFor(server, alice, { onSession: (s) => s && sessions.push(s) });
    await client.request(meQuery);
    const first = client.session()!;
    await waitFor(() => Date.now() > Date.parse(first.accessTokenExpiresAt), { timeoutMs: 5000, what: 'the access token to expire' });
    const results = await Promise.all([client.request(meQuery), client.request(roomsQuery), client.request(meQuery)]);
    expect(results[0].me.username).toBe(alice.username);
    // login, then one refresh shared by the three requests (a second would present a spent token and revoke the login)
    expect(sessions).toHaveLength(2);
    expect(client.session()!.refreshToken).not.toBe(first.refreshToken);
  });
});

describe('resume after a server restart (Redis, real processes)', () => {
  const redisUrl = inject('redisUrl');
  const { prefix, cleanup } = testPrefix();
  const env = { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, MESSAGE_RATE_LIMIT: '0', SHUTDOWN_TIMEOUT: '5' };
  const processes: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await cleanup(redisUrl);
  });

  it('a subscriber on the restarted instance gets every message sent while it was down, then live ones, no gap, no duplicate', async () => {
    const first = await startServerProcess(env);
    const other = await startServerProcess(env);
    processes.push(first, other);
    const alice = await signUp(other.httpUrl, 'alice');
    const bob = await signUp(other.httpUrl, 'bob');

    const closes: number[] = [];
    const reader = clientFor(first, bob, { wsOptions: { on: { closed: (e) => closes.push((e as { code: number }).code) } } });
    const writer = clientFor(other, alice);
    const room = `restart-${Date.now()}`;
    await writer.request(createRoomMutation, { name: room });

    const sub = watch(reader, room);
    await subscribed(writer, sub, room);
    await writer.request(sendMessageMutation, { room, text: 'before' });
    await sub.until(2);

    expect(await first.stop()).toBe(0); // SIGTERM: drains, closes the socket with 1001
    expect(closes).toContain(1001);
    for (const text of ['while down 1', 'while down 2', 'while down 3']) await writer.request(sendMessageMutation, { room, text });

    const again = await startServerProcess({ ...env, PORT: String(first.port) });
    processes.push(again);
    await sub.until(5, 'the messages sent while the server was down');
    await writer.request(sendMessageMutation, { room, text: 'after' });
    await sub.until(6);

    expect(sub.texts()).toEqual(['probe 0', 'before', 'while down 1', 'while down 2', 'while down 3', 'after']);
    const ids = sub.messages.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(sub.errors).toEqual([]);
  }, 90_000);
});
