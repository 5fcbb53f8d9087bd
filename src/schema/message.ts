import * as messages from '../resolvers/messages.js';
import * as subscriptions from '../resolvers/subscriptions.js';
import type { StoredMessage } from '../pubsub/types.js';
import { builder } from './builder.js';
import { UserRef } from './user.js';

export const MessageRef = builder.objectRef<StoredMessage>('Message').implement({
  fields: (t) => ({
    id: t.exposeID('id', {
      description:
        '<milliseconds>-<sequence> (a Redis stream id); within a room, strictly increasing (compare the two numbers) in the order subscribers receive messages. Usable as after/before.',
    }),
    room: t.exposeString('room'),
    text: t.exposeString('text'),
    author: t.field({ type: UserRef, resolve: (m) => ({ id: m.authorId, username: m.authorName }) }),
    createdAt: t.field({ type: 'DateTime', resolve: (m) => m.createdAt }),
    editedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the author last edited the text; null when never edited.',
      resolve: (m) => m.editedAt ?? null,
    }),
    mine: t.boolean({
      description: 'True when the viewer wrote the message. On a subscription shared by many, filled in for each subscriber.',
      resolve: (m, _args, ctx) => messages.isMine(ctx, m),
    }),
  }),
});

const RoomEventTypeRef = builder.enumType('RoomEventType', {
  values: {
    ADDED: { description: 'A message was sent.' },
    EDITED: { description: 'Its author changed its text.' },
    DELETED: { description: 'Its author deleted it, or a moderator did (byModerator, actor).' },
    REACTION_ADDED: { description: 'actor reacted to the message with emoji; message carries every reaction.' },
    REACTION_REMOVED: { description: 'actor took back their emoji reaction; message carries every reaction.' },
    MUTED: { description: 'A moderator (actor) muted target in the room until `until`.' },
    UNMUTED: { description: 'A moderator (actor) lifted the mute of target.' },
    BANNED: { description: 'A moderator (actor) banned target from the room.' },
    UNBANNED: { description: 'A moderator (actor) lifted the ban of target.' },
    ROLE_CHANGED: { description: "target's role in the room is now `role` (set by actor)." },
    MEMBER_REMOVED: { description: 'The owner or a moderator (actor) removed target from the private room.' },
  } as const,
});

export const RoomEventRef = builder.objectRef<subscriptions.RoomEventRecord>('RoomEvent').implement({
  description: "An entry of a room's log. Applied in order, the events give the room's final state.",
  fields: (t) => ({
    id: t.exposeID('id', { description: "The event's own id: strictly increasing in the room; resume with after." }),
    type: t.field({ type: RoomEventTypeRef, resolve: (e) => e.type }),
    messageId: t.exposeID('messageId', { description: "The message the event is about; for a moderator's action on a user (MUTED, BANNED, ...), the event's own id." }),
    message: t.field({
      type: MessageRef,
      nullable: true,
      description:
        "The message (ADDED, EDITED, REACTION_*): live, as the event left it; replayed (after), in its current state, so that no earlier text is readable. Null for DELETED and moderators' actions on users.",
      resolve: (e) => e.message,
    }),
  }),
});

builder.queryField('recentMessages', (t) =>
  t.field({
    type: [MessageRef],
    description: 'Up to limit (1-200) of the newest retained messages older than before, oldest first.',
    args: { room: t.arg.string({ required: true }), limit: t.arg.int({ defaultValue: 50 }), before: t.arg.id() },
    resolve: (_r, args, ctx) =>
      messages.recentMessages(ctx, { room: args.room, limit: args.limit, before: args.before == null ? null : String(args.before) }),
  }),
);

builder.mutationFields((t) => ({
  sendMessage: t.field({
    type: MessageRef,
    args: {
      room: t.arg.string({ required: true }),
      text: t.arg.string({ required: true }),
      clientId: t.arg.string({
        description:
          "The sender's idempotency key (1-64 of A-Z a-z 0-9 _ . : -, e.g. a UUID per message): retrying a send with the same key returns the message stored the first time instead of a second copy, on every instance, for the history TTL.",
      }),
      replyTo: t.arg.id({
        description: "The id of a message of the same room that this one answers (NOT_FOUND when it is not there). Message.replyTo then shows its first line, as it is when read.",
      }),
    },
    resolve: (_r, args, ctx) => messages.sendMessage(ctx, { ...args, replyTo: args.replyTo == null ? null : String(args.replyTo) }),
  }),
  editMessage: t.field({
    type: MessageRef,
    description: 'The author changes the text of a message. NOT_FOUND when it is gone, FORBIDDEN for anyone else.',
    args: { room: t.arg.string({ required: true }), id: t.arg.id({ required: true }), text: t.arg.string({ required: true }) },
    resolve: (_r, args, ctx) => messages.editMessage(ctx, { room: args.room, id: String(args.id), text: args.text }),
  }),
  deleteMessage: t.boolean({
    description:
      "The author deletes a message, or a moderator of the room someone else's: its text (first and edited) is removed from history, replay and resume; only the DELETED event remains in roomEvents (byModerator when a moderator did it).",
    args: { room: t.arg.string({ required: true }), id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => messages.deleteMessage(ctx, { room: args.room, id: String(args.id) }),
  }),
  sendDirectMessage: t.field({
    type: MessageRef,
    description: 'Sends into the direct conversation dm:<a>:<b> (usernames sorted), creating it on first use.',
    args: {
      to: t.arg.string({ required: true }),
      text: t.arg.string({ required: true }),
      clientId: t.arg.string({
        description:
          "The sender's idempotency key (1-64 of A-Z a-z 0-9 _ . : -, e.g. a UUID per message): retrying a send with the same key returns the message stored the first time instead of a second copy, on every instance, for the history TTL.",
      }),
      replyTo: t.arg.id({
        description: "The id of a message of the same room that this one answers (NOT_FOUND when it is not there). Message.replyTo then shows its first line, as it is when read.",
      }),
    },
    resolve: (_r, args, ctx) => messages.sendDirectMessage(ctx, { ...args, replyTo: args.replyTo == null ? null : String(args.replyTo) }),
  }),
}));

builder.subscriptionFields((t) => ({
  messageAdded: t.field({
    type: MessageRef,
    description:
      'Every message sent to room from now on, across all server instances.\nWith after: first every retained message newer than after, then the live ones,\nwith no gap and no duplicate between the two.',
    args: { room: t.arg.string({ required: true }), after: t.arg.id() },
    subscribe: (_r, args, ctx) =>
      subscriptions.messageAdded(ctx, { room: args.room, after: args.after == null ? null : String(args.after) }),
    resolve: (m) => m,
  }),
  roomEvents: t.field({
    type: RoomEventRef,
    description:
      "Every event of the room's log (ADDED, EDITED, DELETED) from now on; with after, first the retained events newer than after, with no gap and no duplicate.",
    args: { room: t.arg.string({ required: true }), after: t.arg.id() },
    subscribe: (_r, args, ctx) => subscriptions.roomEvents(ctx, { room: args.room, after: args.after == null ? null : String(args.after) }),
    resolve: (e) => e,
  }),
  directMessageAdded: t.field({
    type: MessageRef,
    description: 'Every direct message sent to the viewer by someone else, live.',
    subscribe: (_r, _a, ctx) => subscriptions.directMessageAdded(ctx),
    resolve: (m) => m,
  }),
}));
