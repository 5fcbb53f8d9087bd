import { badInput, rateLimited } from '../errors.js';
import { MAX_BLOCKS, type Person } from '../store/people.js';
import { requireViewer } from './auth.js';
import type { ChatContext } from './context.js';
import { existingUser } from './rooms.js';
import * as input from './validation.js';

/**
 * Blocking: a user the viewer blocked cannot start a direct conversation with them nor send into
 * one (FORBIDDEN), and their mentions of the viewer are neither counted nor told. Throttled
 * (BLOCK_RATE_LIMIT), at most MAX_BLOCKS per user.
 */
export async function blockUser(ctx: ChatContext, args: { username: string }): Promise<boolean> {
  const { viewer, user } = await blocking(ctx, args);
  if (!(await ctx.services.store.block(viewer.id, { id: user.id, username: user.username }))) {
    throw badInput(`You can block at most ${MAX_BLOCKS} users: unblock someone first.`, 'username');
  }
  return true;
}

/** True when there was a block to lift. */
export async function unblockUser(ctx: ChatContext, args: { username: string }): Promise<boolean> {
  const { viewer, user } = await blocking(ctx, args);
  return ctx.services.store.unblock(viewer.id, user.id);
}

export async function blockedUsers(ctx: ChatContext): Promise<Person[]> {
  return ctx.services.store.blocked(requireViewer(ctx).id);
}

async function blocking(ctx: ChatContext, args: { username: string }) {
  const viewer = requireViewer(ctx);
  const username = input.username(args.username);
  if (username === viewer.username) throw badInput('You cannot block yourself.', 'username');
  const wait = await ctx.services.limits.consumeBlock(viewer.id);
  if (wait > 0) throw rateLimited(wait);
  return { viewer, user: await existingUser(ctx, viewer, username) };
}
