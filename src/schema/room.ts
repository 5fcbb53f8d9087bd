import * as moderation from '../resolvers/moderation.js';
import * as rooms from '../resolvers/rooms.js';
import type { RoomRecord } from '../store/types.js';
import { builder } from './builder.js';

export const RoomRef = builder.objectRef<RoomRecord>('Room').implement({
  fields: (t) => ({
    name: t.exposeString('name', {
      description:
        '1-64 characters of a-z, 0-9, _ and -, starting with a letter or digit; direct conversations are named dm:<user>:<user>.',
    }),
    private: t.exposeBoolean('private'),
  }),
});

builder.queryField('rooms', (t) =>
  t.field({
    type: [RoomRef],
    description:
      'Public rooms, and private rooms the viewer belongs to (direct conversations included), in name order, one page at a time: the first `first` (1-200) after the name `after`. A page shorter than `first` is the last.',
    args: {
      first: t.arg.int({ defaultValue: 100, description: 'Rooms in the page, 1-200.' }),
      after: t.arg.string({ description: 'The name of the last room of the previous page.' }),
    },
    resolve: (_r, args, ctx) => rooms.rooms(ctx, args),
  }),
);

builder.queryField('room', (t) =>
  t.field({
    type: RoomRef,
    description: 'One room the viewer can see, by name (a direct conversation too): NOT_FOUND or FORBIDDEN as for reading its messages.',
    args: { name: t.arg.string({ required: true }) },
    resolve: (_r, args, ctx) => rooms.room(ctx, args),
  }),
);

builder.mutationFields((t) => ({
  createRoom: t.field({
    type: RoomRef,
    args: { name: t.arg.string({ required: true }), private: t.arg.boolean({ defaultValue: false }) },
    resolve: (_r, args, ctx) => rooms.createRoom(ctx, args),
  }),
  joinRoom: t.field({
    type: RoomRef,
    description: 'Join a public room (private rooms need an invitation).',
    args: { name: t.arg.string({ required: true }) },
    resolve: (_r, args, ctx) => rooms.joinRoom(ctx, args),
  }),
  inviteToRoom: t.field({
    type: RoomRef,
    description:
      'A member of a room adds another user to it (a private room: they may read and write there; a public one: it joins their rooms). FORBIDDEN to anyone else. Counts against MODERATION_RATE_LIMIT.',
    args: { room: t.arg.string({ required: true }), username: t.arg.string({ required: true }) },
    resolve: (_r, args, ctx) => rooms.inviteToRoom(ctx, args),
  }),
  leaveRoom: t.boolean({
    description:
      'Leave a room: it drops from rooms, and for a private room access ends, live subscriptions included. True when the viewer was a member. Direct conversations cannot be left. Leaving a private room one is not a member of counts against MODERATION_RATE_LIMIT.',
    args: { name: t.arg.string({ required: true }) },
    resolve: (_r, args, ctx) => rooms.leaveRoom(ctx, args),
  }),
  removeFromRoom: t.field({
    type: RoomRef,
    description:
      'The owner or a moderator of a private room removes a member of a lower role, whose live subscriptions to it end at once. Counts against MODERATION_RATE_LIMIT.',
    args: { room: t.arg.string({ required: true }), username: t.arg.string({ required: true }) },
    resolve: (_r, args, ctx) => moderation.removeFromRoom(ctx, args),
  }),
}));
