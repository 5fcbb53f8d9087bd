import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimit } from '../config/index.js';
import { BackendUnavailableError } from '../errors.js';
import type { RedisClient } from '../store/redis-client.js';

/** The throttles of the contract. Each answer is 0 (go ahead) or the seconds to wait. */
export interface RateLimits {
  /** Counts one send (or edit, or deletion) of `userId`. */
  consumeMessage(userId: string): Promise<number>;
  /** Counts one typing signal of `userId`. */
  consumeTyping(userId: string): Promise<number>;
  /** Counts one room created by `userId`. */
  consumeRoomCreation(userId: string): Promise<number>;
  /** Counts one reaction added or removed by `userId`. */
  consumeReaction(userId: string): Promise<number>;
  /** Counts one moderator's action of `userId` (mute, ban, their lifts, a role, a deletion of someone else's message). */
  consumeModeration(userId: string): Promise<number>;
  /** Counts one block or unblock of `userId`. */
  consumeBlock(userId: string): Promise<number>;
  /** Counts one registration attempt from a client address (null: unknown, not counted). */
  consumeRegistration(clientAddress: string | null): Promise<number>;
  /**
   * Counts a login attempt for `username` before the password is checked, so parallel attempts
   * (aliases in one document) cannot slip past the limit; refused once failures reached it.
   */
  beginLogin(username: string, clientAddress: string | null): Promise<number>;
  /** The attempt did not fail (it succeeded, or was refused before the password was checked): it does not count. */
  forgiveLogin(username: string, clientAddress: string | null): Promise<void>;
}

export interface RateLimitOptions {
  readonly message: RateLimit | null;
  readonly login: RateLimit | null;
  /** Typing signals per user. */
  readonly typing?: RateLimit | null;
  /** Failed logins per client address (behind a trusted proxy, the forwarded one). */
  readonly loginIp?: RateLimit | null;
  /** Registration attempts per client address. */
  readonly register?: RateLimit | null;
  /** Rooms created per user. */
  readonly createRoom?: RateLimit | null;
  /** Reactions added or removed per user. */
  readonly reaction?: RateLimit | null;
  /** Moderators' actions per user. */
  readonly moderation?: RateLimit | null;
  /** Blocks and unblocks per user. */
  readonly block?: RateLimit | null;
  /** Shared counters across instances when given; else per process. */
  readonly redis?: { readonly client: RedisClient; readonly keyPrefix: string };
}

/** rate-limiter-flexible, on Redis (shared by every instance) or in memory. */
export function createRateLimits(options: RateLimitOptions): RateLimits {
  const make = (limit: RateLimit | null, name: string): RateLimiterAbstract | null => {
    if (!limit) return null;
    const base = { points: limit.count, duration: limit.seconds, keyPrefix: `rl:${name}` };
    return options.redis
      ? new RateLimiterRedis({
          ...base,
          storeClient: options.redis.client,
          keyPrefix: `${options.redis.keyPrefix}rl:${name}`,
          rejectIfRedisNotReady: true,
        })
      : new RateLimiterMemory(base);
  };
  const message = make(options.message, 'msg');
  const login = make(options.login, 'login');
  const loginIp = make(options.loginIp ?? null, 'login-ip');
  const typing = make(options.typing ?? null, 'typing');
  const registration = make(options.register ?? null, 'register');
  const roomCreation = make(options.createRoom ?? null, 'room');
  const reaction = make(options.reaction ?? null, 'reaction');
  const moderation = make(options.moderation ?? null, 'moderation');
  const blocking = make(options.block ?? null, 'block');
  const consume = async (limiter: RateLimiterAbstract | null, key: string | null) => {
    if (!limiter || key === null) return 0;
    try {
      await limiter.consume(key);
      return 0;
    } catch (res) {
      return retryAfter(res);
    }
  };

  return {
    consumeMessage: (userId) => consume(message, userId),
    consumeTyping: (userId) => consume(typing, userId),
    consumeRoomCreation: (userId) => consume(roomCreation, userId),
    consumeReaction: (userId) => consume(reaction, userId),
    consumeModeration: (userId) => consume(moderation, userId),
    consumeBlock: (userId) => consume(blocking, userId),
    consumeRegistration: (clientAddress) => consume(registration, clientAddress),
    async beginLogin(username, clientAddress) {
      const [byName, byAddress] = await Promise.all([consume(login, username), consume(loginIp, clientAddress)]);
      return Math.max(byName, byAddress);
    },
    async forgiveLogin(username, clientAddress) {
      if (login) await guard(() => login.reward(username, 1));
      if (loginIp && clientAddress !== null) await guard(() => loginIp.reward(clientAddress, 1));
    },
  };
}

function retryAfter(res: unknown): number {
  if (res instanceof RateLimiterRes) return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  throw new BackendUnavailableError(`rate limiter: ${res instanceof Error ? res.message : String(res)}`);
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new BackendUnavailableError(`rate limiter: ${err instanceof Error ? err.message : String(err)}`);
  }
}
