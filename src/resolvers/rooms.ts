import type { Viewer } from '../auth/tokens.js';
import { badInput, conflict, forbidden, notFound, rateLimited } from '../errors.js';
import { byName, type RoomRecord, type UserRecord } from '../store/types.js';
import { requireViewer } from './auth.js';
import type { ChatContext } from './context.js';
import * as input from './validation.js';

/**
 * The access rule, in one place: public rooms are open to every signed-in user; private rooms and
 * direct conversations to their members. A direct conversation of the viewer is made on first use.
 */
export async function accessibleRoom(ctx: ChatContext, viewer: Viewer, name: string): Promise<RoomRecord> {
  const { store } = ctx.services;
  const dm = input.dmMembers(name);
  if (dm) {
    if (!dm.includes(viewer.username)) throw forbidden('You are not part of this direct conversation.');
    const other = dm[0] === viewer.username ? dm[1] : dm[0];
    if (other === viewer.username) throw badInput('A direct conversation is between two different users.', 'room');
    if (name !== input.dmRoomName(dm[0], dm[1])) throw badInput('A direct conversation is named dm:<a>:<b> with usernames sorted.', 'room');
    return directConversation(ctx, viewer, other);
  }
  const room = await findRoom(ctx.services, name);
  if (!room) throw notFound(`No room named "${name}".`);
  if (room.private && !(await store.isMember(name, viewer.id))) throw forbidden(`"${name}" is private: ask a member for an invitation.`);
  return room;
}

/**
 * The room named `name`; a default room always exists: one missing (Redis restarted without its
 * data) is made again on first use, without waiting for an instance to restart.
 */
async function findRoom(services: ChatContext['services'], name: string): Promise<RoomRecord | null> {
  const room = await services.store.findRoom(name);
  if (room || !services.settings.defaultRooms.includes(name)) return room;
  return ensureDefaultRoom(services, name);
}

function ensureDefaultRoom(services: ChatContext['services'], name: string): Promise<RoomRecord> {
  return services.store.ensureRoom({ name, private: false, createdBy: '', createdAt: new Date(services.now()).toISOString() }, []);
}

/** The direct conversation between the viewer and `otherUsername`, created on first use. */
export async function directConversation(ctx: ChatContext, viewer: Viewer, otherUsername: string): Promise<RoomRecord & { otherUserId: string }> {
  const { store, now } = ctx.services;
  if (otherUsername === viewer.username) throw badInput('You cannot send a direct message to yourself.', 'to');
  const other = await existingUser(ctx, viewer, otherUsername);
  const name = input.dmRoomName(viewer.username, other.username);
  const room = await store.ensureRoom(
    { name, private: true, createdBy: viewer.id, createdAt: new Date(now()).toISOString() },
    [viewer.id, other.id],
  );
  return { ...room, otherUserId: other.id };
}

/**
 * The user named `username`, or NOT_FOUND. Each NOT_FOUND costs the viewer one point of
 * MESSAGE_RATE_LIMIT, so probing which usernames exist (the contract answers NOT_FOUND for an
 * unknown one) goes no faster than sending messages.
 */
async function existingUser(ctx: ChatContext, viewer: Viewer, username: string): Promise<UserRecord> {
  const user = await ctx.services.store.findUser(username);
  if (user) return user;
  const wait = await ctx.services.limits.consumeMessage(viewer.id);
  if (wait > 0) throw rateLimited(wait);
  throw notFound(`No user named "${username}".`);
}

/** Makes the configured default rooms exist; called once at start-up. */
export async function ensureDefaultRooms(services: ChatContext['services']): Promise<void> {
  for (const name of services.settings.defaultRooms) await ensureDefaultRoom(services, name);
}

/**
 * One page of the viewer's rooms (public ones and their own), in name order: the first `first`
 * (1-200, default 100) after the name `after`. The next page starts after the last name of this
 * one; a page shorter than `first` is the last. Reads at most `first` names of each list.
 */
export async function rooms(ctx: ChatContext, args: { first?: number | null; after?: string | null } = {}): Promise<RoomRecord[]> {
  const viewer = requireViewer(ctx);
  const limit = input.first(args.first);
  const after = args.after == null ? undefined : input.roomRef(args.after, 'after');
  const { store, settings } = ctx.services;
  const [open, mine] = await Promise.all([store.publicRooms({ after, limit }), store.roomsOf(viewer.id, { after, limit })]);
  const unique = new Map<string, RoomRecord>();
  for (const r of [...open, ...mine]) unique.set(r.name, r);
  const page = [...unique.values()].sort(byName).slice(0, limit);
  // default rooms lost with Redis's data are made again (they always exist), when they belong on this page
  const fits = (name: string) => (after === undefined || name > after) && (page.length < limit || name < page[page.length - 1]!.name);
  const missing = settings.defaultRooms.filter((name) => !unique.has(name) && fits(name));
  if (missing.length === 0) return page;
  for (const name of missing) unique.set(name, await ensureDefaultRoom(ctx.services, name));
  return [...unique.values()].sort(byName).slice(0, limit);
}

/** Rate limited per user (CREATE_ROOM_RATE_LIMIT): every room lengthens everyone's rooms list. */
export async function createRoom(ctx: ChatContext, args: { name: string; private?: boolean | null }): Promise<RoomRecord> {
  const viewer = requireViewer(ctx);
  const { store, limits, now } = ctx.services;
  const room: RoomRecord = {
    name: input.newRoomName(args.name),
    private: args.private ?? false,
    createdBy: viewer.id,
    createdAt: new Date(now()).toISOString(),
  };
  const wait = await limits.consumeRoomCreation(viewer.id);
  if (wait > 0) throw rateLimited(wait);
  if (!(await store.createRoom(room, [viewer.id]))) throw conflict(`The room name "${room.name}" is taken.`);
  return room;
}

export async function joinRoom(ctx: ChatContext, args: { name: string }): Promise<RoomRecord> {
  const viewer = requireViewer(ctx);
  const room = await accessibleRoom(ctx, viewer, input.roomRef(args.name, 'name'));
  await ctx.services.store.addMember(room.name, viewer.id);
  return room;
}

export async function inviteToRoom(ctx: ChatContext, args: { room: string; username: string }): Promise<RoomRecord> {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(args.room);
  const username = input.username(args.username);
  const room = await accessibleRoom(ctx, viewer, name);
  if (input.dmMembers(room.name)) throw badInput('A direct conversation has exactly two members.', 'room');
  const invitee = await existingUser(ctx, viewer, username);
  await ctx.services.store.addMember(room.name, invitee.id);
  return room;
}

/**
 * The viewer leaves a room: it drops from their rooms, and for a private room they lose access
 * (their live subscriptions to it end, on every instance). A direct conversation cannot be left.
 */
export async function leaveRoom(ctx: ChatContext, args: { name: string }): Promise<boolean> {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(args.name, 'name');
  if (input.dmMembers(name)) throw badInput('A direct conversation cannot be left.', 'name');
  const room = await findRoom(ctx.services, name);
  if (!room) throw notFound(`No room named "${name}".`);
  const wasMember = await ctx.services.store.isMember(name, viewer.id);
  await removeMembership(ctx, room, viewer.id);
  return wasMember;
}

/** The creator of a private room removes a member; the member stops receiving it at once. */
export async function removeFromRoom(ctx: ChatContext, args: { room: string; username: string }): Promise<RoomRecord> {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(args.room);
  const username = input.username(args.username);
  const room = await accessibleRoom(ctx, viewer, name);
  if (input.dmMembers(room.name)) throw badInput('A direct conversation has exactly two members.', 'room');
  if (!room.private) throw badInput('Public rooms are open to everyone: only private rooms have members to remove.', 'room');
  if (room.createdBy !== viewer.id) throw forbidden(`Only the creator of "${room.name}" can remove its members.`);
  const user = await existingUser(ctx, viewer, username);
  await removeMembership(ctx, room, user.id);
  return room;
}

async function removeMembership(ctx: ChatContext, room: RoomRecord, userId: string): Promise<void> {
  await ctx.services.store.removeMember(room.name, userId);
  // must reach every instance: a failure is reported so the caller retries (removal is idempotent)
  if (room.private) await ctx.services.engine.control.publish({ type: 'member-removed', room: room.name, userId });
}
