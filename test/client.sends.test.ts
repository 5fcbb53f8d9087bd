// The typed client's sends (an idempotency key per message, retried with it) and where a
// subscription without a cursor starts, against real servers.
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createChatClient,
  createRoomMutation,
  messageAddedSubscription,
  recentMessagesQuery,
  sendDirectMessageMutation,
  sendMessageMutation,
  signIn,
  type ChatClient,
} from '../client/index.js';
import { gql, signUp, type Session } from './support/client.js';
import { startCuttingProxy, waitFor, type CuttingProxy } from './support/net.js';
import { startRedisServer, type RedisServer } from './support/redis.js';
import { startServer, startServerProcess, type RunningServer, type ServerProcess } from './support/server.js';

const open: ChatClient[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.dispose()));
});

interface Exchange {
  readonly request: { operationName?: string; variables?: Record<string, unknown> };
  readonly response: string;
}

/** A client for `user` whose HTTP exchanges are recorded (the real fetch does the work). */
function clientFor(server: { httpUrl: string; wsUrl: string }, user: Session, onExchange: (e: Exchange) => void = () => {}) {
  const exchanges: Exchange[] = [];
  const chat = createChatClient({
    httpUrl: server.httpUrl,
    wsUrl: server.wsUrl,
    credentials: { username: user.username, password: user.password },
    webSocketImpl: WebSocket,
    retryWait: () => new Promise((r) => setTimeout(r, 100)),
    fetch: async (input, init) => {
      const request = JSON.parse(String(init?.body ?? '{}')) as Exchange['request'];
      try {
        const res = await fetch(input, init);
        const exchange = { request, response: await res.clone().text() };
        exchanges.push(exchange);
        onExchange(exchange);
        return res;
      } catch (err) {
        const exchange = { request, response: `fetch failed: ${String((err as Error).cause ?? err)}` };
        exchanges.push(exchange);
        onExchange(exchange);
        throw err;
      }
    },
  });
  open.push(chat);
  return { chat, exchanges, sends: () => exchanges.filter((e) => /^Send/.test(e.request.operationName ?? '')) };
}

async function textsOf(chat: ChatClient, room: string) {
  return (await chat.request(recentMessagesQuery, { room, limit: 200 })).recentMessages.map((m) => m.text);
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

  it('sends a new clientId (a UUID) with every sendMessage and sendDirectMessage, and keeps one given', async () => {
    const { chat, sends } = clientFor(server, alice);
    const room = `keys-${Date.now()}`;
    await chat.request(createRoomMutation, { name: room });
    await chat.request(sendMessageMutation, { room, text: 'one' });
    await chat.request(sendMessageMutation, { room, text: 'two' });
    await chat.request(sendDirectMessageMutation, { to: bob.username, text: 'psst' });
    await chat.request(sendMessageMutation, { room, text: 'three', clientId: 'my-own-key' });
    const keys = sends().map((e) => e.request.variables?.clientId);
    expect(keys.slice(0, 3)).toEqual([expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/), expect.any(String), expect.any(String)]);
    expect(new Set(keys).size).toBe(4);
    expect(keys[3]).toBe('my-own-key');
  });

  it('a subscription without `after` delivers nothing sent before it subscribed (load history, then subscribe)', async () => {
    const { chat: writer } = clientFor(server, alice);
    const { chat: reader } = clientFor(server, bob);
    const room = `no-replay-${Date.now()}`;
    await writer.request(createRoomMutation, { name: room });
    await writer.request(sendMessageMutation, { room, text: 'sent before the subscription' });
    expect(await textsOf(reader, room)).toEqual(['sent before the subscription']);

    const received: string[] = [];
    reader.subscribe(messageAddedSubscription, { room }, { next: (d) => received.push(d.messageAdded.text) });
    // the server has it once it counts it as active
    await waitFor(async () => /^chat_active_subscriptions [1-9]/m.test(await (await fetch(`${server.url}/metrics`)).text()), { what: 'the subscription on the server' });
    await writer.request(sendMessageMutation, { room, text: 'sent after' });
    await waitFor(() => received.length > 0, { what: 'the live message' });
    // a replayed older message would have come first
    expect(received).toEqual(['sent after']);
  });
});

describe('a login that ends while subscriptions are open', () => {
  it('ends them, and the client is disposed, without an unhandled rejection (graphql-ws #565)', async () => {
    const server = await startServer({});
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      for (let i = 0; i < 3; i++) {
        const user = await signUp(server.httpUrl, 'revoked');
        const session = await signIn(server.httpUrl, { username: user.username, password: user.password });
        let ended = false;
        const chat = createChatClient({
          httpUrl: server.httpUrl,
          wsUrl: server.wsUrl,
          session,
          webSocketImpl: WebSocket,
          onSession: (s) => {
            ended ||= !s;
          },
        });
        open.push(chat);
        const stops = [1, 2, 3].map(() => chat.subscribe(messageAddedSubscription, { room: 'general' }, { next: () => {}, error: () => {} }));
        await waitFor(async () => /^chat_active_subscriptions [1-9]/m.test(await (await fetch(`${server.url}/metrics`)).text()), { what: 'the subscriptions' });
        // logged out elsewhere: the socket is closed with 4403 and the refresh refused
        await gql(server.httpUrl, 'mutation($t:String!){ logout(refreshToken:$t) }', { t: session.refreshToken });
        await waitFor(() => ended, { what: 'the session to end' });
        // what the page does then: its subscriptions go, and the client (nobody waits for that)
        for (const stop of stops) stop();
        void chat.dispose();
        // graphql-ws's next reconnect attempt comes after its retry wait (300 ms and more)
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
      await server.stop();
    }
  }, 60_000);
});

describe('a send whose answer is lost is retried with the same clientId: one message (server-side deduplication)', () => {
  let server: RunningServer;
  let proxy: CuttingProxy;
  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
  });

  it('the connection drops after the server stored the message; the retry returns it and the room holds one copy', async () => {
    server = await startServer({ MESSAGE_RATE_LIMIT: '0' });
    const alice = await signUp(server.httpUrl, 'alice');
    proxy = await startCuttingProxy(Number(new URL(server.url).port), /"operationName":"SendMessage"/);
    const { chat, sends } = clientFor({ httpUrl: `${proxy.url}/graphql`, wsUrl: server.wsUrl }, alice);
    const room = `cut-${Date.now()}`;
    await chat.request(createRoomMutation, { name: room });

    const { sendMessage } = await chat.request(sendMessageMutation, { room, text: 'answer lost on the way' });
    expect(proxy.cuts).toBe(1);
    const attempts = sends();
    expect(attempts).toHaveLength(2);
    expect(attempts[0]!.response).toMatch(/^fetch failed/);
    expect(attempts[1]!.request.variables?.clientId).toBe(attempts[0]!.request.variables?.clientId);
    const log = (await chat.request(recentMessagesQuery, { room, limit: 200 })).recentMessages;
    expect(log.map((m) => m.text)).toEqual(['answer lost on the way']);
    expect(sendMessage.id).toBe(log[0]!.id);
  });
});

describe('SERVICE_UNAVAILABLE (Redis hung) is retried with the same clientId until Redis answers', () => {
  let redis: RedisServer | undefined;
  let instance: ServerProcess | undefined;
  afterAll(async () => {
    await instance?.stop('SIGKILL');
    await redis?.dispose();
  });

  it('answers the send once Redis is back, and the room holds it once', async () => {
    redis = await startRedisServer();
    instance = await startServerProcess({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT: '300', MESSAGE_RATE_LIMIT: '0' });
    const alice = await signUp(instance.httpUrl, 'alice');
    const hung = redis;
    const { chat, sends } = clientFor(instance, alice, (e) => {
      // wake Redis once the client has been told to try again
      if (e.response.includes('SERVICE_UNAVAILABLE')) hung.process.kill('SIGCONT');
    });
    const room = `hung-${Date.now()}`;
    await chat.request(createRoomMutation, { name: room });

    redis.process.kill('SIGSTOP');
    const { sendMessage } = await chat.request(sendMessageMutation, { room, text: 'sent while Redis hung' });
    const attempts = sends();
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts[0]!.response).toContain('SERVICE_UNAVAILABLE');
    expect(new Set(attempts.map((a) => a.request.variables?.clientId)).size).toBe(1);
    expect(sendMessage.text).toBe('sent while Redis hung');
    expect(await textsOf(chat, room)).toEqual(['sent while Redis hung']);
  }, 60_000);
});
