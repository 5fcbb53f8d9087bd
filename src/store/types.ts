import type { RoomRoster, UserBlocks } from './people.js';

/** Persistence of users, rooms and logins (and rosters and blocks, people.ts). Two implementations: memory and Redis. */

export interface UserRecord {
  readonly id: string;
  /** Lower-case, validated. */
  readonly username: string;
  /** Self-describing scrypt hash (see src/auth/passwords.ts). */
  readonly passwordHash: string;
  readonly createdAt: string;
}

export interface RoomRecord {
  readonly name: string;
  readonly private: boolean;
  /** User id of the creator, or '' for rooms the server made (default rooms). */
  readonly createdBy: string;
  readonly createdAt: string;
}

/** One refresh token of a login (family). Only a hash of its secret is kept. */
export interface RefreshTokenRecord {
  readonly id: string;
  readonly familyId: string;
  readonly userId: string;
  readonly username: string;
  readonly secretHash: string;
  /** Unix milliseconds. */
  readonly expiresAt: number;
}

export type RotateResult =
  /** The presented token was live: it is now used, and `next` is stored in its family. */
  | { readonly status: 'rotated'; readonly userId: string; readonly username: string; readonly familyId: string }
  /** The presented token had been used before: its whole family is deleted. */
  | { readonly status: 'reused'; readonly familyId: string }
  /** Unknown id, wrong secret, expired token or revoked family. */
  | { readonly status: 'invalid' };

export interface UserStore {
  /** False when the username is taken. */
  createUser(user: UserRecord): Promise<boolean>;
  findUser(username: string): Promise<UserRecord | null>;
}

export interface RoomStore {
  /** Creates the room with `memberIds` as its members; false when the name is taken. */
  createRoom(room: RoomRecord, memberIds: readonly string[]): Promise<boolean>;
  /** Creates the room unless it exists; returns the stored one either way. */
  ensureRoom(room: RoomRecord, memberIds: readonly string[]): Promise<RoomRecord>;
  findRoom(name: string): Promise<RoomRecord | null>;
  /** Idempotent. Also lists the room among the user's rooms. */
  addMember(room: string, userId: string): Promise<void>;
  /** Idempotent: removes the membership and the room from the user's rooms. */
  removeMember(room: string, userId: string): Promise<void>;
  isMember(room: string, userId: string): Promise<boolean>;
  /** Public rooms, one page in name order (byte order: what Redis's lexicographic ranges use). */
  publicRooms(page: RoomPage): Promise<RoomRecord[]>;
  /** Rooms the user created, joined or was invited to, one page in name order. */
  roomsOf(userId: string, page: RoomPage): Promise<RoomRecord[]>;
}

/** A page of a room list: the first `limit` names after `after` (none: from the start). */
export interface RoomPage {
  readonly after?: string | undefined;
  readonly limit: number;
}

/** Byte order of room names (all ASCII): the order of every room list. */
export const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * How a presented refresh token names its record: its id and the login it says it belongs to
 * (tokens carry their family, so that the Redis store finds the token in the family's slot);
 * familyId is null for a token issued before tokens carried it (looked up by id alone).
 */
export interface RefreshTokenRef {
  readonly id: string;
  readonly familyId: string | null;
}

export interface RefreshTokenStore {
  /** Stores the first token of a new family (a new login). */
  createFamily(token: RefreshTokenRecord, ttlSeconds: number): Promise<void>;
  /**
   * Atomically: when the token is live with `secretHash` and unused, marks it used and stores `next`
   * in the same family; when it was used already, deletes the family (reuse detection). A token
   * that names another family than its own is invalid.
   */
  rotate(token: RefreshTokenRef, secretHash: string, next: Omit<RefreshTokenRecord, 'familyId' | 'userId' | 'username'>, ttlSeconds: number): Promise<RotateResult>;
  /** Deletes the token's family when `secretHash` matches; null when nothing was revoked. */
  revokeFamilyOf(token: RefreshTokenRef, secretHash: string): Promise<{ familyId: string; userId: string } | null>;
  /** True while the login exists: not logged out, not revoked by reuse, not expired. */
  isLoginLive(familyId: string): Promise<boolean>;
}

export interface Store extends UserStore, RoomStore, RefreshTokenStore, RoomRoster, UserBlocks {
  /** True while the backend answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
