import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { gql, signUp } from './support/client.js';
import { ENGINE_NAMES, metric, startServerOn } from './support/engines.js';
import { waitFor } from './support/net.js';
import type { RunningServer } from './support/server.js';
import { sseSubscribe } from './support/sse.js';

/**
 * Issue 11, points 12 and 13: a slow client cannot hold a connection by sending slowly, the
 * connections one instance holds are capped, and a slow consumer closed with 1013 has its TCP
 * connection torn down promptly instead of after ws's 30 s close timeout.
 */

/** A raw TCP connection to the server; resolves what the server sent once it closed the connection. */
function tcp(url: string): { socket: Socket; closed: Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let received = '';
  socket.on('data', (d) => (received += d));
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
  return { socket, closed };
}

describe.each(ENGINE_NAMES)('a client sending its request slowly (%s engine, HTTP_HEADERS_TIMEOUT=1, HTTP_REQUEST_TIMEOUT=2)', (engine) => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServerOn(engine, { HTTP_HEADERS_TIMEOUT: '1', HTTP_REQUEST_TIMEOUT: '2' });
  });
  afterAll(() => srv.stop());

  it('loses the connection when its headers do not come in time, or its body does not, with 408; a subscription stream is not a slow request', async () => {
    const alice = await signUp(srv.httpUrl, 'slowreq');
    // opened first: it must outlive the request timeout
    const stream = await sseSubscribe(srv.httpUrl, alice.accessToken, 'subscription { messageAdded(room: "general") { text } }');

    const headers = tcp(srv.url);
    headers.socket.write('POST /graphql HTTP/1.1\r\nHost: localhost\r\n');
    const body = tcp(srv.url);
    body.socket.write('POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"query":');
    // each is cut by the server (the test's own timeout bounds the wait: Node's defaults were 60 s and 300 s)
    expect(await headers.closed).toMatch(/^HTTP\/1\.1 408/);
    expect(await body.closed).toMatch(/^HTTP\/1\.1 408/);

    await gql(srv.httpUrl, 'mutation { sendMessage(room: "general", text: "still streaming") { id } }', {}, alice.accessToken);
    await stream.next(1);
    expect(stream.results[0]?.data).toEqual({ messageAdded: { text: 'still streaming' } });
    stream.close();
  });
});

describe('the connection cap (HTTP_MAX_CONNECTIONS=3)', () => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServerOn('memory', { HTTP_MAX_CONNECTIONS: '3' });
  });
  afterAll(() => srv.stop());

  it('drops connections past the cap, WebSockets counted, and serves again once one closes', async () => {
    const held = [tcp(srv.url), tcp(srv.url)];
    for (const h of held) await new Promise<void>((resolve) => h.socket.once('connect', () => resolve()));
    const socket = new WebSocket(srv.wsUrl, 'graphql-transport-ws');
    await new Promise<void>((resolve) => socket.once('open', () => resolve()));
    // the fourth is closed at once, unanswered
    const extra = tcp(srv.url);
    extra.socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expect(await extra.closed).toBe('');
    socket.terminate();
    await waitFor(
      async () => {
        const probe = tcp(srv.url);
        probe.socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
        return /^HTTP\/1\.1 200/.test(await probe.closed);
      },
      { what: 'a place freed' },
    );
    for (const h of held) h.socket.destroy();
  });
});

describe.each(ENGINE_NAMES)('a slow consumer (%s engine, WS_MAX_BACKLOG=256 KiB)', (engine) => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServerOn(engine, { MESSAGE_RATE_LIMIT: '0', WS_MAX_BACKLOG: String(256 * 1024) });
  });
  afterAll(() => srv.stop());

  it('closed with 1013 has its TCP connection torn down promptly, though it never reads again', async () => {
    const s = await signUp(srv.httpUrl, 'stuck');
    const socket = new WebSocket(srv.wsUrl, 'graphql-transport-ws', { perMessageDeflate: false });
    await new Promise<void>((resolve) => socket.once('open', () => resolve()));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${s.accessToken}` } }));
    await new Promise<void>((resolve) => socket.once('message', () => resolve()));
    socket.send(JSON.stringify({ type: 'subscribe', id: 'flood', payload: { query: 'subscription { messageAdded(room: "general") { text } }' } }));
    await waitFor(async () => (await metric(srv.url, 'chat_active_subscriptions')) === 1, { what: 'subscribed' });
    expect(await metric(srv.url, 'chat_open_sockets')).toBe(1);
    // stops reading for good: the kernel buffers fill, then the server's send buffer
    (socket as unknown as { _socket: Socket })._socket.pause();
    const text = '\u{1F600}'.repeat(4000);
    for (let sent = 0; sent < 5000 && (await metric(srv.url, 'chat_slow_consumers_closed_total')) === 0; sent += 50) {
      await Promise.all(Array.from({ length: 50 }, () => gql(srv.httpUrl, 'mutation($t: String!) { sendMessage(room: "general", text: $t) { id } }', { t: text }, s.accessToken)));
    }
    expect(await metric(srv.url, 'chat_slow_consumers_closed_total')).toBe(1);
    // gone on the server's side (ws would wait 30 s for a close handshake the peer cannot make)
    await waitFor(async () => (await metric(srv.url, 'chat_open_sockets')) === 0, { timeoutMs: 10_000, what: 'the socket torn down' });
    await waitFor(async () => (await metric(srv.url, 'chat_active_subscriptions')) === 0, { timeoutMs: 10_000, what: 'its subscription ended' });
    socket.terminate();
  }, 90_000);
});
