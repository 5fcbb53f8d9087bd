import * as activity from '../resolvers/activity.js';
import * as subscriptions from '../resolvers/subscriptions.js';
import type { RoomSignal } from '../pubsub/types.js';
import { builder } from './builder.js';
import { RoomRef } from './room.js';
import { UserRef } from './user.js';

type Typing = Extract<RoomSignal, { type: 'typing' }>;
type Presence = Extract<RoomSignal, { type: 'presence' }>;

const TypingEventRef = builder.objectRef<Typing>('TypingEvent').implement({
  description: 'Someone is typing in a room. Never stored; show it until expiresAt.',
  fields: (t) => ({
    room: t.exposeString('room'),
    user: t.field({ type: UserRef, resolve: (s) => ({ id: s.userId, username: s.username }) }),
    expiresAt: t.field({ type: 'DateTime', resolve: (s) => s.expiresAt }),
  }),
});

const PresenceEventRef = builder.objectRef<Presence>('PresenceEvent').implement({
  description: 'A user came online in a room (first subscription on any instance) or went offline (last one ended, or its instance died).',
  fields: (t) => ({
    room: t.exposeString('room'),
    user: t.field({ type: UserRef, resolve: (s) => ({ id: s.userId, username: s.username }) }),
    online: t.exposeBoolean('online'),
  }),
});

builder.objectField(RoomRef, 'unreadCount', (t) =>
  t.int({
    description:
      "Messages in the room after the viewer's read mark (markRead; sending moves it too) that history still holds, less those deleted since, at most HISTORY_LIMIT. Batched: a rooms list costs one round trip.",
    resolve: async (room, _args, ctx) => (await activity.readMark(ctx, room)).unread,
  }),
);

builder.objectField(RoomRef, 'lastReadId', (t) =>
  t.id({
    nullable: true,
    description: "The newest message the viewer has read in the room; null before the first read.",
    resolve: async (room, _args, ctx) => (await activity.readMark(ctx, room)).lastReadId,
  }),
);

builder.queryField('onlineMembers', (t) =>
  t.field({
    type: [UserRef],
    description: "Users subscribed to the room's messages (messageAdded or roomEvents) right now, on any instance, each once.",
    args: { room: t.arg.string({ required: true }) },
    resolve: (_r, args, ctx) => activity.onlineMembers(ctx, args),
  }),
);

builder.mutationFields((t) => ({
  startTyping: t.boolean({
    description: `Tells the room's typing subscribers that the viewer is typing, for ${activity.TYPING_SECONDS} s. Rate limited (TYPING_RATE_LIMIT).`,
    args: { room: t.arg.string({ required: true }) },
    resolve: (_r, args, ctx) => activity.startTyping(ctx, args),
  }),
  markRead: t.field({
    type: RoomRef,
    description: "Moves the viewer's read mark to the newest message at or before id; it never moves backwards.",
    args: { room: t.arg.string({ required: true }), id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => activity.markRead(ctx, { room: args.room, id: String(args.id) }),
  }),
}));

builder.subscriptionFields((t) => ({
  typing: t.field({
    type: TypingEventRef,
    description: 'Typing signals of others in the room, live. A reader that falls behind loses old signals rather than queueing them.',
    args: { room: t.arg.string({ required: true }) },
    subscribe: (_r, args, ctx) => subscriptions.typing(ctx, args),
    resolve: (s) => s,
  }),
  presenceChanged: t.field({
    type: PresenceEventRef,
    description: 'Users coming online and going offline in the room, from every instance.',
    args: { room: t.arg.string({ required: true }) },
    subscribe: (_r, args, ctx) => subscriptions.presenceChanged(ctx, args),
    resolve: (s) => s,
  }),
}));
