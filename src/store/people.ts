/**
 * Who is in a room, by name, and whom each user blocked: two small concerns of the store beside
 * users, rooms and logins (types.ts), each with a memory and a Redis implementation
 * (people-memory.ts, people-redis.ts) that pass one contract suite (test/store.people.contract.test.ts).
 */

export interface Person {
  readonly id: string;
  readonly username: string;
}

/** A page of people in username order: the first `limit` after the username `after`. */
export interface PeoplePage {
  readonly after?: string | undefined;
  readonly limit: number;
}

/**
 * The members of each room by name, for listing them (the membership itself, which access
 * rules read, is RoomStore's). Written beside every change of membership; idempotent.
 */
export interface RoomRoster {
  addToRoster(room: string, user: Person): Promise<void>;
  removeFromRoster(room: string, user: Person): Promise<void>;
  roster(room: string, page: PeoplePage): Promise<Person[]>;
}

/** Blocks kept per user at most; one more is refused. */
export const MAX_BLOCKS = 1000;

/** Users a user blocked: a blocked user cannot start or continue a direct conversation with them. */
export interface UserBlocks {
  /** Idempotent; false when the blocker's list is full (MAX_BLOCKS). */
  block(blockerId: string, blocked: Person): Promise<boolean>;
  /** True when there was a block to lift. */
  unblock(blockerId: string, blockedId: string): Promise<boolean>;
  /** Of `userIds`, those who blocked `blockedId` (one round trip per user's slot at most). */
  blockedBy(blockedId: string, userIds: readonly string[]): Promise<Set<string>>;
  /** Everyone the user blocked, in username order. */
  blocked(blockerId: string): Promise<Person[]>;
}

export const byUsername = (a: Person, b: Person): number => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0);
