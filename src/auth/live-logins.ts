import type { TokenService } from './tokens.js';

/**
 * Whether the login (refresh-token family) behind an access token still stands: a token of a
 * revoked login (logout, refresh-token reuse) is refused everywhere, not only until it expires.
 * Answers come from a cache so that the hot path (a send over HTTP) costs no round trip when
 * warm: a live answer is kept `ttlMs`, a revoked one for as long as any token of it can be valid.
 * A revocation announced by any instance (control event `login-revoked`) clears the entry at once.
 */
export interface LiveLogins {
  isLive(familyId: string): Promise<boolean>;
  /** The login was revoked: refuse its tokens from now on, without asking the store. */
  revoked(familyId: string): void;
}

export interface LiveLoginsOptions {
  /** Asks the store (Redis: EXISTS of the family key). */
  readonly isLoginLive: (familyId: string) => Promise<boolean>;
  /** Milliseconds a live answer is believed without asking again: how late a missed revocation takes effect. @default 5000 */
  readonly ttlMs?: number;
  /** Milliseconds a revoked answer is kept: the access-token lifetime (older tokens are refused anyway). */
  readonly revokedTtlMs: number;
  /** Entries kept before expired ones are swept (and, past twice that, all dropped). @default 100000 */
  readonly maxEntries?: number;
  /**
   * Called when the store cannot answer. The token is then let through (not remembered): every
   * operation but sign-in needs the store anyway and fails with SERVICE_UNAVAILABLE, while a
   * WebSocket client refused here would take the refusal for good. @default nothing
   */
  readonly onStoreError?: (err: unknown) => void;
  readonly now?: () => number;
}

export const LIVE_LOGIN_CACHE_MS = 5000;

export function createLiveLogins(options: LiveLoginsOptions): LiveLogins {
  const { isLoginLive, revokedTtlMs } = options;
  const ttlMs = options.ttlMs ?? LIVE_LOGIN_CACHE_MS;
  const maxEntries = options.maxEntries ?? 100_000;
  const now = options.now ?? Date.now;
  const known = new Map<string, { live: boolean; until: number }>();
  /** Revocations seen while a store answer was on its way: that answer is stale. */
  let epoch = 0;

  const remember = (familyId: string, live: boolean) => {
    if (known.size >= maxEntries) {
      const t = now();
      for (const [id, entry] of known) if (entry.until <= t) known.delete(id);
      if (known.size >= maxEntries * 2) known.clear();
    }
    known.set(familyId, { live, until: now() + (live ? ttlMs : revokedTtlMs) });
  };

  return {
    async isLive(familyId) {
      const entry = known.get(familyId);
      if (entry && entry.until > now()) return entry.live;
      const asked = epoch;
      let live: boolean;
      try {
        live = await isLoginLive(familyId);
      } catch (err) {
        options.onStoreError?.(err);
        return true;
      }
      // a revocation that arrived meanwhile wins over the older answer
      const current = known.get(familyId);
      if (asked !== epoch && current && !current.live) return false;
      remember(familyId, live);
      return live;
    },
    revoked(familyId) {
      epoch++;
      remember(familyId, false);
    },
  };
}

/** The token service with the live-login check added to verifyAccess (issueAccess unchanged). */
export function withLiveLogins(tokens: TokenService, logins: LiveLogins): TokenService {
  return {
    issueAccess: (user, familyId) => tokens.issueAccess(user, familyId),
    async verifyAccess(token) {
      const verified = await tokens.verifyAccess(token);
      if (!verified.ok || (await logins.isLive(verified.viewer.familyId))) return verified;
      return { ok: false, reason: 'revoked' };
    },
  };
}
