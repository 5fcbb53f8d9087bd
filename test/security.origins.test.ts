import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { gql, signUp, type Session } from './support/client.js';
import { ENGINE_NAMES, startServerOn } from './support/engines.js';
import type { RunningServer } from './support/server.js';

/**
 * Issue 11, points 9, 10 and 11: CORS only for allowed origins and never with credentials; only
 * JSON bodies (no CSRF through forms); one origin rule for HTTP and WebSocket that does not trust
 * the Host header (DNS rebinding); /metrics for loopback (or METRICS_ALLOW) only.
 */

const REGISTER = (u: string) => `mutation { register(username: "${u}", password: "correct horse battery") { user { username } } }`;
let seq = 0;
const fresh = () => `csrf_${process.pid % 1000}_${Date.now() % 1e6}_${seq++}`;

/** A raw HTTP request, so that Host can be set as a rebinding browser would send it. */
function raw(url: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method, headers: init.headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The HTTP status of a WebSocket handshake with these headers (101 when upgraded). */
function upgradeStatus(wsUrl: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { headers });
    socket.on('open', () => {
      resolve(101);
      socket.terminate();
    });
    socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.on('error', () => {});
  });
}

describe.each(ENGINE_NAMES)('browser origins (%s engine, ALLOWED_ORIGINS=https://app.example.com)', (engine) => {
  let srv: RunningServer;
  let port: number;
  let alice: Session;
  beforeAll(async () => {
    srv = await startServerOn(engine, { ALLOWED_ORIGINS: 'https://app.example.com' });
    port = Number(new URL(srv.url).port);
    alice = await signUp(srv.httpUrl, 'origin');
  });
  afterAll(() => srv.stop());

  const preflight = (origin: string) =>
    fetch(srv.httpUrl, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    });

  it('CORS answers a listed origin with that origin and no credentials', async () => {
    const res = await preflight('https://app.example.com');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const post = await fetch(srv.httpUrl, {
      method: 'POST',
      headers: { origin: 'https://app.example.com', 'content-type': 'application/json', authorization: `Bearer ${alice.accessToken}` },
      body: JSON.stringify({ query: '{ me { username } }' }),
    });
    expect(post.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(post.headers.get('vary')).toMatch(/Origin/);
    expect((await post.json()).data).toEqual({ me: { username: alice.username } });
  });

  it('gives any other origin no CORS headers, and refuses its requests with 403 before they run', async () => {
    const res = await preflight('https://evil.example');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    const name = fresh();
    const post = await fetch(srv.httpUrl, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ query: REGISTER(name) }),
    });
    expect(post.status).toBe(403);
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
    expect((await post.json()).errors[0].extensions.code).toBe('FORBIDDEN');
    // nothing ran: the name is still free
    expect((await gql(srv.httpUrl, REGISTER(name))).errors).toBeUndefined();
  });

  it('refuses form-encoded, multipart and text/plain bodies (what a foreign page can post without a preflight) with 415 before they run', async () => {
    const names = [fresh(), fresh(), fresh()];
    const form = await fetch(srv.httpUrl, { method: 'POST', body: new URLSearchParams({ query: REGISTER(names[0]!) }) });
    const multipart = new FormData();
    multipart.set('operations', JSON.stringify({ query: REGISTER(names[1]!) }));
    multipart.set('map', '{}');
    const parts = await fetch(srv.httpUrl, { method: 'POST', body: multipart });
    const plain = await fetch(srv.httpUrl, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: REGISTER(names[2]!) }) });
    for (const res of [form, parts, plain]) {
      expect(res.status).toBe(415);
      expect((await res.json()).errors[0].extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    for (const name of names) expect((await gql(srv.httpUrl, REGISTER(name))).errors).toBeUndefined();
  });

  it('does not trust Host (DNS rebinding): evil.example resolving here is refused over WebSocket and HTTP', async () => {
    const rebound = { origin: `http://evil.example:${port}`, host: `evil.example:${port}` };
    expect(await upgradeStatus(srv.wsUrl, rebound)).toBe(403);
    const name = fresh();
    const post = await raw(srv.httpUrl, { method: 'POST', headers: { ...rebound, 'content-type': 'application/json' }, body: JSON.stringify({ query: REGISTER(name) }) });
    expect(post.status).toBe(403);
    expect((await gql(srv.httpUrl, REGISTER(name))).errors).toBeUndefined();
  });

  it('serves pages on loopback names (GraphiQL and the web page on localhost, the Vite proxy, nginx on localhost:8080), listed origins and clients without Origin', async () => {
    const cases: Record<string, string>[] = [
      { origin: `http://localhost:${port}`, host: `localhost:${port}` },
      { origin: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}` },
      { origin: 'http://localhost:5173', host: `localhost:${port}` },
      { origin: 'http://localhost:8080', host: 'localhost:8080' },
      { origin: 'https://app.example.com', host: `api.example.com` },
      {},
    ];
    for (const headers of cases) {
      expect(await upgradeStatus(srv.wsUrl, headers), JSON.stringify(headers)).toBe(101);
      const res = await raw(srv.httpUrl, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', authorization: `Bearer ${alice.accessToken}` },
        body: JSON.stringify({ query: '{ me { username } }' }),
      });
      expect(res.status, JSON.stringify(headers)).toBe(200);
    }
    // a loopback origin reaching the server under a public name is not a development setup
    expect(await upgradeStatus(srv.wsUrl, { origin: 'http://localhost:3000', host: 'chat.example.com' })).toBe(403);
  });
});

describe('without ALLOWED_ORIGINS', () => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServerOn('memory');
  });
  afterAll(() => srv.stop());

  it('a page on a public name is refused even when Origin and Host agree (list it in ALLOWED_ORIGINS)', async () => {
    expect(await upgradeStatus(srv.wsUrl, { origin: 'https://chat.example.com', host: 'chat.example.com' })).toBe(403);
    const res = await raw(srv.httpUrl, { method: 'POST', headers: { origin: 'https://chat.example.com', host: 'chat.example.com', 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    expect(res.status).toBe(403);
  });
});

describe('/metrics', () => {
  it('answers loopback clients, and with TRUSTED_PROXIES a client forwarded from outside gets 403', async () => {
    const srv = await startServerOn('memory', { TRUSTED_PROXIES: 'loopback' });
    try {
      expect((await fetch(`${srv.url}/metrics`)).status).toBe(200);
      const outsider = await fetch(`${srv.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
      expect(outsider.status).toBe(403);
      expect(await outsider.text()).not.toMatch(/chat_/);
      // a local scraper behind the same proxy is still served
      expect((await fetch(`${srv.url}/metrics`, { headers: { 'x-forwarded-for': '127.0.0.1' } })).status).toBe(200);
    } finally {
      await srv.stop();
    }
  });

  it('answers only METRICS_ALLOW when set (here a range loopback is not in)', async () => {
    const srv = await startServerOn('memory', { METRICS_ALLOW: '10.0.0.0/8' });
    try {
      expect((await fetch(`${srv.url}/metrics`)).status).toBe(403);
    } finally {
      await srv.stop();
    }
  });
});
