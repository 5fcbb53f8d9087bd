import { BackendUnavailableError } from '../../errors.js';
import { WriteRefused, type ModerationEntry, type ModerationState, type RoomModeration, type Topic, type LogEntry, type UserRef } from '../types.js';
import type { MemoryRooms, RoomState } from './rooms.js';

/** As the Redis write scripts check it: a banned or muted author's write is refused in the write's own step. */
export function refusedWrite(log: RoomState, userId: string, now: number): WriteRefused | null {
  if (log.bans.has(userId)) return new WriteRefused('banned');
  const mute = log.mutes.get(userId);
  if (mute && mute.until > now) return new WriteRefused('muted', new Date(mute.until).toISOString());
  if (mute) log.mutes.delete(userId);
  return null;
}

const byUsername = (a: UserRef, b: UserRef) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0);

/** Roles, bans and mutes in memory, beside each room's log, each change an entry of the log (as src/pubsub/redis/moderation.ts). */
export function createMemoryModeration(rooms: MemoryRooms, publish: (topic: Topic, entry: LogEntry) => void): RoomModeration {
  return {
    async apply(room, draft, opts = {}) {
      if (opts.deadline !== undefined && rooms.now() > opts.deadline) throw new BackendUnavailableError('moderation refused: it arrived after its deadline');
      const log = rooms.ensure(room);
      const out: ModerationEntry[] = [];
      const entry = (action: ModerationEntry['action'], target: UserRef, extra: Partial<Pick<ModerationEntry, 'until' | 'role'>> = {}) => {
        const e = rooms.append(log, 0, (id, createdAt): ModerationEntry => ({
          kind: 'moderation',
          id,
          room,
          action,
          targetId: target.id,
          targetName: target.username,
          authorId: draft.actor.id,
          authorName: draft.actor.username,
          createdAt,
          ...extra,
        }));
        publish({ kind: 'room', room }, e);
        out.push(e);
      };
      const now = rooms.now();
      switch (draft.action) {
        case 'ban':
          if (!log.bans.has(draft.target.id)) {
            log.bans.set(draft.target.id, { username: draft.target.username, byId: draft.actor.id, byName: draft.actor.username, at: now });
            log.mutes.delete(draft.target.id);
            log.moderators.delete(draft.target.id);
            entry('banned', draft.target);
          }
          break;
        case 'remove':
          entry('removed', draft.target);
          break;
        case 'unban':
          if (log.bans.delete(draft.target.id)) entry('unbanned', draft.target);
          break;
        case 'unmute': {
          const mute = log.mutes.get(draft.target.id);
          log.mutes.delete(draft.target.id);
          if (mute && mute.until > now) entry('unmuted', draft.target);
          break;
        }
        case 'mute':
          log.mutes.set(draft.target.id, { username: draft.target.username, byId: draft.actor.id, byName: draft.actor.username, until: Math.floor(draft.until) });
          entry('muted', draft.target, { until: new Date(Math.floor(draft.until)).toISOString() });
          break;
        case 'role':
          for (const { target, role } of draft.changes) {
            if (role === 'owner' && log.owner?.id !== target.id) {
              log.owner = { id: target.id, username: target.username };
              log.moderators.delete(target.id);
            } else if (role === 'moderator' && !log.moderators.has(target.id)) log.moderators.set(target.id, target.username);
            else if (!(role === 'member' && log.moderators.delete(target.id))) continue;
            entry('role', target, { role });
          }
      }
      return out;
    },

    async standing(room, userId) {
      const log = rooms.find(room);
      const mute = log?.mutes.get(userId);
      return {
        role: log?.owner?.id === userId ? 'owner' : log?.moderators.has(userId) ? 'moderator' : null,
        ownerId: log?.owner?.id ?? null,
        banned: log?.bans.has(userId) ?? false,
        mutedUntil: mute && mute.until > rooms.now() ? new Date(mute.until).toISOString() : null,
      };
    },

    async bannedFrom(userId, names) {
      return new Set(names.filter((room) => rooms.find(room)?.bans.has(userId)));
    },

    async state(room): Promise<ModerationState> {
      const log = rooms.find(room);
      if (!log) return { owner: null, moderators: [], bans: [], mutes: [] };
      const now = rooms.now();
      return {
        owner: log.owner,
        moderators: [...log.moderators].map(([id, username]) => ({ id, username })).sort(byUsername),
        bans: [...log.bans].map(([id, b]) => ({ id, username: b.username, byId: b.byId, byName: b.byName, at: new Date(b.at).toISOString() })).sort(byUsername),
        mutes: [...log.mutes]
          .filter(([, m]) => m.until > now)
          .map(([id, m]) => ({ id, username: m.username, byId: m.byId, byName: m.byName, until: new Date(m.until).toISOString() }))
          .sort(byUsername),
      };
    },
  };
}
