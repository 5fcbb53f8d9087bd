import DataLoader from 'dataloader';
import { chatError, ErrorCode, rateLimited } from '../errors.js';
import type { PresentUser, ReadMark, RoomSignal } from '../pubsub/types.js';
import type { RoomRecord } from '../store/types.js';
import { requireViewer } from './auth.js';
import type { ChatContext } from './context.js';
import { accessibleRoom } from './rooms.js';
import * as input from './validation.js';

/** How long a typing signal lasts; clients show it until its expiresAt. */
export const TYPING_SECONDS = 5;

/** Users subscribed to a room's messages right now, on any instance (each once). */
export async function onlineMembers(ctx: ChatContext, args: { room: string }): Promise<PresentUser[]> {
  const viewer = requireViewer(ctx);
  const room = await accessibleRoom(ctx, viewer, input.roomRef(args.room));
  const users = await ctx.services.engine.signals.present(room.name);
  return users.sort((a, b) => a.username.localeCompare(b.username));
}

/** "I am typing in room": a signal to the room's typing subscribers, never stored, rate limited. */
export async function startTyping(ctx: ChatContext, args: { room: string }): Promise<boolean> {
  const viewer = requireViewer(ctx);
  const room = await accessibleRoom(ctx, viewer, input.roomRef(args.room));
  const wait = await ctx.services.limits.consumeTyping(viewer.id);
  if (wait > 0) throw rateLimited(wait);
  // a muted user's typing would only announce what they cannot send
  if (!input.dmMembers(room.name)) {
    const { mutedUntil } = await ctx.services.engine.moderation.standing(room.name, viewer.id);
    if (mutedUntil) throw chatError(ErrorCode.Forbidden, `You are muted in "${room.name}" until ${mutedUntil}.`, { until: mutedUntil });
  }
  const signal: RoomSignal = {
    type: 'typing',
    room: room.name,
    userId: viewer.id,
    username: viewer.username,
    expiresAt: new Date(ctx.services.now() + TYPING_SECONDS * 1000).toISOString(),
  };
  await ctx.services.engine.signals.publish(signal);
  return true;
}

/** Moves the viewer's read mark in a room forward to `id` (never backwards). */
export async function markRead(ctx: ChatContext, args: { room: string; id: string }): Promise<RoomRecord> {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(args.room);
  const id = input.cursor(args.id, 'id')!;
  const room = await accessibleRoom(ctx, viewer, name);
  const mark = await ctx.services.engine.reads.markRead(room.name, viewer.id, id);
  readMarksOf(ctx).clear(room.name).prime(room.name, mark);
  return room;
}

const loaders = new WeakMap<ChatContext, DataLoader<string, ReadMark>>();

/**
 * The viewer's read marks, batched per request: the rooms list asks for every room's unread
 * count in one round trip, not one per room.
 */
export function readMarksOf(ctx: ChatContext): DataLoader<string, ReadMark> {
  let loader = loaders.get(ctx);
  if (!loader) {
    const viewer = requireViewer(ctx);
    loader = new DataLoader(async (rooms) => {
      const marks = await ctx.services.engine.reads.readMarks(viewer.id, rooms);
      return rooms.map((r) => marks.get(r) ?? { lastReadId: null, unread: 0, mentions: 0 });
    });
    loaders.set(ctx, loader);
  }
  return loader;
}

export const readMark = (ctx: ChatContext, room: RoomRecord) => readMarksOf(ctx).load(room.name);
