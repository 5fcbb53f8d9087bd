import type { Viewer } from '../auth/tokens.js';
import { badInput, conflict, forbidden, notFound, rateLimited } from '../errors.js';
import { byName, type RoomRecord, type UserRecord } from '../store/types.js';
import { requireViewer } from './auth.js';
import type { ChatContext } from './context.js';
import * as input from './validation.js';

const NO_BANS: ReadonlySet<string> = new Set();

/**
 * The access rule, in one place: public rooms are open to every signed-in user; private rooms and
 * direct conversations to their members; nobody reads, joins or writes in a room they are banned
 * from. A direct conversation of the viewer is made on first use (not by a user the other blocked).
 * `append`: the caller appends to the room's log next, which checks the ban itself.
 */
export async function accessibleRoom(ctx: ChatContext, viewer: Viewer, name: string, use: 'read' | 'append' = 'read'): Promise<RoomRecord> {
  const { store, engine } = ctx.services;
  const dm = input.dmMembers(name);
  if (dm) return directConversation(ctx, viewer, dmPartner(viewer, name, dm));
  const bans = () => engine.moderation.bannedFrom(viewer.id, [name]);
  // an append refuses a banned writer itself, atomically with the write (engine.log.append): in a
  // public room it needs no read before it (the room's record is usually known already)
  const [room, early] = await Promise.all([findRoom(ctx.services, name), use === 'read' ? bans() : undefined]);
  if (!room) throw notFound(`No room named "${name}".`);
  const [banned, member] = await Promise.all([early ?? (room.private ? bans() : NO_BANS), room.private ? store.isMember(name, viewer.id) : true]);
  if (banned.has(name)) throw forbidden(`You are banned from "${name}".`);
  if (!member) throw forbidden(`"${name}" is private: ask a member for an invitation.`);
  return room;
}

/** The other member of the direct conversation `name` (dm:<a>:<b>), when the viewer is one of them. */
export function dmPartner(viewer: Viewer, name: string, dm: readonly [string, string]): string {
  if (!dm.includes(viewer.username)) throw forbidden('You are not part of this direct conversation.');
  const other = dm[0] === viewer.username ? dm[1] : dm[0];
  if (other === viewer.username) throw badInput('A direct conversation is between two different users.', 'room');
  if (name !== input.dmRoomName(dm[0], dm[1])) throw badInput('A direct conversation is named dm:<a>:<b> with usernames sorted.', 'room');
  return other;
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

/**
 * The direct conversation between the viewer and `otherUsername`, created on first use. `sending`:
 * the viewer writes into it, which a user the other blocked may not (nor start one).
 */
export async function directConversation(ctx: ChatContext, viewer: Viewer, otherUsername: string, sending = false): Promise<RoomRecord & { otherUserId: string }> {
  const { store, now } = ctx.services;
  if (otherUsername === viewer.username) throw badInput('You cannot send a direct message to yourself.', 'to');
  const other = await existingUser(ctx, viewer, otherUsername);
  const name = input.dmRoomName(viewer.username, other.username);
  const [blocked, existing] = await Promise.all([store.blockedBy(viewer.id, [other.id]), store.findRoom(name)]);
  if (blocked.size > 0 && (sending || !existing)) throw forbidden(`${other.username} does not accept direct messages from you.`);
  // a stored conversation has its members and hints already: they are written before its record
  const room =
    existing ?? (await store.ensureRoom({ name, private: true, createdBy: viewer.id, createdAt: new Date(now()).toISOString() }, [viewer.id, other.id]));
  return { ...room, otherUserId: other.id };
}

/**
 * The user named `username`, or NOT_FOUND. Each NOT_FOUND costs the viewer one point of
 * MESSAGE_RATE_LIMIT, so probing which usernames exist (the contract answers NOT_FOUND for an
 * unknown one) goes no faster than sending messages.
 */
export async function existingUser(ctx: ChatContext, viewer: Viewer, username: string): Promise<UserRecord> {
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
  let after = args.after == null ? undefined : input.roomRef(args.after, 'after');
  // rooms the viewer is banned from are left out, and the page filled from the names after them
  const out: RoomRecord[] = [];
  for (;;) {
    const wanted = limit - out.length;
    const page = await roomPage(ctx, viewer, after, wanted);
    const banned = await ctx.services.engine.moderation.bannedFrom(
      viewer.id,
      page.filter((r) => !input.dmMembers(r.name)).map((r) => r.name),
    );
    out.push(...page.filter((r) => !banned.has(r.name)));
    if (page.length < wanted || out.length === limit) return out;
    after = page[page.length - 1]!.name;
  }
}

async function roomPage(ctx: ChatContext, viewer: Viewer, after: string | undefined, limit: number): Promise<RoomRecord[]> {
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

/** One room the viewer can see (its roles, members, counts): NOT_FOUND or FORBIDDEN as for reading it. */
export async function room(ctx: ChatContext, args: { name: string }): Promise<RoomRecord> {
  const viewer = requireViewer(ctx);
  return accessibleRoom(ctx, viewer, input.roomRef(args.name, 'name'));
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
  await store.addToRoster(room.name, viewer);
  return room;
}

/** Adds a member, listed by name too; both steps idempotent. */
export async function addMembership(ctx: ChatContext, room: RoomRecord, user: { id: string; username: string }): Promise<void> {
  await ctx.services.store.addMember(room.name, user.id);
  await ctx.services.store.addToRoster(room.name, { id: user.id, username: user.username });
}

export async function joinRoom(ctx: ChatContext, args: { name: string }): Promise<RoomRecord> {
  const viewer = requireViewer(ctx);
  const room = await accessibleRoom(ctx, viewer, input.roomRef(args.name, 'name'));
  if (!input.dmMembers(room.name)) await addMembership(ctx, room, viewer);
  return room;
}

export async function inviteToRoom(ctx: ChatContext, args: { room: string; username: string }): Promise<RoomRecord> {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(args.room);
  const username = input.username(args.username);
  const room = await accessibleRoom(ctx, viewer, name);
  if (input.dmMembers(room.name)) throw badInput('A direct conversation has exactly two members.', 'room');
  // a private room's access check made the viewer a member; a public room's did not
  if (!room.private && !(await ctx.services.store.isMember(room.name, viewer.id))) {
    throw forbidden(`Join "${room.name}" first: only its members invite others.`);
  }
  // an action on another user, throttled like moderators' (with removals, invitations could cycle without end)
  const wait = await ctx.services.limits.consumeModeration(viewer.id);
  if (wait > 0) throw rateLimited(wait);
  const invitee = await existingUser(ctx, viewer, username);
  if ((await ctx.services.engine.moderation.bannedFrom(invitee.id, [room.name])).size > 0) {
    throw forbidden(`${invitee.username} is banned from "${room.name}": a moderator can lift the ban first.`);
  }
  await addMembership(ctx, room, invitee);
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
  // a non-member's leave only repeats the control event of an earlier one (a retry after it failed):
  // throttled, or anyone could flood every instance and the control log with them
  if (!wasMember && room.private) {
    const wait = await ctx.services.limits.consumeModeration(viewer.id);
    if (wait > 0) throw rateLimited(wait);
  }
  await removeMembership(ctx, room, viewer);
  return wasMember;
}

/**
 * Ends a membership: the store's, the roster's, and (private rooms, or `always` for a ban) the live
 * subscriptions of the user to the room on every instance.
 */
export async function removeMembership(ctx: ChatContext, room: RoomRecord, user: { id: string; username: string }, always = false): Promise<void> {
  await ctx.services.store.removeMember(room.name, user.id);
  await ctx.services.store.removeFromRoster(room.name, { id: user.id, username: user.username });
  // must reach every instance: a failure is reported so the caller retries (removal is idempotent)
  if (room.private || always) await ctx.services.engine.control.publish({ type: 'member-removed', room: room.name, userId: user.id });
}
