import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../src/config/index.js';
import { BackendUnavailableError } from '../src/errors.js';
import { createBackends } from '../src/server/backends.js';
import { collect, gql, signUp, wsClient, type Session } from './support/client.js';
import { waitFor } from './support/net.js';
import { startServer, type RunningServer } from './support/server.js';

type Frame = { type: string; id?: string; payload?: unknown };

/** A raw graphql-transport-ws socket, to speak the protocol wrongly on purpose. */
async function rawSocket(url: string, headers: Record<string, string> = {}, options: WebSocket.ClientOptions = {}) {
  const socket = new WebSocket(url, 'graphql-transport-ws', { headers, ...options });
  const frames: Frame[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  socket.on('message', (data) => frames.push(JSON.parse(data.toString())));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  const send = (frame: unknown) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  return {
    socket,
    frames,
    closed,
    send,
    async init(token: string) {
      send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
      await waitFor(() => frames.some((f) => f.type === 'connection_ack'), { what: 'connection_ack' });
    },
    framesFor: (id: string) => frames.filter((f) => f.id === id),
  };
}

/** The HTTP status of a refused upgrade, or 101 when it was accepted. */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { headers });
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.once('error', () => {});
  });
}

describe('graphql-ws protocol: errors get their close codes, one bad operation never costs the socket', () => {
  let srv: RunningServer;
  let user: Session;
  beforeAll(async () => {
    srv = await startServer({ ALLOWED_ORIGINS: 'https://app.example.com', MESSAGE_RATE_LIMIT: '0' });
    user = await signUp(srv.httpUrl, 'proto');
  });
  afterAll(() => srv.stop());

  it('refuses a handshake from an Origin outside ALLOWED_ORIGINS before the upgrade, and accepts listed, same-origin and Origin-less ones', async () => {
    expect(await upgradeStatus(srv.wsUrl, { origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(srv.wsUrl, { origin: 'https://app.example.com' })).toBe(101);
    expect(await upgradeStatus(srv.wsUrl, { origin: new URL(srv.url).origin })).toBe(101);
    expect(await upgradeStatus(srv.wsUrl, {})).toBe(101);
  });

  it('closes with 4408 when connection_init does not come in time', async () => {
    const raw = await rawSocket(srv.wsUrl);
    expect((await raw.closed).code).toBe(4408);
  });

  it('closes with 4429 on a second connection_init', async () => {
    const raw = await rawSocket(srv.wsUrl);
    await raw.init(user.accessToken);
    raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${user.accessToken}` } });
    expect((await raw.closed).code).toBe(4429);
  });

  it('closes with 4401 on subscribe before the acknowledgement', async () => {
    const raw = await rawSocket(srv.wsUrl);
    raw.send({ type: 'subscribe', id: '1', payload: { query: '{ me { id } }' } });
    expect((await raw.closed).code).toBe(4401);
  });

  it('closes with 4409 on a duplicate subscription id', async () => {
    const raw = await rawSocket(srv.wsUrl);
    await raw.init(user.accessToken);
    const sub = { type: 'subscribe', id: 'dup', payload: { query: 'subscription { directMessageAdded { id } }' } };
    raw.send(sub);
    raw.send(sub);
    expect((await raw.closed).code).toBe(4409);
  });

  it('closes with 4400 on a malformed message', async () => {
    const raw = await rawSocket(srv.wsUrl);
    await raw.init(user.accessToken);
    raw.send('{"type": "subscribe", "id": 1');
    expect((await raw.closed).code).toBe(4400);
  });

  it('answers a syntax error in one subscription with an error for that operation only; the socket and its other operations go on', async () => {
    const raw = await rawSocket(srv.wsUrl);
    await raw.init(user.accessToken);
    raw.send({ type: 'subscribe', id: 'good', payload: { query: 'subscription { messageAdded(room: "general") { text } }' } });
    raw.send({ type: 'subscribe', id: 'bad', payload: { query: 'subscription { messageAdded(room: "general") { text ' } });
    await waitFor(() => raw.framesFor('bad').length > 0, { what: 'an answer to the bad operation' });
    expect(raw.framesFor('bad')[0]).toMatchObject({ type: 'error' });
    await waitFor(async () => {
      await gql(srv.httpUrl, 'mutation { sendMessage(room: "general", text: "still here") { id } }', {}, user.accessToken);
      return raw.framesFor('good').some((f) => f.type === 'next');
    }, { what: 'the good operation receiving', intervalMs: 100 });
    expect(raw.socket.readyState).toBe(WebSocket.OPEN);
    raw.socket.close();
  });

  it('lets a socket hold 100 subscriptions; the 101st errors and the socket stays', async () => {
    const raw = await rawSocket(srv.wsUrl);
    await raw.init(user.accessToken);
    for (let i = 0; i < 101; i++) raw.send({ type: 'subscribe', id: `s${i}`, payload: { query: 'subscription { directMessageAdded { id } }' } });
    await waitFor(() => raw.framesFor('s100').length > 0, { what: 'an answer to the 101st' });
    expect(raw.framesFor('s100')[0]).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'RATE_LIMITED' } }] });
    for (let i = 0; i < 100; i++) expect(raw.framesFor(`s${i}`)).toEqual([]);
    // one ends, and there is room again
    raw.send({ type: 'complete', id: 's0' });
    raw.send({ type: 'subscribe', id: 's101', payload: { query: 'subscription { directMessageAdded { id } }' } });
    raw.send({ type: 'ping' });
    await waitFor(() => raw.frames.some((f) => f.type === 'pong'), { what: 'pong' });
    expect(raw.framesFor('s101')).toEqual([]);
    expect(raw.socket.readyState).toBe(WebSocket.OPEN);
    raw.socket.close();
  });

  it('closes a socket whose unread backlog passes the bound with 1013, without holding more than the bound', async () => {
    const slow = await startServer({ MESSAGE_RATE_LIMIT: '0', WS_MAX_BACKLOG: String(256 * 1024) });
    try {
      const s = await signUp(slow.httpUrl, 'slow');
      const raw = await rawSocket(slow.wsUrl, {}, { perMessageDeflate: false });
      await raw.init(s.accessToken);
      raw.send({ type: 'subscribe', id: 'flood', payload: { query: 'subscription { messageAdded(room: "general") { text } }' } });
      await waitFor(async () => /^chat_active_subscriptions 1/m.test(await (await fetch(`${slow.url}/metrics`)).text()), { what: 'subscribed' });
      // stop reading: the kernel buffers fill, then the server's send buffer
      (raw.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
      // 4000 characters of 4 UTF-8 bytes each: 16 KB a frame fills the kernel buffers sooner
      const text = '\u{1F600}'.repeat(4000);
      let sent = 0;
      while (sent < 5000) {
        await Promise.all(Array.from({ length: 50 }, () => gql(slow.httpUrl, 'mutation($t:String!){ sendMessage(room:"general", text:$t){ id } }', { t: text }, s.accessToken)));
        sent += 50;
        if (/^chat_slow_consumers_closed_total 1/m.test(await (await fetch(`${slow.url}/metrics`)).text())) break;
      }
      (raw.socket as unknown as { _socket: { resume(): void } })._socket.resume();
      const { code } = await raw.closed;
      expect(code).toBe(1013);
      expect(raw.framesFor('flood').length).toBeLessThan(sent);
    } finally {
      await slow.stop();
    }
  }, 90_000);

  it('drops a client that stops answering pings within about two intervals', async () => {
    const quick = await startServer({ WS_PING_INTERVAL: '1' });
    try {
      const s = await signUp(quick.httpUrl, 'mute');
      const raw = await rawSocket(quick.wsUrl, {}, { autoPong: false });
      await raw.init(s.accessToken);
      // terminated (no closing handshake) after a missed ping; the test's own timeout bounds the wait
      const { code } = await raw.closed;
      expect(code).toBe(1006);
    } finally {
      await quick.stop();
    }
  });
});

describe('a subscription whose source fails', () => {
  it('ends that operation with an error, never the whole socket', async () => {
    const config = loadConfig({ JWT_SECRET: 'test-secret-test-secret-test-secret!' });
    const backends = await createBackends(config);
    let failRange: Error | null = null;
    const range = backends.engine.log.range.bind(backends.engine.log);
    backends.engine.log.range = (room, q) => (failRange ? Promise.reject(failRange) : range(room, q));
    const srv = await startServer({ MESSAGE_RATE_LIMIT: '0' }, { backends });
    try {
      const s = await signUp(srv.httpUrl, 'src');
      const first = await gql(srv.httpUrl, 'mutation { sendMessage(room:"general", text:"one") { id } }', {}, s.accessToken);
      const client = wsClient(srv.wsUrl, s.accessToken);
      const healthy = collect(client, 'subscription { directMessageAdded { text } }');
      failRange = new Error("READONLY You can't write against a read only replica.");
      const failing = collect(client, 'subscription($a:ID){ messageAdded(room:"general", after:$a) { text } }', { a: '0-0' });
      await waitFor(() => failing.error !== null || failing.completed, { what: 'the failing operation to end' });
      const failure = JSON.stringify(failing.error ?? failing.results);
      expect(failure).toContain('INTERNAL_SERVER_ERROR');
      expect(failure).not.toContain('READONLY');
      // a backend that does not answer is said so, as over HTTP
      failRange = new BackendUnavailableError('Redis command timed out');
      const unavailable = collect(client, 'subscription($a:ID){ messageAdded(room:"general", after:$a) { text } }', { a: '0-0' });
      await waitFor(() => unavailable.error !== null || unavailable.completed, { what: 'the unavailable operation to end' });
      expect(JSON.stringify(unavailable.error ?? unavailable.results)).toContain('SERVICE_UNAVAILABLE');
      failRange = null;
      const other = await signUp(srv.httpUrl, 'src2');
      await gql(srv.httpUrl, 'mutation($to:String!){ sendDirectMessage(to:$to, text:"still open") { id } }', { to: s.username }, other.accessToken);
      const [dm] = await healthy.next(1);
      expect(dm!.data).toEqual({ directMessageAdded: { text: 'still open' } });
      expect(first.errors).toBeUndefined();
      await client.dispose();
    } finally {
      await srv.stop();
    }
  });
});
