import { createHash, randomBytes, randomUUID, webcrypto } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';

export const TOKEN_ISSUER = 'graphql-chat';
export const TOKEN_AUDIENCE = 'graphql-chat-clients';
const ALGORITHM = 'HS256';

/** Who is making a request, as proven by a valid access token. */
export interface Viewer {
  readonly id: string;
  readonly username: string;
  /** The login (refresh-token family) that issued the token. */
  readonly familyId: string;
  /** Unix seconds at which the access token stops being accepted. */
  readonly expiresAt: number;
}

export interface IssuedAccessToken {
  readonly token: string;
  readonly expiresAt: Date;
}

/** `revoked`: a valid token of a login that was revoked since (see live-logins.ts). */
export type VerifyResult = { readonly ok: true; readonly viewer: Viewer } | { readonly ok: false; readonly reason: 'expired' | 'invalid' | 'revoked' };

export interface TokenService {
  issueAccess(user: { id: string; username: string }, familyId: string): Promise<IssuedAccessToken>;
  verifyAccess(token: string): Promise<VerifyResult>;
}

export interface TokenServiceOptions {
  readonly secret: Uint8Array;
  /** Seconds. */
  readonly accessTokenTtl: number;
  readonly now?: () => number;
  /** Verified access tokens remembered (least recently used go first), so a client's next request skips the signature check. @default 10000 */
  readonly verifiedCacheSize?: number;
}

/** Access tokens: HS256 JWTs with iss, aud, sub, exp, iat, jti; the algorithm is pinned on verification. */
export function createTokenService({ secret: secretBytes, accessTokenTtl, now = Date.now, verifiedCacheSize = 10_000 }: TokenServiceOptions): TokenService {
  // a CryptoKey imported once: from raw bytes or a KeyObject, jose imports it into WebCrypto again
  // on every call, which costs more than the HMAC itself
  const secret = webcrypto.subtle.importKey('raw', secretBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  /**
   * Tokens that passed verification, by their exact text: verifying costs tens of µs (WebCrypto),
   * more than the rest of a small request's auth, and clients send the same token until it
   * expires. Only successes are kept (a flood of bad tokens costs no memory), bounded in number;
   * expiry is checked again on every use, exactly as jose checks it (exp > now, no tolerance).
   */
  const verified = new Map<string, Viewer>();
  return {
    async issueAccess(user, familyId) {
      const iat = Math.floor(now() / 1000);
      const exp = iat + accessTokenTtl;
      const token = await new SignJWT({ name: user.username, fam: familyId })
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setSubject(user.id)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .setJti(randomUUID())
        .sign(await secret);
      return { token, expiresAt: new Date(exp * 1000) };
    },
    async verifyAccess(token) {
      // the same token string verified before: its signature and claims have not changed, only time passed
      const known = verified.get(token);
      if (known && known.expiresAt > Math.floor(now() / 1000)) {
        verified.delete(token);
        verified.set(token, known);
        return { ok: true, viewer: known };
      }
      verified.delete(token);
      try {
        const { payload } = await jwtVerify(token, await secret, {
          algorithms: [ALGORITHM],
          issuer: TOKEN_ISSUER,
          audience: TOKEN_AUDIENCE,
          requiredClaims: ['sub', 'exp', 'iat', 'jti'],
          currentDate: new Date(now()),
          clockTolerance: 0,
        });
        const { sub, exp, name, fam } = payload;
        if (typeof sub !== 'string' || typeof exp !== 'number' || typeof name !== 'string' || typeof fam !== 'string') {
          return { ok: false, reason: 'invalid' };
        }
        const viewer: Viewer = { id: sub, username: name, familyId: fam, expiresAt: exp };
        verified.set(token, viewer);
        if (verified.size > verifiedCacheSize) verified.delete(verified.keys().next().value!);
        return { ok: true, viewer };
      } catch (err) {
        return { ok: false, reason: err instanceof errors.JWTExpired ? 'expired' : 'invalid' };
      }
    },
  };
}

/** `Bearer <token>` -> token; null when the header is missing or not of that form. */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

/**
 * A refresh token is opaque to clients: `<family id>.<token id>.<secret>`. The family id lets the
 * Redis store find the token in its login's slot; the store keeps only sha256(secret). Tokens issued
 * before they carried their family, `<token id>.<secret>`, are still accepted until they expire.
 */
export function newRefreshToken(): { id: string; secret: string; secretHash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { id: randomUUID(), secret, secretHash: hashSecret(secret) };
}

/** The string handed to the client for token `id` of login `familyId`. */
export const formatRefreshToken = (familyId: string, token: { readonly id: string; readonly secret: string }) => `${familyId}.${token.id}.${token.secret}`;

export function parseRefreshToken(token: string): { id: string; familyId: string | null; secretHash: string } | null {
  const m = /^(?:([0-9a-f-]{36})\.)?([0-9a-f-]{36})\.([A-Za-z0-9_-]{20,100})$/.exec(token);
  return m ? { id: m[2]!, familyId: m[1] ?? null, secretHash: hashSecret(m[3]!) } : null;
}

const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('base64url');
