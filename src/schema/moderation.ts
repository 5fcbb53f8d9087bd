import * as activity from '../resolvers/activity.js';
import * as blocks from '../resolvers/blocks.js';
import * as members from '../resolvers/members.js';
import * as moderation from '../resolvers/moderation.js';
import type { BanRecord, MuteRecord } from '../pubsub/types.js';
import { builder } from './builder.js';
import { RoomEventRef } from './message.js';
import { RoomRef } from './room.js';
import { UserRef } from './user.js';

const RoomRoleRef = builder.enumType('RoomRole', {
  description: 'A role in a room. Owners and admins do what moderators do and name moderators; everyone acts only on users of a lower role.',
  values: {
    OWNER: { description: "The room's creator, until they hand it over (transferOwnership)." },
    ADMIN: { description: 'A default room has no creator: the users named in ROOM_ADMINS run it.' },
    MODERATOR: { description: 'Named by the owner: deletes messages, mutes and bans users.' },
    MEMBER: { description: 'A member of a private room, or a user who joined a public one.' },
  } as const,
});

const ROLE_OF_STORED = { owner: 'OWNER', moderator: 'MODERATOR', member: 'MEMBER' } as const;

const RoomMemberRef = builder.objectRef<members.MemberRecord>('RoomMember').implement({
  description: 'A user of a room with their role.',
  fields: (t) => ({
    user: t.field({ type: UserRef, resolve: (m) => m.user }),
    role: t.field({ type: RoomRoleRef, resolve: (m) => m.role }),
    mutedUntil: t.field({ type: 'DateTime', nullable: true, description: "While muted, until when (shown to the room's moderators only).", resolve: (m) => m.mutedUntil }),
  }),
});

const RoomBanRef = builder.objectRef<BanRecord>('RoomBan').implement({
  description: 'A ban in force.',
  fields: (t) => ({
    user: t.field({ type: UserRef, resolve: (b) => b }),
    bannedBy: t.field({ type: UserRef, resolve: (b) => ({ id: b.byId, username: b.byName }) }),
    bannedAt: t.field({ type: 'DateTime', resolve: (b) => b.at }),
  }),
});

const RoomMuteRef = builder.objectRef<MuteRecord>('RoomMute').implement({
  description: 'A mute in force.',
  fields: (t) => ({
    user: t.field({ type: UserRef, resolve: (m) => m }),
    mutedBy: t.field({ type: UserRef, resolve: (m) => ({ id: m.byId, username: m.byName }) }),
    until: t.field({ type: 'DateTime', resolve: (m) => m.until }),
  }),
});

builder.objectFields(RoomRef, (t) => ({
  myRole: t.field({
    type: RoomRoleRef,
    nullable: true,
    description: "The viewer's role in the room; null when they have none (a public room they did not join). Differs per viewer.",
    resolve: (room, _a, ctx) => members.myRole(ctx, room),
  }),
  members: t.field({
    type: [RoomMemberRef],
    nullable: true,
    description:
      "Members with their roles, in username order, a page at a time (the first `first`, 1-200, after the username `after`): for the members of a private room, and for the moderators of a public one; null with FORBIDDEN for anyone else.",
    args: { first: t.arg.int({ defaultValue: 50 }), after: t.arg.string({ description: 'The username of the last member of the previous page.' }) },
    resolve: (room, args, ctx) => members.members(ctx, room, args),
  }),
  moderators: t.field({
    type: [RoomMemberRef],
    description: 'Who runs the room, for everyone who can see it (role badges): its owner, admins and moderators.',
    resolve: (room, _a, ctx) => members.moderators(ctx, room),
  }),
  bans: t.field({ type: [RoomBanRef], nullable: true, description: "Bans in force; for the room's moderators (null with FORBIDDEN for others).", resolve: (room, _a, ctx) => members.bans(ctx, room) }),
  mutes: t.field({ type: [RoomMuteRef], nullable: true, description: "Mutes in force; for the room's moderators (null with FORBIDDEN for others).", resolve: (room, _a, ctx) => members.mutes(ctx, room) }),
  mentionCount: t.int({
    description: "Messages after the viewer's read mark that mention them (at most 100; deleted ones not counted). Batched with unreadCount. Differs per viewer.",
    resolve: async (room, _args, ctx) => (await activity.readMark(ctx, room)).mentions,
  }),
}));

builder.objectField(RoomEventRef, 'role', (t) =>
  t.field({ type: RoomRoleRef, nullable: true, description: "ROLE_CHANGED: the target's role from now on.", resolve: (e) => (e.role ? ROLE_OF_STORED[e.role] : null) }),
);

builder.queryField('blockedUsers', (t) => t.field({ type: [UserRef], description: 'The users the viewer blocked, by username.', resolve: (_r, _a, ctx) => blocks.blockedUsers(ctx) }));

builder.mutationFields((t) => {
  const target = { room: t.arg.string({ required: true }), username: t.arg.string({ required: true }) };
  return {
    muteUser: t.field({
      type: RoomMuteRef,
      description:
        'A moderator mutes a user of a lower role for `seconds` (1 to a year): their sends, edits, reactions and typing get FORBIDDEN with extensions.until. Muting again sets a new end. MODERATION_RATE_LIMIT.',
      args: { ...target, seconds: t.arg.int({ required: true }) },
      resolve: (_r, args, ctx) => moderation.muteUser(ctx, args),
    }),
    unmuteUser: t.boolean({ description: 'A moderator lifts a mute; true when one was in force.', args: target, resolve: (_r, args, ctx) => moderation.unmuteUser(ctx, args) }),
    banUser: t.field({
      type: RoomBanRef,
      description:
        "A moderator bans a user of a lower role, public rooms included: they can no longer read, join, subscribe or write there, and their live subscriptions to the room end at once on every instance. Banning again answers the ban in force.",
      args: target,
      resolve: (_r, args, ctx) => moderation.banUser(ctx, args),
    }),
    unbanUser: t.boolean({ description: 'A moderator lifts a ban; true when one was in force. The user may join or be invited again.', args: target, resolve: (_r, args, ctx) => moderation.unbanUser(ctx, args) }),
    setModerator: t.field({
      type: RoomMemberRef,
      description: "The owner (or an admin) makes a member a moderator (moderator: true) or takes it back. A user of a public room who had not joined it joins.",
      args: { ...target, moderator: t.arg.boolean({ required: true }) },
      resolve: (_r, args, ctx) => moderation.setModerator(ctx, args).then((m) => ({ user: m.user, role: m.role, mutedUntil: null })),
    }),
    transferOwnership: t.field({
      type: RoomRef,
      description: 'The owner hands the room over: the user becomes its owner, the former owner a moderator.',
      args: target,
      resolve: (_r, args, ctx) => moderation.transferOwnership(ctx, args),
    }),
    blockUser: t.boolean({
      description: 'The viewer blocks a user: they can no longer start or send direct messages to the viewer, and their mentions of the viewer are not told. BLOCK_RATE_LIMIT.',
      args: { username: t.arg.string({ required: true }) },
      resolve: (_r, args, ctx) => blocks.blockUser(ctx, args),
    }),
    unblockUser: t.boolean({
      description: 'Lifts a block; true when there was one.',
      args: { username: t.arg.string({ required: true }) },
      resolve: (_r, args, ctx) => blocks.unblockUser(ctx, args),
    }),
  };
});
