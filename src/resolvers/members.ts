import { forbidden } from '../errors.js';
import type { BanRecord, MuteRecord } from '../pubsub/types.js';
import type { Person } from '../store/people.js';
import type { RoomRecord } from '../store/types.js';
import { requireViewer } from './auth.js';
import type { ChatContext } from './context.js';
import { rank, requireRole, roleOf, rolesFrom, type RoomRole } from './roles.js';
import * as input from './validation.js';

/** A member as Room.members lists them. */
export interface MemberRecord {
  readonly user: Person;
  readonly role: RoomRole;
  /** While muted: until when (ISO-8601); shown to moderators only. */
  readonly mutedUntil: string | null;
}

/** The viewer's role in a room they can see (Room.myRole). */
export async function myRole(ctx: ChatContext, room: RoomRecord): Promise<RoomRole | null> {
  return roleOf(ctx, room, requireViewer(ctx));
}

/**
 * One page of a room's members in username order, with their roles: for the members of a private
 * room (and a direct conversation), and for the moderators of a public one (anyone else: FORBIDDEN).
 */
export async function members(ctx: ChatContext, room: RoomRecord, args: { first?: number | null; after?: string | null }): Promise<MemberRecord[]> {
  const viewer = requireViewer(ctx);
  const limit = input.first(args.first, 50);
  const after = args.after == null ? undefined : input.username(args.after, 'after');
  const dm = input.dmMembers(room.name);
  if (dm) {
    const store = ctx.services.store;
    const users = await Promise.all(dm.filter((name) => after === undefined || name > after).map((name) => store.findUser(name)));
    return users.flatMap((u) => (u ? [{ user: { id: u.id, username: u.username }, role: 'MEMBER' as const, mutedUntil: null }] : [])).slice(0, limit);
  }
  const role = await roleOf(ctx, room, viewer);
  const moderator = rank(role) >= rank('MODERATOR');
  if (room.private ? !role : !moderator) throw forbidden(`The members of "${room.name}" are listed for ${room.private ? 'its members' : 'its moderators'} only.`);
  const [page, state] = await Promise.all([ctx.services.store.roster(room.name, { after, limit }), ctx.services.engine.moderation.state(room.name)]);
  const roleOfMember = rolesFrom(ctx, room, state);
  const muted = new Map(state.mutes.map((m) => [m.id, m.until]));
  return page.map((user) => ({ user, role: roleOfMember(user), mutedUntil: moderator ? (muted.get(user.id) ?? null) : null }));
}

/**
 * Who moderates the room, for everyone who can see it (role badges): its owner, admins (default
 * rooms) and moderators, in that order, each by username.
 */
export async function moderators(ctx: ChatContext, room: RoomRecord): Promise<MemberRecord[]> {
  requireViewer(ctx);
  if (input.dmMembers(room.name)) return [];
  const { store, engine, settings } = ctx.services;
  const state = await engine.moderation.state(room.name);
  const out: MemberRecord[] = [];
  const add = (user: Person | null, role: RoomRole) => {
    if (user && !out.some((m) => m.user.id === user.id)) out.push({ user, role, mutedUntil: null });
  };
  const admins = settings.defaultRooms.includes(room.name) ? (settings.roomAdmins ?? []) : [];
  const adminUsers = await Promise.all(admins.map((name) => store.findUser(name)));
  for (const u of adminUsers) add(u && { id: u.id, username: u.username }, 'ADMIN');
  if (state.owner) add(state.owner, 'OWNER');
  else if (room.createdBy) add(await creatorOf(ctx, room, state.moderators), 'OWNER');
  for (const m of state.moderators) add(m, 'MODERATOR');
  const order: RoomRole[] = ['OWNER', 'ADMIN', 'MODERATOR'];
  return out.sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role) || (a.user.username < b.user.username ? -1 : 1));
}

/** Roster pages read at most to find a room's creator by name. */
const CREATOR_PAGES = 5;

/**
 * The creator by name: a room record keeps only the creator's id, the roster has the name (rooms
 * made before rosters, or whose creator left, and the first 1000 members of huge ones: not listed).
 */
async function creatorOf(ctx: ChatContext, room: RoomRecord, known: readonly Person[]): Promise<Person | null> {
  const found = known.find((p) => p.id === room.createdBy);
  if (found) return found;
  let after: string | undefined;
  for (let i = 0; i < CREATOR_PAGES; i++) {
    const page = await ctx.services.store.roster(room.name, { after, limit: 200 });
    const creator = page.find((p) => p.id === room.createdBy);
    if (creator || page.length < 200) return creator ?? null;
    after = page[page.length - 1]!.username;
  }
  return null;
}

/** Bans in force, for the room's moderators. */
export async function bans(ctx: ChatContext, room: RoomRecord): Promise<BanRecord[]> {
  await requireRole(ctx, room, requireViewer(ctx), 'MODERATOR', 'see its bans');
  return [...(await ctx.services.engine.moderation.state(room.name)).bans];
}

/** Mutes in force, for the room's moderators. */
export async function mutes(ctx: ChatContext, room: RoomRecord): Promise<MuteRecord[]> {
  await requireRole(ctx, room, requireViewer(ctx), 'MODERATOR', 'see its mutes');
  return [...(await ctx.services.engine.moderation.state(room.name)).mutes];
}
