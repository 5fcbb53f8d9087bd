import type { Viewer, TokenService } from '../auth/tokens.js';
import type { PasswordHasher } from '../auth/passwords.js';
import type { RateLimits } from '../limits/index.js';
import type { Engine } from '../pubsub/types.js';
import type { Store } from '../store/types.js';
import type { Revocations } from './revocations.js';

/** What the rules need of the configuration. */
export interface RuleSettings {
  readonly refreshTokenTtl: number;
  readonly defaultRooms: readonly string[];
  /** Events a subscriber may fall behind by before its subscription fails. @default 1000 */
  readonly subscriberQueueLimit: number;
  /** Usernames that moderate the default rooms (ROOM_ADMINS). @default [] */
  readonly roomAdmins?: readonly string[];
  /** Different emoji one message can carry. @default 20 */
  readonly reactionsPerMessage?: number;
  /** Different users one message can mention. @default 20 */
  readonly mentionsPerMessage?: number;
}

/** Observers of what the rules do (metrics); no-ops in tests. */
export interface ChatHooks {
  messageSent(room: string): void;
  subscriptionOpened(): void;
  subscriptionClosed(): void;
}

export interface Services {
  readonly settings: RuleSettings;
  readonly store: Store;
  readonly engine: Engine;
  readonly tokens: TokenService;
  readonly passwords: PasswordHasher;
  readonly limits: RateLimits;
  readonly hooks: ChatHooks;
  readonly revocations: Revocations;
  readonly now: () => number;
}

/** The GraphQL context of every operation, over every transport. */
export interface ChatContext {
  readonly services: Services;
  /** Null when the request carried no valid access token. */
  readonly viewer: Viewer | null;
  /** Names this request (or socket operation) in logs. */
  readonly requestId?: string;
  /** The client's address (behind a trusted proxy, the forwarded one); null when unknown. */
  readonly clientAddress?: string | null;
  /** Why a presented access token was refused, for a clearer UNAUTHENTICATED message. */
  readonly tokenProblem?: 'expired' | 'invalid' | 'revoked' | undefined;
}

export const noHooks: ChatHooks = {
  messageSent() {},
  subscriptionOpened() {},
  subscriptionClosed() {},
};
