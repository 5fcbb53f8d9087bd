import type { ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, signUp, type Session } from './support/client.js';
import { waitFor } from './support/net.js';
import { nginxBinary, socketHolder, startNginx, waitForMetric, type RunningNginx } from './support/nginx.js';
import { startDeployment, type Deployment } from './support/deployment.js';
import { startServerProcess, type ServerProcess } from './support/server.js';

const SEND = 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }';
const SUBSCRIBE = 'subscription($r:String!,$after:ID){ messageAdded(room:$r, after:$after){ id text } }';

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}
const exitOf = (child: ChildProcess) => new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

/** Resolves once the process no longer accepts connections (it began draining). */
async function refusesConnections(port: number) {
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(false);
        });
        s.once('error', () => resolve(true));
      }),
    { timeoutMs: 15_000, what: `port ${port} to refuse connections` },
  );
}

/** The server's own account of its shutdown: how long it took, and whether it had to cut anything. */
function shutdownLog(output: string) {
  const lines = output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; ms?: number });
  return { stopped: lines.find((l) => l.msg === 'stopped'), cut: lines.some((l) => l.msg.startsWith('shutdown timeout')) };
}

describe('rolling restart behind nginx: a subscriber keeps every message, in order, without gap or duplicate', () => {
  const SHUTDOWN_TIMEOUT = 10;
  let deployment: Deployment | undefined;
  /** The instances behind nginx now (a restarted one takes its predecessor's place). */
  let servers: ServerProcess[] = [];
  let nginx: RunningNginx | undefined;
  let alice: Session;
  let bob: Session;

  beforeAll(async () => {
    nginxBinary(); // fails first, saying how to install nginx, when it is missing
    deployment = await startDeployment({ instances: 3, env: { MESSAGE_RATE_LIMIT: '0', SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT), LOG_LEVEL: 'info' } });
    servers = [...deployment.servers];
    nginx = await startNginx(servers.map((s) => `127.0.0.1:${s.port}`));
    alice = await signUp(servers[0]!.httpUrl, 'sender');
    bob = await signUp(servers[1]!.httpUrl, 'reader');
  }, 90_000);
  afterAll(async () => {
    await nginx?.stop();
    await deployment?.stop();
  });

  it('restarts the instance holding the socket twice while 200 messages go out through the others', async () => {
    const N = 200;
    const ROLLS = 2;
    const room = `rolling-${Date.now()}`;
    await gql(servers[0]!.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, alice.accessToken);

    // --- the subscriber, through nginx. graphql-ws re-sends the same payload object on every
    // reconnect, serialising it then: keeping `after` in it current makes each resubscription
    // resume after the last message seen.
    const received: string[] = [];
    const closeCodes: number[] = [];
    let connects = 0;
    const variables: { r: string; after?: string } = { r: room };
    const client: Client = createClient({
      url: nginx!.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${bob.accessToken}` },
      retryAttempts: 20,
      shouldRetry: () => true,
      retryWait: () => new Promise((r) => setTimeout(r, 100)),
      on: {
        connected: () => void connects++,
        closed: (e) => void closeCodes.push((e as { code: number }).code),
      },
    });
    let subscriptionError: unknown = null;
    const waiters: (() => void)[] = [];
    const dispose = client.subscribe<{ messageAdded: { id: string; text: string } }>(
      { query: SUBSCRIBE, variables },
      {
        next: (r) => {
          if (!r.data) {
            subscriptionError = r.errors;
            for (const w of waiters.splice(0)) w();
            return;
          }
          const id = r.data.messageAdded.id;
          received.push(id);
          variables.after = id;
          for (const w of waiters.splice(0)) w();
        },
        error: (e) => {
          subscriptionError = e;
          for (const w of waiters.splice(0)) w();
        },
        complete: () => {},
      },
    );
    const receivedUntil = async (done: () => boolean) => {
      while (!done() && !subscriptionError) await new Promise<void>((r) => waiters.push(r));
      if (subscriptionError) throw new Error(`subscription failed: ${JSON.stringify(subscriptionError)}`);
    };
    const receivedAtLeast = (n: number) => receivedUntil(() => received.length >= n);
    let holder = await socketHolder(servers.map((s) => s.url));
    await waitForMetric(servers[holder]!.url, 'chat_active_subscriptions', 1);

    // --- the sender: directly to an instance that is not being rolled, at a steady pace
    const rolling = new Set<number>();
    const sent: string[] = [];
    const sender = (async () => {
      for (let i = 0; i < N; i++) {
        for (let attempt = 0; ; attempt++) {
          const target = [0, 1, 2].map((k) => (i + k + attempt) % 3).find((k) => !rolling.has(k))!;
          try {
            sent.push((await gql(servers[target]!.httpUrl, SEND, { r: room, t: `m${i}` }, alice.accessToken)).data.sendMessage.id);
            break;
          } catch (err) {
            // refused before anything was sent (that instance just began draining): safe to send elsewhere
            if ((err as { cause?: { code?: string } }).cause?.code !== 'ECONNREFUSED' || attempt > 5) throw err;
          }
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    // --- the roller: SIGTERM the instance the subscriber is on, then start a new one on its port
    const rolls: { instance: number; exit: Exit; ms: number | undefined; cut: boolean; receivedBefore: number }[] = [];
    for (let roll = 0; roll < ROLLS; roll++) {
      await receivedAtLeast(((roll + 1) * N) / (ROLLS + 2));
      holder = await socketHolder(servers.map((s) => s.url));
      const victim = servers[holder]!;
      rolling.add(holder);
      const exited = exitOf(victim.child);
      const receivedBefore = received.length;
      victim.child.kill('SIGTERM');
      const exit = await exited;
      const log = shutdownLog(victim.output());
      rolls.push({ instance: holder, exit, ms: log.stopped?.ms, cut: log.cut, receivedBefore });
      servers[holder] = await deployment!.add({ PORT: String(victim.port) });
      rolling.delete(holder);
    }

    await sender;
    // the last message comes last: once it is in, a gap or a duplicate shows in the comparison below
    const last = sent.at(-1)!;
    await receivedUntil(() => received.includes(last));
    // every id the sender got back, in the room's order, once each
    console.log(
      `rolling restart: sent ${sent.length}, received ${received.length} (unique ${new Set(received).size}), ` +
        `connections ${connects}, close codes [${closeCodes.join(', ')}], ` +
        `rolls ${rolls.map((r) => `instance ${r.instance} exit ${r.exit.code} after ${r.ms} ms (at message ${r.receivedBefore})`).join('; ')}`,
    );
    expect(sent).toHaveLength(N);
    expect(received).toEqual(sent);
    const log = (await gql(servers[0]!.httpUrl, 'query($r:String!){ recentMessages(room:$r, limit:200){ id } }', { r: room }, bob.accessToken)).data.recentMessages.map(
      (m: { id: string }) => m.id,
    );
    expect(log).toEqual(sent);
    for (const r of rolls) {
      expect(r.exit).toEqual({ code: 0, signal: null });
      expect(r.cut).toBe(false);
      expect(r.ms).toBeLessThanOrEqual(SHUTDOWN_TIMEOUT * 1000);
    }
    expect(closeCodes.filter((c) => c === 1001)).toHaveLength(ROLLS);
    expect(connects).toBe(ROLLS + 1);
    dispose();
    await client.dispose();
  }, 120_000);
});

/** An HTTP/1.1 connection spoken by hand, to hold it open (keep-alive) or leave a request half-sent. */
class RawHttp {
  private buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  ended = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<RawHttp> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawHttp(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string) {
    this.socket.write(text);
  }

  private async until(done: () => boolean) {
    while (!done()) {
      if (this.ended) throw new Error(`connection closed; got: ${this.buffer.toString()}`);
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  /** The next response (Content-Length or chunked body). */
  async response(): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    await this.until(() => this.buffer.includes('\r\n\r\n'));
    const headEnd = this.buffer.indexOf('\r\n\r\n');
    const [statusLine, ...lines] = this.buffer.subarray(0, headEnd).toString().split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    let pos = headEnd + 4;
    let body = '';
    if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      await this.until(() => this.buffer.length >= pos + n);
      body = this.buffer.subarray(pos, pos + n).toString();
      pos += n;
    } else if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        await this.until(() => this.buffer.indexOf('\r\n', pos) >= 0);
        const lineEnd = this.buffer.indexOf('\r\n', pos);
        const size = parseInt(this.buffer.subarray(pos, lineEnd).toString(), 16);
        await this.until(() => this.buffer.length >= lineEnd + 2 + size + 2);
        body += this.buffer.subarray(lineEnd + 2, lineEnd + 2 + size).toString();
        pos = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
    } else {
      await this.closed();
      body = this.buffer.subarray(pos).toString();
      pos = this.buffer.length;
    }
    this.buffer = this.buffer.subarray(pos);
    return { status: Number(statusLine!.split(' ')[1]), headers, body };
  }

  async closed() {
    await this.until(() => this.ended).catch(() => {});
  }

  async request(text: string) {
    this.write(text);
    return this.response();
  }
}

/** A graphql-ws socket that subscribes, then stops reading: its close handshake waits until resume(). */
async function stalledSocket(wsUrl: string, token: string) {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    socket.once('message', (d) => (JSON.parse(d.toString()).type === 'connection_ack' ? resolve() : reject(new Error(d.toString()))));
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { messageAdded(room: "general") { id } }' } }));
  const raw = (socket as unknown as { _socket: Socket })._socket;
  return {
    pause: () => raw.pause(),
    resume: () => raw.resume(),
    closed,
  };
}

describe('graceful shutdown of one process', () => {
  it('on SIGTERM: /ready 503 at once, no new connections, SSE ended, in-flight request finished, sockets closed with 1001, exit 0', async () => {
    const srv = await startServerProcess({ LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT: '10' });
    const exit = exitOf(srv.child);
    try {
      const bob = await signUp(srv.httpUrl, 'drain');
      // a request in flight: headers and all of the body but its last byte
      const body = JSON.stringify({ query: '{ me { id } }' });
      const slow = await RawHttp.open(srv.port);
      slow.write(
        `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${bob.accessToken}\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, -1)}`,
      );
      // a keep-alive connection, idle
      const keep = await RawHttp.open(srv.port);
      expect((await keep.request('GET /health HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe(200);
      // an SSE subscription, open
      const sse = await fetch(srv.httpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${bob.accessToken}` },
        body: JSON.stringify({ query: 'subscription { messageAdded(room: "general") { id } }' }),
      });
      expect(sse.headers.get('content-type')).toMatch(/text\/event-stream/);
      const reader = sse.body!.getReader();
      await reader.read(); // the stream's first keep-alive comment
      // a WebSocket whose client will not answer the close frame until resumed: this keeps the
      // process draining for as long as the test needs to look at it
      const socket = await stalledSocket(srv.wsUrl, bob.accessToken);
      await waitForMetric(srv.url, 'chat_active_subscriptions', 2);
      socket.pause();

      srv.child.kill('SIGTERM');
      await refusesConnections(srv.port);
      // /ready on a connection opened before the signal: 503, and that connection is closed after it
      const ready = await keep.request('GET /ready HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(ready.status).toBe(503);
      expect(ready.headers.connection).toBe('close');
      await keep.closed();
      // the SSE stream ends without a `complete` event, so a graphql-sse client retries elsewhere
      let streamed = '';
      for (;;) {
        const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
        if (chunk.done) break;
        streamed += new TextDecoder().decode(chunk.value);
      }
      expect(streamed).not.toContain('event: complete');
      // the request in flight is answered, with Connection: close
      slow.write(body.slice(-1));
      const answer = await slow.response();
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ data: { me: { id: bob.userId } } });
      expect(answer.headers.connection).toBe('close');
      // the socket gets 1001 Going Away once its client reads again
      socket.resume();
      expect(await socket.closed).toBe(1001);
      expect(await exit).toEqual({ code: 0, signal: null });
      const log = shutdownLog(srv.output());
      expect(log.stopped).toBeDefined();
      expect(log.cut).toBe(false);
    } finally {
      await srv.stop();
    }
  });

  it('a second signal exits at once, without waiting for the drain', async () => {
    const srv = await startServerProcess({ SHUTDOWN_TIMEOUT: '300' });
    const exit = exitOf(srv.child);
    try {
      const user = await signUp(srv.httpUrl, 'twice');
      const socket = await stalledSocket(srv.wsUrl, user.accessToken);
      await waitForMetric(srv.url, 'chat_open_sockets', 1);
      socket.pause(); // the drain would wait for this socket (for up to 300 s)
      srv.child.kill('SIGINT');
      await refusesConnections(srv.port);
      srv.child.kill('SIGINT');
      expect(await exit).toEqual({ code: 130, signal: null }); // 128 + SIGINT, as a shell reports it
    } finally {
      await srv.stop();
    }
  });

  it('cuts what is still open at SHUTDOWN_TIMEOUT and still exits 0', async () => {
    const srv = await startServerProcess({ LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT: '1' });
    const exit = exitOf(srv.child);
    try {
      const user = await signUp(srv.httpUrl, 'stuck');
      const socket = await stalledSocket(srv.wsUrl, user.accessToken);
      await waitForMetric(srv.url, 'chat_open_sockets', 1);
      socket.pause(); // never answers the close frame
      srv.child.kill('SIGTERM');
      expect(await exit).toEqual({ code: 0, signal: null });
      const log = shutdownLog(srv.output());
      expect(log.cut).toBe(true);
      expect(log.stopped!.ms).toBeLessThanOrEqual(1000);
      socket.resume();
      await socket.closed;
    } finally {
      await srv.stop();
    }
  });
});
