import type { Viewer } from '../auth/tokens.js';
import { badInput, forbidden } from '../errors.js';
import type { ModerationState, Standing, UserRef } from '../pubsub/types.js';
import type { RoomRecord } from '../store/types.js';
import type { ChatContext } from './context.js';
import * as input from './validation.js';

/**
 * Roles in a room, the one place that decides them:
 * - OWNER: the room's creator, until they hand ownership over (then whom they handed it to);
 * - ADMIN: in a default room (which has no creator), the users named in ROOM_ADMINS;
 * - MODERATOR: named by the owner (or an admin);
 * - MEMBER: a member of a private room, or a user who joined a public one.
 * Owners and admins do what moderators do, and name or dismiss moderators; a user acts only on
 * users of a lower role. Direct conversations have no roles above MEMBER.
 */
export type RoomRole = 'OWNER' | 'ADMIN' | 'MODERATOR' | 'MEMBER';

const RANK: Record<RoomRole, number> = { OWNER: 3, ADMIN: 3, MODERATOR: 2, MEMBER: 1 };

/** How a role ranks; none (a public room's passer-by) ranks 0. */
export const rank = (role: RoomRole | null): number => (role ? RANK[role] : 0);

export const isAdmin = (ctx: ChatContext, room: RoomRecord, username: string) =>
  ctx.services.settings.defaultRooms.includes(room.name) && (ctx.services.settings.roomAdmins ?? []).includes(username);

/** The owner as moderation state and the room record say: the handed-over owner, else the creator. */
const ownerOf = (room: RoomRecord, ownerId: string | null) => ownerId ?? room.createdBy;

/**
 * `user`'s role in `room` (null: none, e.g. a public room they did not join, or banned). `standing`
 * when the caller has it already.
 */
export async function roleOf(ctx: ChatContext, room: RoomRecord, user: UserRef, standing?: Standing): Promise<RoomRole | null> {
  const { store, engine } = ctx.services;
  const dm = input.dmMembers(room.name);
  if (dm) return dm.includes(user.username) ? 'MEMBER' : null;
  const [s, member] = await Promise.all([standing ?? engine.moderation.standing(room.name, user.id), store.isMember(room.name, user.id)]);
  if (s.banned) return null;
  if (isAdmin(ctx, room, user.username)) return 'ADMIN';
  if (ownerOf(room, s.ownerId) === user.id) return 'OWNER';
  if (s.role === 'moderator') return 'MODERATOR';
  return member ? 'MEMBER' : null;
}

/** Roles of many users at once, from the room's moderation state (one read): members listed by the roster. */
export function rolesFrom(ctx: ChatContext, room: RoomRecord, state: ModerationState) {
  const moderators = new Set(state.moderators.map((m) => m.id));
  const owner = ownerOf(room, state.owner?.id ?? null);
  return (user: UserRef): RoomRole => {
    if (input.dmMembers(room.name)) return 'MEMBER';
    if (isAdmin(ctx, room, user.username)) return 'ADMIN';
    if (user.id === owner) return 'OWNER';
    return moderators.has(user.id) ? 'MODERATOR' : 'MEMBER';
  };
}

/** The viewer's role, or FORBIDDEN when it ranks below `least` (`what` says what they tried). */
export async function requireRole(ctx: ChatContext, room: RoomRecord, viewer: Viewer, least: RoomRole, what: string): Promise<RoomRole> {
  if (input.dmMembers(room.name)) throw badInput('Direct conversations have no moderators.', 'room');
  const role = await roleOf(ctx, room, viewer);
  if (rank(role) < RANK[least]) {
    const who = least === 'MODERATOR' ? 'its moderators' : least === 'OWNER' ? 'its owner' : 'its members';
    throw forbidden(`Only ${who} can ${what} in "${room.name}".`);
  }
  return role!;
}
