import { randomUUID } from 'node:crypto';
import { base64url, decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPasswordHasher, DEFAULT_SCRYPT } from '../src/auth/passwords.js';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '../src/auth/tokens.js';
import { login, logout, me, refresh, register } from '../src/resolvers/auth.js';
import type { ChatContext, Services } from '../src/resolvers/context.js';
import { recentMessages, sendDirectMessage, sendMessage } from '../src/resolvers/messages.js';
import { removeFromRoom } from '../src/resolvers/moderation.js';
import { createRoom, inviteToRoom, joinRoom, leaveRoom, rooms } from '../src/resolvers/rooms.js';
import { directMessageAdded, messageAdded } from '../src/resolvers/subscriptions.js';
import { expectCode, failure, newUser, PASSWORD } from './support/rules.js';
import { anonymous, memoryServices, signedIn, TEST_SCRYPT, TEST_SECRET } from './support/services.js';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');

/** Logins announced as revoked: the control event on which every instance closes that login's sockets. */
async function revokedLogins(services: Services): Promise<string[]> {
  const families: string[] = [];
  await services.engine.control.subscribe((event) => {
    if (event.type === 'login-revoked') families.push(event.familyId);
  });
  return families;
}

describe('register', () => {
  it('returns an access token that is an HS256 JWT with iss, aud, sub, exp, iat and jti; accessTokenExpiresAt is its exp', async () => {
    const services = memoryServices({ accessTokenTtl: 120 });
    const auth = await register(anonymous(services), { username: 'alice', password: PASSWORD });

    expect(decodeProtectedHeader(auth.accessToken).alg).toBe('HS256');
    const claims = decodeJwt(auth.accessToken);
    expect(claims.iss).toBe(TOKEN_ISSUER);
    expect(claims.aud).toBe(TOKEN_AUDIENCE);
    expect(claims.sub).toBe(auth.user.id);
    expect(typeof claims.jti).toBe('string');
    expect(claims.jti).not.toBe('');
    expect(Number.isInteger(claims.iat)).toBe(true);
    expect(Number.isInteger(claims.exp)).toBe(true);
    expect(claims.exp! - claims.iat!).toBe(120);
    expect(auth.accessTokenExpiresAt).toBeInstanceOf(Date);
    expect(auth.accessTokenExpiresAt.getTime()).toBe(claims.exp! * 1000);

    const verified = await services.tokens.verifyAccess(auth.accessToken);
    expect(verified).toMatchObject({ ok: true, viewer: { id: auth.user.id, username: 'alice' } });
    expect(me(await signedIn(services, auth.accessToken))).toEqual({ id: auth.user.id, username: 'alice' });
  });

  it('gives every token its own jti and every login its own refresh token', async () => {
    const services = memoryServices();
    const first = await register(anonymous(services), { username: 'alice', password: PASSWORD });
    const second = await login(anonymous(services), { username: 'alice', password: PASSWORD });
    expect(decodeJwt(second.accessToken).jti).not.toBe(decodeJwt(first.accessToken).jti);
    expect(second.refreshToken).not.toBe(first.refreshToken);
  });

  it('a taken username is CONFLICT, also when it differs only in case', async () => {
    const services = memoryServices();
    await newUser(services, 'alice');
    await expectCode(register(anonymous(services), { username: 'alice', password: 'another password' }), 'CONFLICT');
    await expectCode(register(anonymous(services), { username: 'ALICE', password: 'another password' }), 'CONFLICT');
    // the first account is untouched
    await expect(login(anonymous(services), { username: 'alice', password: PASSWORD })).resolves.toBeTruthy();
    await expectCode(login(anonymous(services), { username: 'alice', password: 'another password' }), 'UNAUTHENTICATED');
  });

  it('two parallel registrations of one name: one wins, the other is CONFLICT', async () => {
    const services = memoryServices();
    const results = await Promise.allSettled([
      register(anonymous(services), { username: 'alice', password: 'password one' }),
      register(anonymous(services), { username: 'Alice', password: 'password two' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason.extensions.code).toBe('CONFLICT');
  });
});

describe('login', () => {
  it('with the right password returns a new login for the same user', async () => {
    const services = memoryServices();
    const alice = await newUser(services, 'alice');
    const auth = await login(anonymous(services), { username: 'alice', password: PASSWORD });
    expect(auth.user).toEqual({ id: alice.id, username: 'alice' });
    expect(decodeJwt(auth.accessToken).sub).toBe(alice.id);
  });

  it('gives the same UNAUTHENTICATED message for an unknown user and a wrong password', async () => {
    const services = memoryServices();
    await newUser(services, 'alice');
    const verify = vi.spyOn(services.passwords, 'verify');
    const unknown = await expectCode(login(anonymous(services), { username: 'nobody', password: PASSWORD }), 'UNAUTHENTICATED');
    const wrong = await expectCode(login(anonymous(services), { username: 'alice', password: 'wrong password' }), 'UNAUTHENTICATED');
    expect(unknown.message).toBe(wrong.message);
    expect(unknown.extensions).toEqual(wrong.extensions);
    // an unknown user costs a hash too, so timing does not tell them apart
    expect(verify).toHaveBeenCalledTimes(2);
  });
});

describe('LOGIN_RATE_LIMIT', () => {
  const LIMIT = { count: 3, seconds: 60 };
  let services: Services;
  beforeEach(async () => {
    services = memoryServices({ loginRateLimit: LIMIT });
    await newUser(services, 'alice');
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const attempt = (password: string, username = 'alice') => login(anonymous(services), { username, password });

  it('after N failed logins every login, a correct one too, is RATE_LIMITED with an integer retryAfter >= 1', async () => {
    for (let i = 0; i < LIMIT.count; i++) await expectCode(attempt('wrong password'), 'UNAUTHENTICATED');
    for (const password of ['wrong password', PASSWORD, PASSWORD]) {
      const err = await expectCode(attempt(password), 'RATE_LIMITED');
      const retryAfter = err.extensions.retryAfter;
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(LIMIT.seconds);
    }
  });

  it('counts per username (case-insensitively) and leaves other usernames alone', async () => {
    await newUser(services, 'bob');
    for (let i = 0; i < LIMIT.count; i++) await expectCode(attempt('wrong password', i % 2 ? 'ALICE' : 'Alice'), 'UNAUTHENTICATED');
    await expectCode(attempt(PASSWORD, 'alice'), 'RATE_LIMITED');
    await expect(attempt(PASSWORD, 'bob')).resolves.toMatchObject({ user: { username: 'bob' } });
  });

  it('successful logins do not count as failures', async () => {
    for (let i = 0; i < LIMIT.count * 3; i++) await expect(attempt(PASSWORD)).resolves.toMatchObject({ user: { username: 'alice' } });
    for (let i = 0; i < LIMIT.count - 1; i++) await expectCode(attempt('wrong password'), 'UNAUTHENTICATED');
    await expect(attempt(PASSWORD)).resolves.toMatchObject({ user: { username: 'alice' } });
  });

  it('N parallel failed logins (as aliases in one document would send) cannot exceed the limit', async () => {
    const verify = vi.spyOn(services.passwords, 'verify');
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => attempt('wrong password')));
    const codes = results.map((r) => (r.status === 'rejected' ? r.reason.extensions.code : 'OK'));
    expect(codes.filter((c) => c === 'UNAUTHENTICATED')).toHaveLength(LIMIT.count);
    expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(10 - LIMIT.count);
    expect(verify).toHaveBeenCalledTimes(LIMIT.count);
    await expectCode(attempt(PASSWORD), 'RATE_LIMITED');
  });

  it('a correct login works again once the window has passed', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    for (let i = 0; i < LIMIT.count; i++) await expectCode(attempt('wrong password'), 'UNAUTHENTICATED');
    await expectCode(attempt(PASSWORD), 'RATE_LIMITED');
    vi.setSystemTime(Date.now() + (LIMIT.seconds - 1) * 1000);
    await expectCode(attempt(PASSWORD), 'RATE_LIMITED');
    vi.setSystemTime(Date.now() + 2000);
    await expect(attempt(PASSWORD)).resolves.toMatchObject({ user: { username: 'alice' } });
  });
});

describe('refresh', () => {
  it('rotates: returns a new refresh token and a valid access token for the same user', async () => {
    const services = memoryServices();
    const alice = await newUser(services, 'alice');
    const next = await refresh(anonymous(services), { refreshToken: alice.auth.refreshToken });
    expect(next.refreshToken).not.toBe(alice.auth.refreshToken);
    expect(next.user).toEqual({ id: alice.id, username: 'alice' });
    expect(next.accessTokenExpiresAt.getTime()).toBe(decodeJwt(next.accessToken).exp! * 1000);
    expect(me(await signedIn(services, next.accessToken))).toEqual({ id: alice.id, username: 'alice' });
    // the chain goes on
    const third = await refresh(anonymous(services), { refreshToken: next.refreshToken });
    expect(third.refreshToken).not.toBe(next.refreshToken);
  });

  it('a rotated refresh token presented again revokes the whole login', async () => {
    const services = memoryServices();
    const revoked = await revokedLogins(services);
    const alice = await newUser(services, 'alice');
    const familyId = decodeJwt(alice.auth.accessToken).fam;
    expect(typeof familyId).toBe('string');
    const next = await refresh(anonymous(services), { refreshToken: alice.auth.refreshToken });

    await expectCode(refresh(anonymous(services), { refreshToken: alice.auth.refreshToken }), 'UNAUTHENTICATED');
    expect(revoked).toEqual([familyId]);
    // the newest token of that login stops working too
    await expectCode(refresh(anonymous(services), { refreshToken: next.refreshToken }), 'UNAUTHENTICATED');
    expect(await logout(anonymous(services), { refreshToken: next.refreshToken })).toBe(false);
  });

  it('revoking one login leaves the user’s other logins working', async () => {
    const services = memoryServices();
    const alice = await newUser(services, 'alice');
    const other = await login(anonymous(services), { username: 'alice', password: PASSWORD });
    await refresh(anonymous(services), { refreshToken: alice.auth.refreshToken });
    await expectCode(refresh(anonymous(services), { refreshToken: alice.auth.refreshToken }), 'UNAUTHENTICATED');
    await expect(refresh(anonymous(services), { refreshToken: other.refreshToken })).resolves.toMatchObject({ user: { id: alice.id } });
  });

  it.each([
    ['garbage', () => 'garbage'],
    ['empty', () => ''],
    ['an access token', () => 'eyJhbGciOiJIUzI1NiJ9.e30.x'],
    ['an unknown well-formed token', () => `${randomUUID()}.${base64url.encode(new Uint8Array(32))}`],
  ])('%s is UNAUTHENTICATED', async (_what, token) => {
    const services = memoryServices();
    await expectCode(refresh(anonymous(services), { refreshToken: token() }), 'UNAUTHENTICATED');
  });

  it('the right token id with a wrong secret is UNAUTHENTICATED and does not revoke the login', async () => {
    const services = memoryServices();
    const revoked = await revokedLogins(services);
    const alice = await newUser(services, 'alice');
    const [family, id] = alice.auth.refreshToken.split('.');
    const forged = `${family}.${id}.${base64url.encode(new Uint8Array(32).fill(1))}`;
    await expectCode(refresh(anonymous(services), { refreshToken: forged }), 'UNAUTHENTICATED');
    expect(await logout(anonymous(services), { refreshToken: forged })).toBe(false);
    expect(revoked).toEqual([]);
    await expect(refresh(anonymous(services), { refreshToken: alice.auth.refreshToken })).resolves.toBeTruthy();
  });

  it('an expired refresh token is UNAUTHENTICATED', async () => {
    let now = T0;
    const services = memoryServices({ now: () => now, refreshTokenTtl: 60 });
    const alice = await newUser(services, 'alice');
    now += 59_000;
    const next = await refresh(anonymous(services), { refreshToken: alice.auth.refreshToken });
    now += 60_000;
    await expectCode(refresh(anonymous(services), { refreshToken: next.refreshToken }), 'UNAUTHENTICATED');
  });
});

describe('logout', () => {
  it('returns true, then false for the same token; the login’s refresh tokens stop working', async () => {
    const services = memoryServices();
    const revoked = await revokedLogins(services);
    const alice = await newUser(services, 'alice');
    const next = await refresh(anonymous(services), { refreshToken: alice.auth.refreshToken });

    expect(await logout(anonymous(services), { refreshToken: next.refreshToken })).toBe(true);
    expect(revoked).toEqual([decodeJwt(alice.auth.accessToken).fam]);
    expect(await logout(anonymous(services), { refreshToken: next.refreshToken })).toBe(false);
    expect(revoked).toHaveLength(1);
    await expectCode(refresh(anonymous(services), { refreshToken: next.refreshToken }), 'UNAUTHENTICATED');
    await expectCode(refresh(anonymous(services), { refreshToken: alice.auth.refreshToken }), 'UNAUTHENTICATED');
  });

  it('is false for garbage or an unknown token, and needs no access token', async () => {
    const services = memoryServices();
    expect(await logout(anonymous(services), { refreshToken: 'garbage' })).toBe(false);
    expect(await logout(anonymous(services), { refreshToken: `${randomUUID()}.${base64url.encode(new Uint8Array(32))}` })).toBe(false);
  });

  it('revokes only that login', async () => {
    const services = memoryServices();
    const alice = await newUser(services, 'alice');
    const other = await login(anonymous(services), { username: 'alice', password: PASSWORD });
    expect(await logout(anonymous(services), { refreshToken: alice.auth.refreshToken })).toBe(true);
    await expect(refresh(anonymous(services), { refreshToken: other.refreshToken })).resolves.toBeTruthy();
  });
});

describe('access tokens (tokens.verifyAccess)', () => {
  const claims = { name: 'alice', fam: 'family-1' };
  const signed = (secret: Uint8Array, edit: (jwt: SignJWT) => SignJWT = (j) => j, alg = 'HS256') =>
    edit(
      new SignJWT(claims)
        .setProtectedHeader({ alg })
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setSubject('user-1')
        .setIssuedAt()
        .setExpirationTime('5m')
        .setJti(randomUUID()),
    ).sign(secret);

  it('accepts a well-formed token signed with the key (the baseline of the refusals below)', async () => {
    const services = memoryServices();
    expect(await services.tokens.verifyAccess(await signed(TEST_SECRET))).toMatchObject({
      ok: true,
      viewer: { id: 'user-1', username: 'alice', familyId: 'family-1' },
    });
  });

  it.each([
    ['signed with another key', () => signed(new TextEncoder().encode('another-secret-another-secret-another'))],
    ['with alg none', async () => new UnsecuredJWT(claims).setIssuer(TOKEN_ISSUER).setAudience(TOKEN_AUDIENCE).setSubject('user-1').setIssuedAt().setExpirationTime('5m').setJti(randomUUID()).encode()],
    ['with alg HS512 (the algorithm is pinned)', () => signed(new Uint8Array(64).fill(3), undefined, 'HS512')],
    ['with a wrong iss', () => signed(TEST_SECRET, (j) => j.setIssuer('someone-else'))],
    ['with a wrong aud', () => signed(TEST_SECRET, (j) => j.setAudience('someone-else'))],
    ['with a tampered payload', async () => {
      const [h, , s] = (await signed(TEST_SECRET)).split('.');
      const payload = base64url.encode(JSON.stringify({ ...decodeJwt(await signed(TEST_SECRET)), sub: 'user-2' }));
      return `${h}.${payload}.${s}`;
    }],
    ['without jti', async () => {
      const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer(TOKEN_ISSUER).setAudience(TOKEN_AUDIENCE);
      return jwt.setSubject('user-1').setIssuedAt().setExpirationTime('5m').sign(TEST_SECRET);
    }],
    ['garbage', async () => 'not.a.jwt'],
  ])('refuses a token %s', async (_what, make) => {
    const services = memoryServices();
    expect(await services.tokens.verifyAccess(await make())).toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuses an expired token (from its exp on) as expired', async () => {
    let now = T0;
    const services = memoryServices({ now: () => now, accessTokenTtl: 60 });
    const alice = await newUser(services, 'alice');
    const exp = decodeJwt(alice.auth.accessToken).exp!;
    expect(exp * 1000).toBe(T0 + 60_000);
    now = exp * 1000 - 1000;
    expect(await services.tokens.verifyAccess(alice.auth.accessToken)).toMatchObject({ ok: true });
    now = exp * 1000;
    expect(await services.tokens.verifyAccess(alice.auth.accessToken)).toEqual({ ok: false, reason: 'expired' });
    now = exp * 1000 + 3_600_000;
    expect(await services.tokens.verifyAccess(alice.auth.accessToken)).toEqual({ ok: false, reason: 'expired' });
  });
});

describe('requireViewer: every operation but register, login, refresh and logout needs a valid access token', () => {
  let services: Services;
  beforeEach(async () => {
    services = memoryServices();
    const alice = await newUser(services, 'alice');
    await newUser(services, 'bob');
    await createRoom(alice.ctx, { name: 'lounge' });
  });

  const operations: [string, (ctx: ChatContext) => unknown][] = [
    ['me', (ctx) => me(ctx)],
    ['rooms', (ctx) => rooms(ctx)],
    ['recentMessages', (ctx) => recentMessages(ctx, { room: 'lounge' })],
    ['createRoom', (ctx) => createRoom(ctx, { name: 'another' })],
    ['joinRoom', (ctx) => joinRoom(ctx, { name: 'lounge' })],
    ['inviteToRoom', (ctx) => inviteToRoom(ctx, { room: 'lounge', username: 'bob' })],
    ['leaveRoom', (ctx) => leaveRoom(ctx, { name: 'lounge' })],
    ['removeFromRoom', (ctx) => removeFromRoom(ctx, { room: 'lounge', username: 'bob' })],
    ['sendMessage', (ctx) => sendMessage(ctx, { room: 'lounge', text: 'hi' })],
    ['sendDirectMessage', (ctx) => sendDirectMessage(ctx, { to: 'bob', text: 'hi' })],
    ['messageAdded', (ctx) => messageAdded(ctx, { room: 'lounge' })],
    ['directMessageAdded', (ctx) => directMessageAdded(ctx)],
  ];

  it.each(operations)('%s is UNAUTHENTICATED without a viewer', async (_name, run) => {
    await expectCode(() => run(anonymous(services)), 'UNAUTHENTICATED');
  });

  it.each(operations)('%s says so when the presented token expired', async (_name, run) => {
    const err = await expectCode(() => run({ services, viewer: null, tokenProblem: 'expired' }), 'UNAUTHENTICATED');
    expect(err.message).toMatch(/expired/);
  });

  it('nothing is written for an anonymous caller', async () => {
    await failure(() => sendMessage(anonymous(services), { room: 'lounge', text: 'hi' }));
    await failure(() => createRoom(anonymous(services), { name: 'another' }));
    const alice = await signedIn(services, (await login(anonymous(services), { username: 'alice', password: PASSWORD })).accessToken);
    await expect(recentMessages(alice, { room: 'lounge' })).resolves.toEqual([]);
    expect(await services.store.findRoom('another')).toBeNull();
  });
});

describe('password hashes', () => {
  it('are scrypt$32768$8$3$… with the default (OWASP) parameters, and verify', async () => {
    const hasher = createPasswordHasher(1, DEFAULT_SCRYPT);
    const stored = await hasher.hash(PASSWORD);
    expect(stored.startsWith('scrypt$32768$8$3$')).toBe(true);
    expect(stored.split('$')).toHaveLength(6);
    expect(await hasher.verify(PASSWORD, stored)).toBe(true);
    expect(await hasher.verify('wrong password', stored)).toBe(false);
  });

  it('carry their parameters: a hash made with other parameters still verifies', async () => {
    const old = createPasswordHasher(1, TEST_SCRYPT);
    const stored = await old.hash(PASSWORD);
    expect(stored.startsWith(`scrypt$${TEST_SCRYPT.N}$${TEST_SCRYPT.r}$${TEST_SCRYPT.p}$`)).toBe(true);
    const current = createPasswordHasher(1, { N: 2 ** 11, r: 8, p: 2 });
    expect(await current.verify(PASSWORD, stored)).toBe(true);
    expect(await current.verify('wrong password', stored)).toBe(false);
  });

  it('salt every hash: the same password hashes differently twice', async () => {
    const hasher = createPasswordHasher(2, TEST_SCRYPT);
    expect(await hasher.hash(PASSWORD)).not.toBe(await hasher.hash(PASSWORD));
  });

  it('verify is false for an unknown user (null) and for a malformed stored hash', async () => {
    const hasher = createPasswordHasher(1, TEST_SCRYPT);
    expect(await hasher.verify(PASSWORD, null)).toBe(false);
    expect(await hasher.verify(PASSWORD, 'bcrypt$whatever')).toBe(false);
  });

  it('register stores only the hash, never the password', async () => {
    const services = memoryServices();
    await newUser(services, 'alice');
    const user = await services.store.findUser('alice');
    expect(user?.passwordHash.startsWith('scrypt$')).toBe(true);
    expect(user?.passwordHash).not.toContain(PASSWORD);
  });
});
