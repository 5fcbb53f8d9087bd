import type { Viewer } from '../auth/tokens.js';
import { badInput, forbidden, rateLimited } from '../errors.js';
import type { BanRecord, ModerationDraft, MuteRecord } from '../pubsub/types.js';
import type { RoomRecord, UserRecord } from '../store/types.js';
import { requireViewer } from './auth.js';
import type { ChatContext } from './context.js';
import { APPEND_DEADLINE_MS } from './messages.js';
import { isAdmin, rank, requireRole, roleOf, type RoomRole } from './roles.js';
import { accessibleRoom, addMembership, existingUser, removeMembership } from './rooms.js';
import * as input from './validation.js';

/**
 * Moderators' actions on users: mute, ban and their lifts; and the owner's: naming moderators and
 * handing ownership over. Each is FORBIDDEN to anyone below the role it needs, acts only on users
 * of a lower role, counts against MODERATION_RATE_LIMIT, and is an event of the room's log.
 */

interface Acting {
  readonly viewer: Viewer;
  readonly room: RoomRecord;
  readonly role: RoomRole;
  readonly target: UserRecord;
}

/** The common part: access, the actor's role (at least `least`), the throttle, the target below the actor. */
async function acting(ctx: ChatContext, args: { room: string; username: string }, least: RoomRole, what: string): Promise<Acting> {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(args.room);
  const username = input.username(args.username);
  const room = await accessibleRoom(ctx, viewer, name);
  const role = await requireRole(ctx, room, viewer, least, what);
  const wait = await ctx.services.limits.consumeModeration(viewer.id);
  if (wait > 0) throw rateLimited(wait);
  const target = await existingUser(ctx, viewer, username);
  if (target.id === viewer.id) throw badInput('You cannot do that to yourself.', 'username');
  if (rank(await roleOf(ctx, room, target)) >= rank(role)) {
    throw forbidden(`${target.username} is not below you in "${room.name}": only someone above them can ${what}.`);
  }
  return { viewer, room, role, target };
}

const apply = (ctx: ChatContext, room: RoomRecord, draft: ModerationDraft) =>
  ctx.services.engine.moderation.apply(room.name, draft, { deadline: ctx.services.now() + APPEND_DEADLINE_MS });

const person = (u: { id: string; username: string }) => ({ id: u.id, username: u.username });

/**
 * The owner or a moderator of a private room removes a member of a lower role (the owner: anyone);
 * the member stops receiving it at once.
 */
export async function removeFromRoom(ctx: ChatContext, args: { room: string; username: string }): Promise<RoomRecord> {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(args.room);
  const username = input.username(args.username);
  const room = await accessibleRoom(ctx, viewer, name);
  if (input.dmMembers(room.name)) throw badInput('A direct conversation has exactly two members.', 'room');
  if (!room.private) throw badInput('Public rooms are open to everyone: only private rooms have members to remove (ban a user instead).', 'room');
  const role = await requireRole(ctx, room, viewer, 'MODERATOR', 'remove members');
  // each removal is a log event for the room and a control event for every instance
  const wait = await ctx.services.limits.consumeModeration(viewer.id);
  if (wait > 0) throw rateLimited(wait);
  const user = await existingUser(ctx, viewer, username);
  if (user.id === viewer.id) throw badInput('To leave a room, use leaveRoom.', 'username');
  if (rank(await roleOf(ctx, room, user)) >= rank(role)) {
    throw forbidden(`${user.username} is not below you in "${room.name}": only someone above them can remove them.`);
  }
  const wasMember = await ctx.services.store.isMember(room.name, user.id);
  await removeMembership(ctx, room, user);
  // a moderator's action: an event of the room's log (once: removing a non-member again writes none)
  if (wasMember) await apply(ctx, room, { action: 'remove', actor: person(viewer), target: person(user) });
  return room;
}

/** Mutes a user for `seconds`: their sends, edits, reactions and typing get FORBIDDEN with extensions.until. */
export async function muteUser(ctx: ChatContext, args: { room: string; username: string; seconds: number }): Promise<MuteRecord> {
  const seconds = input.muteSeconds(args.seconds);
  const { viewer, room, target } = await acting(ctx, args, 'MODERATOR', 'mute users');
  const until = ctx.services.now() + seconds * 1000;
  await apply(ctx, room, { action: 'mute', actor: person(viewer), target: person(target), until });
  return { ...person(target), byId: viewer.id, byName: viewer.username, until: new Date(until).toISOString() };
}

/** True when a mute in force was lifted. */
export async function unmuteUser(ctx: ChatContext, args: { room: string; username: string }): Promise<boolean> {
  const { viewer, room, target } = await acting(ctx, args, 'MODERATOR', 'unmute users');
  return (await apply(ctx, room, { action: 'unmute', actor: person(viewer), target: person(target) })).length > 0;
}

/**
 * Bans a user: they can no longer read, join, subscribe to or write in the room (public rooms too),
 * lose their membership and role there, and their live subscriptions to it end at once on every
 * instance. Idempotent: banning again changes nothing and answers the ban in force.
 */
export async function banUser(ctx: ChatContext, args: { room: string; username: string }): Promise<BanRecord> {
  const { viewer, room, target } = await acting(ctx, args, 'MODERATOR', 'ban users');
  // the ban first: from here on access is refused; then the membership and the live subscriptions
  await apply(ctx, room, { action: 'ban', actor: person(viewer), target: person(target) });
  await removeMembership(ctx, room, target, true);
  const ban = (await ctx.services.engine.moderation.state(room.name)).bans.find((b) => b.id === target.id);
  return ban ?? { ...person(target), byId: viewer.id, byName: viewer.username, at: new Date(ctx.services.now()).toISOString() };
}

/** True when a ban was lifted. The user may join (or be invited) again; nothing else comes back. */
export async function unbanUser(ctx: ChatContext, args: { room: string; username: string }): Promise<boolean> {
  const { viewer, room, target } = await acting(ctx, args, 'MODERATOR', 'unban users');
  return (await apply(ctx, room, { action: 'unban', actor: person(viewer), target: person(target) })).length > 0;
}

/** The target must be able to hold a role: not banned, and a member of a private room (a public one: they join). */
async function eligible(ctx: ChatContext, room: RoomRecord, target: UserRecord): Promise<void> {
  const { store, engine } = ctx.services;
  const [standing, member] = await Promise.all([engine.moderation.standing(room.name, target.id), store.isMember(room.name, target.id)]);
  if (standing.banned) throw badInput(`${target.username} is banned from "${room.name}".`, 'username');
  if (member) return;
  if (room.private) throw badInput(`${target.username} is not a member of "${room.name}": invite them first.`, 'username');
  await addMembership(ctx, room, target);
}

/** The owner (or an admin) names a moderator (`moderator: true`) or dismisses one. */
export async function setModerator(ctx: ChatContext, args: { room: string; username: string; moderator: boolean }): Promise<{ user: UserRecord; role: RoomRole }> {
  const { viewer, room, target } = await acting(ctx, args, 'OWNER', 'name or dismiss moderators');
  if (args.moderator) await eligible(ctx, room, target);
  await apply(ctx, room, { action: 'role', actor: person(viewer), changes: [{ target: person(target), role: args.moderator ? 'moderator' : 'member' }] });
  return { user: target, role: args.moderator ? 'MODERATOR' : 'MEMBER' };
}

/** The owner hands the room over: the target becomes its owner, the former owner one of its moderators. */
export async function transferOwnership(ctx: ChatContext, args: { room: string; username: string }): Promise<RoomRecord> {
  const { viewer, room, role, target } = await acting(ctx, args, 'OWNER', 'hand the room over');
  if (role !== 'OWNER') {
    if (isAdmin(ctx, room, viewer.username)) throw badInput(`"${room.name}" is a default room: its admins come from ROOM_ADMINS, it has no owner to hand over.`, 'room');
    throw forbidden(`Only the owner of "${room.name}" can hand it over.`);
  }
  await eligible(ctx, room, target);
  await apply(ctx, room, {
    action: 'role',
    actor: person(viewer),
    changes: [
      { target: person(target), role: 'owner' },
      { target: person(viewer), role: 'moderator' },
    ],
  });
  return room;
}
