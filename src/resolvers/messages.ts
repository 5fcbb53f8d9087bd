import { chatError, ErrorCode, forbidden, notFound, rateLimited } from '../errors.js';
import { editedMessage, WriteRefused, type StoredMessage } from '../pubsub/types.js';
import type { RoomRecord } from '../store/types.js';
import { requireViewer } from './auth.js';
import type { ChatContext } from './context.js';
import { resolveMentions } from './mentions.js';
import { requireRole } from './roles.js';
import { accessibleRoom, directConversation, dmPartner } from './rooms.js';
import * as input from './validation.js';

/** How long an append may take before the sender is answered with an error (and the append refused). */
export const APPEND_DEADLINE_MS = 5000;

interface SendArgs {
  readonly text: string;
  readonly clientId?: string | null;
  readonly replyTo?: string | null;
}

export async function sendMessage(ctx: ChatContext, args: SendArgs & { room: string }): Promise<StoredMessage> {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(args.room);
  const text = input.text(args.text);
  const dm = input.dmMembers(name);
  if (!dm) return append(ctx, await accessibleRoom(ctx, viewer, name, 'append'), text, [], args);
  // a message into a direct conversation also reaches the other member's directMessageAdded
  const conversation = await directConversation(ctx, viewer, dmPartner(viewer, name, dm), true);
  return append(ctx, conversation, text, [conversation.otherUserId], args);
}

export async function sendDirectMessage(ctx: ChatContext, args: SendArgs & { to: string }): Promise<StoredMessage> {
  const viewer = requireViewer(ctx);
  const to = input.username(args.to, 'to');
  const text = input.text(args.text);
  const room = await directConversation(ctx, viewer, to, true);
  return append(ctx, room, text, [room.otherUserId], args);
}

async function append(ctx: ChatContext, room: RoomRecord, text: string, notifyUsers: string[], args: SendArgs): Promise<StoredMessage> {
  const viewer = requireViewer(ctx);
  const clientId = input.clientId(args.clientId);
  const replyTo = input.cursor(args.replyTo, 'replyTo');
  const { engine, limits, hooks, now } = ctx.services;
  const wait = await limits.consumeMessage(viewer.id);
  if (wait > 0) throw rateLimited(wait);
  const { mentions, notify } = await resolveMentions(ctx, viewer, room, text);
  const message = await engine.log
    .append(
      room.name,
      { text, authorId: viewer.id, authorName: viewer.username, ...(replyTo ? { replyTo } : {}), ...(mentions.length ? { mentions, notifyMentioned: notify } : {}) },
      { notifyUsers, deadline: now() + APPEND_DEADLINE_MS, ...(clientId ? { clientId } : {}) },
    )
    .catch(refusedAs(room.name));
  hooks.messageSent(room.name);
  return message;
}

/** A write the room refused for the writer's standing, as the contract's error. */
export function refusedAs(room: string) {
  return (err: unknown): never => {
    if (!(err instanceof WriteRefused)) throw err;
    if (err.reason === 'banned') throw forbidden(`You are banned from "${room}".`);
    if (err.reason === 'muted') throw chatError(ErrorCode.Forbidden, `You are muted in "${room}" until ${err.until}.`, { until: err.until });
    throw chatError(ErrorCode.NotFound, `The message you reply to is not in "${room}" (it may be deleted or too old).`, { field: 'replyTo' });
  };
}

export async function recentMessages(ctx: ChatContext, args: { room: string; limit?: number | null; before?: string | null }): Promise<StoredMessage[]> {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(args.room);
  const limit = input.limit(args.limit);
  const before = input.cursor(args.before, 'before');
  const room = await accessibleRoom(ctx, viewer, name);
  return ctx.services.engine.log.range(room.name, { before, limit, from: 'newest' });
}

/** Whether the viewer wrote the message. */
export function isMine(ctx: ChatContext, message: StoredMessage): boolean {
  return ctx.viewer?.id === message.authorId;
}

/** The author edits a message; subscribers of roomEvents see it, history shows the new text. */
export async function editMessage(ctx: ChatContext, args: { room: string; id: string; text: string }): Promise<StoredMessage> {
  return editedMessage(await changeMessage(ctx, args.room, args.id, 'edited', input.text(args.text)));
}

/** The author deletes a message; it leaves history and resume, and roomEvents carries the deletion. */
export async function deleteMessage(ctx: ChatContext, args: { room: string; id: string }): Promise<boolean> {
  await changeMessage(ctx, args.room, args.id, 'deleted', '');
  return true;
}

/**
 * An edit or deletion by the author; a deletion of someone else's message by a moderator of the
 * room (owner, admin, moderator), which its DELETED event shows as removed by a moderator.
 */
async function changeMessage(ctx: ChatContext, roomArg: string, idArg: string, kind: 'edited' | 'deleted', text: string) {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(roomArg);
  const target = input.cursor(idArg, 'id')!;
  const room = await accessibleRoom(ctx, viewer, name);
  const { engine, limits, now } = ctx.services;
  const wait = await limits.consumeMessage(viewer.id);
  if (wait > 0) throw rateLimited(wait);
  const draft = { kind, target, text, authorId: viewer.id, authorName: viewer.username };
  let result = await engine.log.change(room.name, draft, { deadline: now() + APPEND_DEADLINE_MS }).catch(refusedAs(room.name));
  if (!result.ok && result.reason === 'not-author') {
    if (kind !== 'deleted' || input.dmMembers(room.name)) throw forbidden('Only its author can change a message.');
    await requireRole(ctx, room, viewer, 'MODERATOR', "delete others' messages");
    const moderation = await limits.consumeModeration(viewer.id);
    if (moderation > 0) throw rateLimited(moderation);
    result = await engine.log.change(room.name, { ...draft, asModerator: true }, { deadline: now() + APPEND_DEADLINE_MS });
  }
  if (result.ok) return result.change;
  if (result.reason === 'not-author') throw forbidden('Only its author can change a message.');
  throw notFound(`No message ${target} in "${room.name}" (it may be deleted or too old).`);
}
