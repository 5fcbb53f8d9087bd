import type { Viewer } from '../auth/tokens.js';
import { rateLimited } from '../errors.js';
import type { UserRef } from '../pubsub/types.js';
import type { RoomRecord } from '../store/types.js';
import type { ChatContext } from './context.js';
import * as input from './validation.js';

/** `@name` at the start or after a character that cannot end a word or an address (so not `a@b.com`). */
const MENTION = /(?<![\p{L}\p{N}_@.])@([A-Za-z0-9_]{3,32})(?![A-Za-z0-9_])/gu;

/** The distinct usernames a text mentions, lower-cased, in order of first mention. */
export function mentionedNames(text: string): string[] {
  return [...new Set([...text.matchAll(MENTION)].map((m) => m[1]!.toLowerCase()))];
}

/**
 * The users a text mentions, resolved to those who can see the room (its members when it is
 * private, anyone not banned when it is public): `mentions`, stored with the message. Of them,
 * `notify` are counted (Room.mentionCount) and told (the `mentioned` subscription): not the author,
 * not those who blocked the author. At most MENTIONS_PER_MESSAGE names are looked up; an @name that
 * names no user costs the author one point of MESSAGE_RATE_LIMIT (as every unknown username does).
 */
export async function resolveMentions(ctx: ChatContext, viewer: Viewer, room: RoomRecord, text: string): Promise<{ mentions: UserRef[]; notify: string[] }> {
  const { store, engine, limits, settings } = ctx.services;
  const names = mentionedNames(text).slice(0, settings.mentionsPerMessage ?? 20);
  if (names.length === 0) return { mentions: [], notify: [] };
  const dm = input.dmMembers(room.name);
  const found = await Promise.all(
    names.map(async (name) => {
      if (dm && !dm.includes(name)) return null;
      const user = await store.findUser(name);
      if (!user) return 'unknown' as const;
      const [member, banned] = await Promise.all([
        room.private && !dm ? store.isMember(room.name, user.id) : true,
        dm ? new Set<string>() : engine.moderation.bannedFrom(user.id, [room.name]),
      ]);
      return member && banned.size === 0 ? { id: user.id, username: user.username } : null;
    }),
  );
  for (const _ of found.filter((f) => f === 'unknown')) {
    const wait = await limits.consumeMessage(viewer.id);
    if (wait > 0) throw rateLimited(wait);
  }
  const mentions = found.filter((f): f is UserRef => f !== null && f !== 'unknown');
  const others = mentions.filter((m) => m.id !== viewer.id).map((m) => m.id);
  const blocking = others.length ? await store.blockedBy(viewer.id, others) : new Set<string>();
  return { mentions, notify: others.filter((id) => !blocking.has(id)) };
}
