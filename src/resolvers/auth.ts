import { randomUUID } from 'node:crypto';
import { formatRefreshToken, newRefreshToken, parseRefreshToken, type Viewer } from '../auth/tokens.js';
import { conflict, rateLimited, unauthenticated } from '../errors.js';
import type { ChatContext } from './context.js';
import * as input from './validation.js';

export interface AuthResult {
  readonly accessToken: string;
  readonly accessTokenExpiresAt: Date;
  readonly refreshToken: string;
  readonly user: { readonly id: string; readonly username: string };
}

const BAD_LOGIN = 'Invalid username or password.';
const BAD_REFRESH = 'This refresh token is not valid: sign in again.';
/** For an access token whose login was revoked (logout, refresh-token reuse), on every transport. */
export const REVOKED_LOGIN = 'The login of this access token was revoked (logout or refresh-token reuse): sign in again.';

export function requireViewer(ctx: ChatContext): Viewer {
  if (ctx.viewer) return ctx.viewer;
  if (ctx.tokenProblem === 'expired') throw unauthenticated('The access token has expired: refresh it.');
  if (ctx.tokenProblem === 'invalid') throw unauthenticated('The access token is not valid.');
  if (ctx.tokenProblem === 'revoked') throw unauthenticated(REVOKED_LOGIN);
  throw unauthenticated();
}

export function me(ctx: ChatContext) {
  const { id, username } = requireViewer(ctx);
  return { id, username };
}

/**
 * Throttled per client address, every attempt counted (a taken name too): that bounds both mass
 * sign-ups and probing which usernames exist through CONFLICT.
 */
export async function register(ctx: ChatContext, args: { username: string; password: string }): Promise<AuthResult> {
  const { store, passwords, limits, now } = ctx.services;
  const username = input.username(args.username);
  const password = input.password(args.password);
  const address = ctx.clientAddress ?? null;
  const wait = await limits.consumeRegistration(address);
  if (wait > 0) throw rateLimited(wait);
  if (await store.findUser(username)) throw conflict(`The username "${username}" is taken.`);
  const user = { id: randomUUID(), username, passwordHash: await passwords.hash(password, address), createdAt: new Date(now()).toISOString() };
  if (!(await store.createUser(user))) throw conflict(`The username "${username}" is taken.`);
  return startLogin(ctx, user);
}

/** Throttled per username; the same answer for an unknown user and a wrong password. */
export async function login(ctx: ChatContext, args: { username: string; password: string }): Promise<AuthResult> {
  const { store, passwords, limits } = ctx.services;
  const username = input.username(args.username);
  const password = input.password(args.password);
  const address = ctx.clientAddress ?? null;
  const wait = await limits.beginLogin(username, address);
  if (wait > 0) throw rateLimited(wait);
  const user = await store.findUser(username);
  let ok: boolean;
  try {
    ok = await passwords.verify(password, user?.passwordHash ?? null, address);
  } catch (err) {
    // refused before the password was checked (the hash line is full): not a failed login
    await limits.forgiveLogin(username, address);
    throw err;
  }
  if (!ok || !user) throw unauthenticated(BAD_LOGIN);
  await limits.forgiveLogin(username, address);
  return startLogin(ctx, user);
}

/** Rotates: the presented token is spent; presenting it again revokes the whole login. */
export async function refresh(ctx: ChatContext, args: { refreshToken: string }): Promise<AuthResult> {
  const { store, settings, now } = ctx.services;
  const presented = parseRefreshToken(args.refreshToken);
  if (!presented) throw unauthenticated(BAD_REFRESH);
  const next = newRefreshToken();
  const result = await store.rotate(
    presented,
    presented.secretHash,
    { id: next.id, secretHash: next.secretHash, expiresAt: now() + settings.refreshTokenTtl * 1000 },
    settings.refreshTokenTtl,
  );
  if (result.status === 'reused') {
    await announceRevoked(ctx, result.familyId);
    throw unauthenticated('This refresh token was already used: the login is revoked, sign in again.');
  }
  if (result.status === 'invalid') throw unauthenticated(BAD_REFRESH);
  const user = { id: result.userId, username: result.username };
  const access = await ctx.services.tokens.issueAccess(user, result.familyId);
  return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken: formatRefreshToken(result.familyId, next), user };
}

export async function logout(ctx: ChatContext, args: { refreshToken: string }): Promise<boolean> {
  const presented = parseRefreshToken(args.refreshToken);
  if (!presented) return false;
  const revoked = await ctx.services.store.revokeFamilyOf(presented, presented.secretHash);
  if (revoked) await announceRevoked(ctx, revoked.familyId);
  return revoked !== null;
}

/**
 * Every instance closes the login's sockets (4403). Best effort: the login is revoked already, and
 * a socket that misses the event still closes when its short-lived access token expires.
 */
async function announceRevoked(ctx: ChatContext, familyId: string): Promise<void> {
  await ctx.services.engine.control.publish({ type: 'login-revoked', familyId }).catch(() => {});
}

async function startLogin(ctx: ChatContext, user: { id: string; username: string }): Promise<AuthResult> {
  const { store, tokens, settings, now } = ctx.services;
  const familyId = randomUUID();
  const first = newRefreshToken();
  await store.createFamily(
    {
      id: first.id,
      familyId,
      userId: user.id,
      username: user.username,
      secretHash: first.secretHash,
      expiresAt: now() + settings.refreshTokenTtl * 1000,
    },
    settings.refreshTokenTtl,
  );
  const access = await tokens.issueAccess(user, familyId);
  return {
    accessToken: access.token,
    accessTokenExpiresAt: access.expiresAt,
    refreshToken: formatRefreshToken(familyId, first),
    user: { id: user.id, username: user.username },
  };
}
