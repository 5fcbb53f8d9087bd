import { badInput, notFound, rateLimited } from '../errors.js';
import type { Reaction, StoredMessage } from '../pubsub/types.js';
import { requireViewer } from './auth.js';
import type { ChatContext } from './context.js';
import { APPEND_DEADLINE_MS, refusedAs } from './messages.js';
import { accessibleRoom } from './rooms.js';
import * as input from './validation.js';

/** Adds the viewer's reaction (idempotent); the message as it is now, every reaction included. */
export const addReaction = (ctx: ChatContext, args: ReactionArgs) => react(ctx, args, true);

/** Takes the viewer's reaction back (idempotent). */
export const removeReaction = (ctx: ChatContext, args: ReactionArgs) => react(ctx, args, false);

interface ReactionArgs {
  readonly room: string;
  readonly messageId: string;
  readonly emoji: string;
}

async function react(ctx: ChatContext, args: ReactionArgs, add: boolean): Promise<StoredMessage> {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(args.room);
  const target = input.cursor(args.messageId, 'messageId')!;
  const emoji = input.emoji(args.emoji);
  const room = await accessibleRoom(ctx, viewer, name);
  const { engine, limits, settings, now } = ctx.services;
  const wait = await limits.consumeReaction(viewer.id);
  if (wait > 0) throw rateLimited(wait);
  const maxEmoji = settings.reactionsPerMessage ?? 20;
  const result = await engine.log
    .react(room.name, { target, emoji, add, authorId: viewer.id, authorName: viewer.username }, { maxEmoji, deadline: now() + APPEND_DEADLINE_MS })
    .catch(refusedAs(room.name));
  if (result.ok) return result.message;
  if (result.reason === 'too-many') throw badInput(`A message carries at most ${maxEmoji} different reactions.`, 'emoji');
  throw notFound(`No message ${target} in "${room.name}" (it may be deleted or too old).`);
}

/** Whether the viewer is among those who reacted: differs per viewer (read synchronously, no I/O). */
export const isMineReaction = (ctx: ChatContext, r: Reaction) => ctx.viewer !== null && r.userIds.includes(ctx.viewer.id);
