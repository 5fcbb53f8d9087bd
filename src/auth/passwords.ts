import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { rateLimited } from '../errors.js';
import { createFairLine } from './fair-line.js';

/** OWASP's scrypt setting N=2^15, r=8, p=3 (about 32 MiB and tens of ms a hash). */
export const DEFAULT_SCRYPT = { N: 2 ** 15, r: 8, p: 3 } as const;
/** Hashes that may wait in line for a free slot; past that, login and register fail fast. */
export const DEFAULT_MAX_QUEUED_HASHES = 256;
/** Hashes one client address may have running or waiting. */
export const DEFAULT_MAX_HASHES_PER_ADDRESS = 8;
const KEY_LENGTH = 32;

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export interface PasswordHasher {
  /**
   * `scrypt$N$r$p$salt$key` (base64url): parameters travel with the hash so they can be raised later.
   * `clientAddress` is whose turn it takes in the line (null: one shared turn for unknown addresses).
   */
  hash(password: string, clientAddress?: string | null): Promise<string>;
  /** Constant-time compare. With `null` (unknown user) it hashes a dummy so timing matches a wrong password. */
  verify(password: string, stored: string | null, clientAddress?: string | null): Promise<boolean>;
  /** Hashes running or waiting. */
  readonly pending: number;
}

function scrypt(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // 128 * N * r bytes of working memory, with head-room over Node's 32 MiB default
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/**
 * Hashes with at most `concurrency` scrypt computations at once; at most `maxQueued` more wait
 * in line, so a login flood costs bounded queue slots, not 32 MiB each, and at most
 * `maxPerAddress` per client address run or wait, served round-robin between addresses (see
 * fair-line.ts): one address cannot fill the line, nor push another user's login far back.
 * With the line (or the address's share of it) full, hash and verify fail at once with
 * RATE_LIMITED (retryAfter 1) instead of queueing without bound.
 */
export function createPasswordHasher(
  concurrency: number,
  params: ScryptParams = DEFAULT_SCRYPT,
  maxQueued: number = DEFAULT_MAX_QUEUED_HASHES,
  maxPerAddress: number = DEFAULT_MAX_HASHES_PER_ADDRESS,
): PasswordHasher {
  const line = createFairLine({ concurrency, maxQueued, maxPerKey: maxPerAddress, refused: () => rateLimited(1) });
  const limit = <T>(clientAddress: string | null | undefined, work: () => Promise<T>): Promise<T> => line.run(clientAddress ?? '', work);
  const dummySalt = randomBytes(16);

  const hash = (password: string, clientAddress?: string | null) =>
    limit(clientAddress, async () => {
      const salt = randomBytes(16);
      const key = await scrypt(password, salt, params);
      return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
    });

  const verify = (password: string, stored: string | null, clientAddress?: string | null) =>
    limit(clientAddress, async () => {
      const parsed = stored ? parseHash(stored) : null;
      if (!parsed) {
        await scrypt(password, dummySalt, params);
        return false;
      }
      const key = await scrypt(password, parsed.salt, parsed.params);
      return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
    });

  return {
    hash,
    verify,
    get pending() {
      return line.active + line.queued;
    },
  };
}

function parseHash(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | null {
  const [kind, N, r, p, salt, key] = stored.split('$');
  if (kind !== 'scrypt' || !N || !r || !p || !salt || !key) return null;
  return { params: { N: Number(N), r: Number(r), p: Number(p) }, salt: Buffer.from(salt, 'base64url'), key: Buffer.from(key, 'base64url') };
}
