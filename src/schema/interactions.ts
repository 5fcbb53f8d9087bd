import * as reactions from '../resolvers/reactions.js';
import * as subscriptions from '../resolvers/subscriptions.js';
import type { Quote, Reaction } from '../pubsub/types.js';
import { builder } from './builder.js';
import { MessageRef, RoomEventRef } from './message.js';
import { UserRef } from './user.js';

/** The first line of a quoted message is shown up to this many characters. */
const FIRST_LINE_CHARS = 200;

const firstLine = (q: Quote) => {
  if (q.firstLine === undefined) return null;
  const chars = [...q.firstLine];
  return chars.length > FIRST_LINE_CHARS ? `${chars.slice(0, FIRST_LINE_CHARS).join('')}…` : q.firstLine;
};

const ReactionRef = builder.objectRef<Reaction>('Reaction').implement({
  description: 'One emoji on a message: how many reacted with it, and whether the viewer did.',
  fields: (t) => ({
    emoji: t.exposeString('emoji'),
    count: t.int({ resolve: (r) => r.userIds.length }),
    mine: t.boolean({
      description: 'True when the viewer reacted with this emoji. On a subscription shared by many, filled in for each subscriber.',
        resolve: (r, _args, ctx) => reactions.isMineReaction(ctx, r),
    }),
  }),
});

const QuotedMessageRef = builder.objectRef<Quote>('QuotedMessage').implement({
  description:
    "The message a reply answers, read whenever the reply is (never a stored copy): its author and first line, or a tombstone (deleted: true, no author or text) once it was deleted or is no longer retained.",
  fields: (t) => ({
    id: t.exposeID('id'),
    deleted: t.boolean({ resolve: (q) => q.firstLine === undefined }),
    author: t.field({ type: UserRef, nullable: true, resolve: (q) => (q.authorId ? { id: q.authorId, username: q.authorName ?? '' } : null) }),
    firstLine: t.string({ nullable: true, description: `Up to its first line break, at most ${FIRST_LINE_CHARS} characters (then …).`, resolve: firstLine }),
  }),
});

builder.objectFields(MessageRef, (t) => ({
  reactions: t.field({
    type: [ReactionRef],
    description: 'Reactions, in the order their emoji were first used (at most REACTIONS_PER_MESSAGE emoji).',
    resolve: (m) => m.reactions ?? [],
  }),
  replyTo: t.field({ type: QuotedMessageRef, nullable: true, description: 'The message this one answers; null when it answers none.', resolve: (m) => m.replyTo ?? null }),
  mentions: t.field({
    type: [UserRef],
    description: 'Users the text mentions with @username who could see the room when it was sent (edits do not change them).',
    resolve: (m) => m.mentions ?? [],
  }),
}));

builder.objectFields(RoomEventRef, (t) => ({
  actor: t.field({
    type: UserRef,
    description: 'Who did it: the author (ADDED, EDITED, DELETED), the moderator (a DELETED byModerator, MUTED, BANNED, ROLE_CHANGED, ...), who reacted (REACTION_*).',
    resolve: (e) => e.actor,
  }),
  byModerator: t.boolean({ description: 'DELETED by a moderator of the room rather than the author: show it as removed by a moderator.', resolve: (e) => e.byModerator }),
  emoji: t.string({ nullable: true, description: 'REACTION_ADDED, REACTION_REMOVED: the emoji.', resolve: (e) => e.emoji }),
  target: t.field({ type: UserRef, nullable: true, description: 'MUTED, UNMUTED, BANNED, UNBANNED, ROLE_CHANGED, MEMBER_REMOVED: the user acted on.', resolve: (e) => e.target }),
  until: t.field({ type: 'DateTime', nullable: true, description: 'MUTED: until when.', resolve: (e) => e.until }),
}));

builder.mutationFields((t) => {
  const args = {
    room: t.arg.string({ required: true }),
    messageId: t.arg.id({ required: true }),
    emoji: t.arg.string({ required: true, description: 'One emoji (👍, 🇫🇷, 👩🏽‍💻 ...).' }),
  };
  const shape = (a: { room: string; messageId: string | number; emoji: string }) => ({ room: a.room, messageId: String(a.messageId), emoji: a.emoji });
  return {
    addReaction: t.field({
      type: MessageRef,
      description:
        "The viewer reacts to a message with an emoji: once per user per emoji per message (again: nothing changes), at most REACTIONS_PER_MESSAGE emoji per message. Answers the message as it now is. REACTION_RATE_LIMIT.",
      args,
      resolve: (_r, a, ctx) => reactions.addReaction(ctx, shape(a)),
    }),
    removeReaction: t.field({
      type: MessageRef,
      description: "The viewer takes their emoji reaction back (none there: nothing changes). Answers the message as it now is. REACTION_RATE_LIMIT.",
      args,
      resolve: (_r, a, ctx) => reactions.removeReaction(ctx, shape(a)),
    }),
  };
});

builder.subscriptionField('mentioned', (t) =>
  t.field({
    type: MessageRef,
    description: 'Every message that mentions the viewer (@username), sent by someone else in a room the viewer can see, live, across all instances.',
    subscribe: (_r, _a, ctx) => subscriptions.mentioned(ctx),
    resolve: (m) => m,
  }),
);
