import { createKeyedListeners } from '../listeners.js';
import type { RoomSignal, RoomSignals } from '../types.js';

/** Room signals and presence in one process: a user is present while any of its subscriptions is. */
export function createMemorySignals(): RoomSignals {
  const listeners = createKeyedListeners<RoomSignal>();
  /** room -> user id -> how many of this user's subscriptions are in the room */
  const presence = new Map<string, Map<string, { username: string; count: number }>>();
  return {
    async publish(signal) {
      listeners.emit(signal.room, signal);
    },
    async subscribe(room, listener) {
      const remove = listeners.add(room, listener);
      return {
        async unsubscribe() {
          remove();
        },
      };
    },
    async enterPresence(room, user) {
      let users = presence.get(room);
      if (!users) presence.set(room, (users = new Map()));
      const here = users.get(user.id);
      if (here) here.count++;
      else {
        users.set(user.id, { username: user.username, count: 1 });
        listeners.emit(room, { type: 'presence', room, userId: user.id, username: user.username, online: true });
      }
      let left = false;
      return {
        async leave() {
          if (left) return;
          left = true;
          const entry = presence.get(room)?.get(user.id);
          if (!entry || --entry.count > 0) return;
          presence.get(room)!.delete(user.id);
          if (presence.get(room)!.size === 0) presence.delete(room);
          listeners.emit(room, { type: 'presence', room, userId: user.id, username: user.username, online: false });
        },
      };
    },
    async present(room) {
      return [...(presence.get(room) ?? [])].map(([id, { username }]) => ({ id, username }));
    },
  };
}
