import { createClient as createSseClient } from 'graphql-sse';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, gql, signUp, wsClient, type Session } from './support/client.js';
import { metric, nginxBinary, socketHolder, startNginx, waitForMetric, type RunningNginx } from './support/nginx.js';
import { startDeployment, type Deployment } from './support/deployment.js';
import type { ServerProcess } from './support/server.js';

const SEND = 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }';
const SUBSCRIBE = 'subscription($r:String!){ messageAdded(room:$r){ id text } }';

describe('the committed nginx.conf, run by a real nginx in front of three server processes on one Redis', () => {
  let deployment: Deployment | undefined;
  let servers: ServerProcess[] = [];
  let nginx: RunningNginx | undefined;
  let alice: Session;
  let bob: Session;

  beforeAll(async () => {
    nginxBinary(); // fails first, saying how to install nginx, when it is missing
    deployment = await startDeployment({ instances: 3, env: { MESSAGE_RATE_LIMIT: '0' } });
    servers = deployment.servers;
    nginx = await startNginx(servers.map((s) => `127.0.0.1:${s.port}`));
    alice = await signUp(nginx.httpUrl, 'alice');
    bob = await signUp(nginx.httpUrl, 'bob');
  }, 90_000);
  afterAll(async () => {
    await nginx?.stop();
    await deployment?.stop();
  });

  it('passes /health and /ready through, and does not publish /metrics', async () => {
    const health = await fetch(`${nginx!.url}/health`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${nginx!.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe('ready');
    expect((await fetch(`${nginx!.url}/metrics`)).status).toBe(404);
  });

  it('serves GraphQL over HTTP through the upstream, spreading requests over the instances', async () => {
    const me = await gql(nginx!.httpUrl, '{ me { id username } }', {}, alice.accessToken);
    expect(me.data).toEqual({ me: { id: alice.userId, username: alice.username } });
    // bob registered through nginx; his token works on every instance directly (shared Redis)
    for (const s of servers) expect((await gql(s.httpUrl, '{ me { id } }', {}, bob.accessToken)).data).toEqual({ me: { id: bob.userId } });
    for (let i = 0; i < 6; i++) await gql(nginx!.httpUrl, '{ me { id } }', {}, alice.accessToken);
    const upstreams = new Set([...nginx!.accessLog().matchAll(/upstream=(\S+)/g)].map((m) => m[1]));
    expect(upstreams.size).toBeGreaterThan(1);
  });

  it('carries a graphql-ws subscription through nginx that receives messages sent to each instance directly', async () => {
    const room = `via-nginx-${Date.now()}`;
    await gql(nginx!.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, alice.accessToken);
    const client = wsClient(nginx!.wsUrl, bob.accessToken);
    const sub = collect(client, SUBSCRIBE, { r: room });
    const holder = await socketHolder(servers.map((s) => s.url));
    await waitForMetric(servers[holder]!.url, 'chat_active_subscriptions', 1);
    // one message through every instance, so most come from an instance the socket is not on
    const texts = servers.map((_, i) => `to instance ${i}`);
    const sent = [];
    for (const [i, s] of servers.entries()) sent.push((await gql(s.httpUrl, SEND, { r: room, t: texts[i] }, alice.accessToken)).data.sendMessage.id);
    const got = await sub.next(servers.length);
    expect(got.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect(got.map((r) => r.data.messageAdded.text)).toEqual(texts);
    expect(got.map((r) => r.data.messageAdded.id)).toEqual(sent);
    expect(sub.error).toBeNull();
    sub.dispose();
    await client.dispose();
  });

  it('accepts a browser WebSocket from its own origin (nginx passes Host with the port on)', async () => {
    const socket = new WebSocket(nginx!.wsUrl, 'graphql-transport-ws', { origin: nginx!.url });
    const ack = await new Promise<string>((resolve, reject) => {
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${bob.accessToken}` } })));
      socket.once('message', (d) => resolve(d.toString()));
      socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      socket.once('close', (code) => reject(new Error(`closed with ${code}`)));
      socket.once('error', reject);
    });
    expect(JSON.parse(ack).type).toBe('connection_ack');
    socket.close();
  });

  it('streams an SSE subscription (graphql-sse) through nginx', async () => {
    const room = `sse-nginx-${Date.now()}`;
    await gql(nginx!.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, alice.accessToken);
    const before = await Promise.all(servers.map((s) => metric(s.url, 'chat_active_subscriptions')));
    const sse = createSseClient({ url: nginx!.httpUrl, headers: { authorization: `Bearer ${bob.accessToken}` }, retryAttempts: 0 });
    const got: string[] = [];
    let dispose = () => {};
    const done = new Promise<void>((resolve, reject) => {
      dispose = sse.subscribe<{ messageAdded: { text: string } }>(
        { query: SUBSCRIBE, variables: { r: room } },
        {
          next: (r) => {
            if (!r.data) return reject(new Error(`subscription error: ${JSON.stringify(r.errors)}`));
            got.push(r.data.messageAdded.text);
            if (got.length === 3) resolve();
          },
          error: reject,
          complete: () => {},
        },
      );
    });
    // the stream is open once one instance counts one more subscription
    let holder = -1;
    await expect
      .poll(async () => {
        const now = await Promise.all(servers.map((s) => metric(s.url, 'chat_active_subscriptions')));
        holder = now.findIndex((n, i) => n > before[i]!);
        return holder;
      }, { timeout: 15_000, interval: 25 })
      .toBeGreaterThanOrEqual(0);
    for (const t of ['one', 'two', 'three']) await gql(servers[(holder + 1) % servers.length]!.httpUrl, SEND, { r: room, t }, alice.accessToken);
    await done;
    expect(got).toEqual(['one', 'two', 'three']);
    dispose();
    sse.dispose();
  });

  it('refuses a body over 64 KiB with 413 and passes one just under it', async () => {
    const body = (pad: number) => JSON.stringify({ query: `{ me { id } } #${'x'.repeat(pad)}` });
    const big = await fetch(nginx!.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(70_000) });
    expect(big.status).toBe(413);
    const fits = await fetch(nginx!.httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.accessToken}` },
      body: body(60_000),
    });
    expect(fits.status).toBe(200);
    expect((await fits.json()).data).toEqual({ me: { id: alice.userId } });
    // the instances are unharmed
    expect((await fetch(`${nginx!.url}/ready`)).status).toBe(200);
  });
});
