import { createPasswordHasher } from '../../src/auth/passwords.js';
import { createTokenService, type Viewer } from '../../src/auth/tokens.js';
import type { RateLimit } from '../../src/config/index.js';
import { createRateLimits } from '../../src/limits/index.js';
import { createMemoryEngine } from '../../src/pubsub/memory/index.js';
import { noHooks, type ChatContext, type ChatHooks, type Services } from '../../src/resolvers/context.js';
import { createRevocations } from '../../src/resolvers/revocations.js';
import { createMemoryStore } from '../../src/store/memory.js';

/** scrypt settings cheap enough for tests; the format and code path are the production ones. */
export const TEST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 } as const;
export const TEST_SECRET = new TextEncoder().encode('test-secret-test-secret-test-secret!');

export interface TestServicesOptions {
  readonly messageRateLimit?: RateLimit | null;
  readonly loginRateLimit?: RateLimit | null;
  readonly accessTokenTtl?: number;
  readonly refreshTokenTtl?: number;
  readonly historyLimit?: number;
  readonly hooks?: Partial<ChatHooks>;
  readonly now?: () => number;
  /** scrypt computations at once. @default 4 */
  readonly hashConcurrency?: number;
  /** Hashes that may wait for a slot before login/register fail fast. @default DEFAULT_MAX_QUEUED_HASHES */
  readonly maxQueuedHashes?: number;
  /** ROOM_ADMINS. @default [] */
  readonly roomAdmins?: readonly string[];
  readonly reactionsPerMessage?: number;
  readonly mentionsPerMessage?: number;
  readonly reactionRateLimit?: RateLimit | null;
  readonly moderationRateLimit?: RateLimit | null;
  readonly blockRateLimit?: RateLimit | null;
}

/** The resolvers' services on the memory store and engine, for tests without HTTP. */
export function memoryServices(options: TestServicesOptions = {}): Services {
  const now = options.now ?? Date.now;
  const services: Services = {
    settings: {
      refreshTokenTtl: options.refreshTokenTtl ?? 3600,
      defaultRooms: ['general'],
      subscriberQueueLimit: 1000,
      roomAdmins: options.roomAdmins ?? [],
      reactionsPerMessage: options.reactionsPerMessage ?? 20,
      mentionsPerMessage: options.mentionsPerMessage ?? 20,
    },
    store: createMemoryStore(now),
    engine: createMemoryEngine({ historyLimit: options.historyLimit ?? 1000, historyTtl: 3600, now }),
    tokens: createTokenService({ secret: TEST_SECRET, accessTokenTtl: options.accessTokenTtl ?? 900, now }),
    passwords: createPasswordHasher(options.hashConcurrency ?? 4, TEST_SCRYPT, options.maxQueuedHashes),
    limits: createRateLimits({
      message: options.messageRateLimit ?? null,
      login: options.loginRateLimit ?? null,
      reaction: options.reactionRateLimit ?? null,
      moderation: options.moderationRateLimit ?? null,
      block: options.blockRateLimit ?? null,
    }),
    hooks: { ...noHooks, ...options.hooks },
    revocations: createRevocations(),
    now,
  };
  // as the composition root does: control events reach the revocations registry
  void services.engine.control.subscribe((e) => {
    if (e.type === 'member-removed') services.revocations.memberRemoved(e.room, e.userId);
    else services.revocations.loginRevoked(e.familyId);
  });
  return services;
}

export const anonymous = (services: Services): ChatContext => ({ services, viewer: null });

export async function signedIn(services: Services, token: string): Promise<ChatContext> {
  const verified = await services.tokens.verifyAccess(token);
  if (!verified.ok) throw new Error(`token refused: ${verified.reason}`);
  return { services, viewer: verified.viewer };
}

export type { Viewer };
