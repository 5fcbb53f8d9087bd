import { forbidden, notFound, rateLimited } from '../errors.js';
import { editedMessage, type StoredMessage } from '../pubsub/types.js';
import { requireViewer } from './auth.js';
import type { ChatContext } from './context.js';
import { accessibleRoom, directConversation } from './rooms.js';
import * as input from './validation.js';

/** How long an append may take before the sender is answered with an error (and the append refused). */
const APPEND_DEADLINE_MS = 5000;

export async function sendMessage(ctx: ChatContext, args: { room: string; text: string; clientId?: string | null }): Promise<StoredMessage> {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(args.room);
  const text = input.text(args.text);
  const clientId = input.clientId(args.clientId);
  const room = await accessibleRoom(ctx, viewer, name);
  const dm = input.dmMembers(room.name);
  // a message into a direct conversation also reaches the other member's directMessageAdded
  const notifyUsers = dm ? [(await directConversation(ctx, viewer, dm[0] === viewer.username ? dm[1] : dm[0])).otherUserId] : [];
  return append(ctx, room.name, text, notifyUsers, clientId);
}

export async function sendDirectMessage(ctx: ChatContext, args: { to: string; text: string; clientId?: string | null }): Promise<StoredMessage> {
  const viewer = requireViewer(ctx);
  const to = input.username(args.to, 'to');
  const text = input.text(args.text);
  const clientId = input.clientId(args.clientId);
  const room = await directConversation(ctx, viewer, to);
  return append(ctx, room.name, text, [room.otherUserId], clientId);
}

async function append(ctx: ChatContext, room: string, text: string, notifyUsers: string[], clientId: string | undefined): Promise<StoredMessage> {
  const viewer = requireViewer(ctx);
  const { engine, limits, hooks, now } = ctx.services;
  const wait = await limits.consumeMessage(viewer.id);
  if (wait > 0) throw rateLimited(wait);
  const message = await engine.log.append(
    room,
    { text, authorId: viewer.id, authorName: viewer.username },
    { notifyUsers, deadline: now() + APPEND_DEADLINE_MS, ...(clientId ? { clientId } : {}) },
  );
  hooks.messageSent(room);
  return message;
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

async function changeMessage(ctx: ChatContext, roomArg: string, idArg: string, kind: 'edited' | 'deleted', text: string) {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(roomArg);
  const target = input.cursor(idArg, 'id')!;
  const room = await accessibleRoom(ctx, viewer, name);
  const { engine, limits, now } = ctx.services;
  const wait = await limits.consumeMessage(viewer.id);
  if (wait > 0) throw rateLimited(wait);
  const result = await engine.log.change(
    room.name,
    { kind, target, text, authorId: viewer.id, authorName: viewer.username },
    { deadline: now() + APPEND_DEADLINE_MS },
  );
  if (result.ok) return result.change;
  if (result.reason === 'not-author') throw forbidden('Only its author can change a message.');
  throw notFound(`No message ${target} in "${room.name}" (it may be deleted or too old).`);
}
