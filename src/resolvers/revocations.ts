/**
 * Live subscriptions that depend on a room membership, so that a member who leaves or is removed
 * (on any instance) stops receiving the room at once, not at their next subscribe.
 */
export interface Revocations {
  /** Calls `onRevoked` when `userId` loses access to `room`; the returned function stops watching. */
  watch(room: string, userId: string, onRevoked: () => void): () => void;
  /** Applies a `member-removed` control event (from any instance). */
  memberRemoved(room: string, userId: string): void;
}

export function createRevocations(): Revocations {
  const watchers = new Map<string, Set<() => void>>();
  const keyOf = (room: string, userId: string) => `${room}\n${userId}`;
  return {
    watch(room, userId, onRevoked) {
      const key = keyOf(room, userId);
      let set = watchers.get(key);
      if (!set) watchers.set(key, (set = new Set()));
      const entry = () => onRevoked();
      set.add(entry);
      return () => {
        set.delete(entry);
        if (set.size === 0 && watchers.get(key) === set) watchers.delete(key);
      };
    },
    memberRemoved(room, userId) {
      const set = watchers.get(keyOf(room, userId));
      if (!set) return;
      watchers.delete(keyOf(room, userId));
      for (const revoke of set) revoke();
    },
  };
}
