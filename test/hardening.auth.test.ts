import { createHmac, randomUUID } from 'node:crypto';
import { base64url, decodeJwt, SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTokenService, TOKEN_AUDIENCE, TOKEN_ISSUER } from '../src/auth/tokens.js';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { login, register } from '../src/resolvers/auth.js';
import { codeOf, gql, signUp, wsClient, type GraphQLResponse, type Session } from './support/client.js';
import { expectCode, newUser, PASSWORD } from './support/rules.js';
import { startServer, startServerProcess, TEST_JWT_SECRET, type RunningServer } from './support/server.js';
import { anonymous, memoryServices } from './support/services.js';

/**
 * Authentication, issue 5 "Hardening": forged and malformed access tokens over the token service,
 * HTTP and WebSocket; the production JWT_SECRET rule; login throttles per username and per address
 * (X-Forwarded-For only from a trusted proxy); the same answer and the same work for an unknown user;
 * a bounded password-hash queue; over-long passwords refused before hashing.
 */

/** Every scrypt computation the password hasher starts, counted, with the ones running at once; `hold` keeps them from finishing. */
const scrypts = vi.hoisted(() => ({ calls: 0, running: 0, maxRunning: 0, held: null as Promise<void> | null }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  const scrypt = (...args: unknown[]) => {
    const callback = args.pop() as (err: Error | null, key: Buffer) => void;
    scrypts.calls++;
    scrypts.running++;
    scrypts.maxRunning = Math.max(scrypts.maxRunning, scrypts.running);
    (real.scrypt as (...a: unknown[]) => void)(...args, (err: Error | null, key: Buffer) => {
      const finish = () => {
        scrypts.running--;
        callback(err, key);
      };
      if (scrypts.held) void scrypts.held.then(finish);
      else finish();
    });
  };
  return { ...real, default: { ...real, scrypt }, scrypt };
});
const resetScrypts = () => Object.assign(scrypts, { calls: 0, running: 0, maxRunning: 0, held: null });

const SECRET = new TextEncoder().encode(TEST_JWT_SECRET);
const ME = '{ me { id username } }';

interface Forgery {
  readonly alg?: string;
  readonly key?: Uint8Array;
  readonly omit?: readonly (keyof JWTPayload)[];
  readonly claims?: JWTPayload;
}

/**
 * An access token like the server's for `user` (of the login of its real access token, which the
 * server checks is still live), changed as `forgery` says (nothing changed: a valid one).
 */
async function craft(user: { userId: string; username: string; accessToken: string }, forgery: Forgery = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = {
    iss: TOKEN_ISSUER,
    aud: TOKEN_AUDIENCE,
    sub: user.userId,
    iat: now,
    exp: now + 600,
    jti: randomUUID(),
    name: user.username,
    fam: decodeJwt(user.accessToken).fam,
    ...forgery.claims,
  };
  for (const claim of forgery.omit ?? []) delete payload[claim];
  return new SignJWT(payload).setProtectedHeader({ alg: forgery.alg ?? 'HS256', typ: 'JWT' }).sign(forgery.key ?? SECRET);
}

/** alg none: header.payload. with an empty signature. */
async function unsigned(user: Session): Promise<string> {
  const valid = await craft(user);
  const [, payload] = valid.split('.');
  const none = new UnsecuredJWT({}).encode().split('.')[0]!; // {"alg":"none"}
  return `${none}.${payload}.`;
}

/** Algorithm confusion: header says RS256, signed with HMAC-SHA256 over the shared secret (as if it were a public key). */
async function rs256Header(user: Session): Promise<string> {
  const valid = await craft(user);
  const [, payload] = valid.split('.');
  const header = base64url.encode(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const signature = createHmac('sha256', SECRET).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** What a graphql-ws handshake with `token` ends in: 'acked', or the close code. */
function wsOutcome(wsUrl: string, token: string): Promise<'acked' | number> {
  return new Promise((resolve) => {
    const client = wsClient(wsUrl, token, {
      on: {
        connected: () => {
          resolve('acked');
          void client.dispose();
        },
        closed: (event) => resolve((event as { code: number }).code),
      },
    });
    client.subscribe({ query: 'subscription { directMessageAdded { id } }' }, { next: () => {}, error: () => {}, complete: () => {} });
  });
}

describe('forged and malformed access tokens', () => {
  let srv: RunningServer;
  let user: Session;
  beforeAll(async () => {
    srv = await startServer();
    user = await signUp(srv.httpUrl, 'tok');
  });
  afterAll(() => srv.stop());

  const tokens = () => createTokenService({ secret: SECRET, accessTokenTtl: 900 });

  it('control: a token crafted the server\'s way is accepted by the token service, over HTTP and over WebSocket', async () => {
    const token = await craft(user);
    expect(await tokens().verifyAccess(token)).toMatchObject({ ok: true, viewer: { id: user.userId, username: user.username } });
    expect((await gql(srv.httpUrl, ME, {}, token)).data?.me).toEqual({ id: user.userId, username: user.username });
    expect(await wsOutcome(srv.wsUrl, token)).toBe('acked');
  });

  const forgeries: [string, (u: Session) => Promise<string>][] = [
    ['alg none (unsigned)', (u) => unsigned(u)],
    ['another algorithm: HS512 with the right key', (u) => craft(u, { alg: 'HS512' })],
    ['an RS256 header over an HMAC signature (algorithm confusion)', (u) => rs256Header(u)],
    ['the wrong key', (u) => craft(u, { key: new TextEncoder().encode('another-secret-another-secret-another!') })],
    ['the wrong iss', (u) => craft(u, { claims: { iss: 'someone-else' } })],
    ['the wrong aud', (u) => craft(u, { claims: { aud: 'another-api' } })],
    ['no exp', (u) => craft(u, { omit: ['exp'] })],
    ['no iat', (u) => craft(u, { omit: ['iat'] })],
    ['no sub', (u) => craft(u, { omit: ['sub'] })],
    ['an expired exp', (u) => craft(u, { claims: { iat: Math.floor(Date.now() / 1000) - 120, exp: Math.floor(Date.now() / 1000) - 60 } })],
    ['a refresh token (<uuid>.<secret>)', async (u) => u.refreshToken],
  ];

  it.each(forgeries)('%s: refused by the token service, UNAUTHENTICATED over HTTP, closed with 4403 over WebSocket', async (_name, make) => {
    const token = await make(user);
    expect((await tokens().verifyAccess(token)).ok).toBe(false);
    const r = await gql(srv.httpUrl, ME, {}, token);
    expect(r.data ?? null).toBeNull();
    expect(codeOf(r)).toBe('UNAUTHENTICATED');
    expect(await wsOutcome(srv.wsUrl, token)).toBe(4403);
  });

  it('a refresh token is of the form <family uuid>.<uuid>.<secret> (so the case above is the real thing)', () => {
    expect(user.refreshToken).toMatch(/^[0-9a-f-]{36}\.[0-9a-f-]{36}\.[A-Za-z0-9_-]{20,}$/);
  });
});

describe('JWT_SECRET in production', () => {
  it('loadConfig refuses one shorter than 32 bytes, or none, with one line naming JWT_SECRET', () => {
    for (const env of [{ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(31) }, { NODE_ENV: 'production' }]) {
      let error: unknown;
      try {
        loadConfig(env);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/^JWT_SECRET: /);
      expect((error as Error).message).not.toContain('\n');
    }
    // 32 bytes (not characters) is enough
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'é'.repeat(16) }).jwtSecret.byteLength).toBe(32);
  });

  it('a real process with a short JWT_SECRET and NODE_ENV=production exits non-zero naming JWT_SECRET', async () => {
    const started = startServerProcess({ NODE_ENV: 'production', JWT_SECRET: 'short-secret' });
    await expect(started).rejects.toThrow(/server exited with [1-9]\d*:[\s\S]*JWT_SECRET/);
  }, 60_000);
});

describe('login throttle per address (LOGIN_IP_RATE_LIMIT=3/60, per-username throttle off)', () => {
  const LOGIN = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }';
  const attempt = async (url: string, username: string, password: string, forwardedFor?: string): Promise<GraphQLResponse> => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
      body: JSON.stringify({ query: LOGIN, variables: { u: username, p: password } }),
    });
    return (await res.json()) as GraphQLResponse;
  };
  let n = 0;
  const someone = () => `nobody_${process.pid % 1000}_${n++}`;

  describe('without a trusted proxy (TRUSTED_PROXIES unset)', () => {
    let srv: RunningServer;
    beforeAll(async () => {
      srv = await startServer({ LOGIN_IP_RATE_LIMIT: '3/60', LOGIN_RATE_LIMIT: '0' });
    });
    afterAll(() => srv.stop());

    it('counts failed logins across usernames from one address; a rotating, spoofed X-Forwarded-For does not escape it', async () => {
      const victim = await signUp(srv.httpUrl, 'ipv');
      for (let i = 0; i < 3; i++) expect(codeOf(await attempt(srv.httpUrl, someone(), 'wrong password', `198.51.100.${i + 1}`))).toBe('UNAUTHENTICATED');
      const limited = await attempt(srv.httpUrl, someone(), 'wrong password', '198.51.100.99');
      expect(codeOf(limited)).toBe('RATE_LIMITED');
      expect(limited.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(0);
      // a right password from that address waits too
      expect(codeOf(await attempt(srv.httpUrl, victim.username, victim.password, '203.0.113.200'))).toBe('RATE_LIMITED');
    });
  });

  describe('behind a trusted proxy (TRUSTED_PROXIES=loopback)', () => {
    let srv: RunningServer;
    beforeAll(async () => {
      srv = await startServer({ LOGIN_IP_RATE_LIMIT: '3/60', LOGIN_RATE_LIMIT: '0', TRUSTED_PROXIES: 'loopback' });
    });
    afterAll(() => srv.stop());

    it('keys on the X-Forwarded-For address: two forwarded clients are counted separately', async () => {
      const victim = await signUp(srv.httpUrl, 'ipt');
      for (let i = 0; i < 3; i++) expect(codeOf(await attempt(srv.httpUrl, someone(), 'wrong password', '203.0.113.7'))).toBe('UNAUTHENTICATED');
      expect(codeOf(await attempt(srv.httpUrl, someone(), 'wrong password', '203.0.113.7'))).toBe('RATE_LIMITED');
      expect(codeOf(await attempt(srv.httpUrl, victim.username, victim.password, '203.0.113.7'))).toBe('RATE_LIMITED');
      // another client behind the same proxy is not held up
      expect(codeOf(await attempt(srv.httpUrl, someone(), 'wrong password', '203.0.113.8'))).toBe('UNAUTHENTICATED');
      const ok = await attempt(srv.httpUrl, victim.username, victim.password, '203.0.113.8');
      expect(ok.errors).toBeUndefined();
      // nor is the proxy itself (no header)
      expect(codeOf(await attempt(srv.httpUrl, someone(), 'wrong password'))).toBe('UNAUTHENTICATED');
    });
  });
});

describe('login of an unknown user', () => {
  it('gets the same UNAUTHENTICATED message as a wrong password and pays one scrypt hash as well', async () => {
    const services = memoryServices();
    await newUser(services, 'alice');

    resetScrypts();
    const wrong = await expectCode(login(anonymous(services), { username: 'alice', password: 'not the password' }), 'UNAUTHENTICATED');
    expect(scrypts.calls).toBe(1);

    resetScrypts();
    const unknown = await expectCode(login(anonymous(services), { username: 'nobody_here', password: 'not the password' }), 'UNAUTHENTICATED');
    expect(scrypts.calls).toBe(1);

    expect(unknown.message).toBe(wrong.message);
    expect(unknown.extensions).toEqual(wrong.extensions);
  });

  it('the same over HTTP', async () => {
    const srv = await startServer({ LOGIN_IP_RATE_LIMIT: '0' });
    try {
      const alice = await signUp(srv.httpUrl, 'same');
      const LOGIN = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }';
      const wrong = await gql(srv.httpUrl, LOGIN, { u: alice.username, p: 'not the password' });
      const unknown = await gql(srv.httpUrl, LOGIN, { u: `${alice.username.slice(0, 28)}_x`, p: 'not the password' });
      expect(unknown.errors?.[0]).toEqual(wrong.errors?.[0]);
      expect(codeOf(unknown)).toBe('UNAUTHENTICATED');
    } finally {
      await srv.stop();
    }
  });
});

describe('a login flood', () => {
  it('is bounded (1 hash at a time, 2 waiting): the rest fail fast with RATE_LIMITED (retryAfter 1) instead of queueing', async () => {
    const services = memoryServices({ hashConcurrency: 1, maxQueuedHashes: 2 });
    await newUser(services, 'flood_target');
    resetScrypts();
    let release!: () => void;
    scrypts.held = new Promise<void>((r) => (release = r));

    let settled = 0;
    const attempts = Array.from({ length: 10 }, (_, i) =>
      login(anonymous(services), { username: 'flood_target', password: `wrong guess ${i}` }).then(
        () => 'OK',
        (err: { extensions?: { code?: string; retryAfter?: number } }) => {
          settled++;
          return err.extensions?.code === 'RATE_LIMITED' ? `RATE_LIMITED/${err.extensions.retryAfter}` : String(err.extensions?.code);
        },
      ),
    );
    // while the hashes cannot finish: one runs, two wait, seven are refused at once
    await vi.waitFor(() => expect(settled).toBe(7), { timeout: 10_000 });
    expect(scrypts.running).toBe(1);
    expect(services.passwords.pending).toBe(3);
    // register meets the same full line
    await expectCode(register(anonymous(services), { username: 'newcomer', password: PASSWORD }), 'RATE_LIMITED');

    release();
    const codes = await Promise.all(attempts);
    expect(codes.filter((c) => c === 'RATE_LIMITED/1')).toHaveLength(7);
    expect(codes.filter((c) => c === 'UNAUTHENTICATED')).toHaveLength(3);
    expect(scrypts.calls).toBe(3);
    expect(scrypts.maxRunning).toBe(1);
    expect(services.passwords.pending).toBe(0);
    // and afterwards logins are served again
    await expect(login(anonymous(services), { username: 'flood_target', password: PASSWORD })).resolves.toBeTruthy();
  });
});

describe('passwords over 256 characters', () => {
  it('are BAD_USER_INPUT for login and register without computing a hash; 256 are hashed', async () => {
    const services = memoryServices();
    await newUser(services, 'alice');
    resetScrypts();
    const long = 'p'.repeat(257);
    await expectCode(login(anonymous(services), { username: 'alice', password: long }), 'BAD_USER_INPUT');
    await expectCode(register(anonymous(services), { username: 'bob', password: long }), 'BAD_USER_INPUT');
    await expectCode(login(anonymous(services), { username: 'alice', password: 'p'.repeat(64 * 1024) }), 'BAD_USER_INPUT');
    expect(scrypts.calls).toBe(0);

    await register(anonymous(services), { username: 'carol', password: 'p'.repeat(256) });
    expect(scrypts.calls).toBe(1);
  });
});
