/**
 * Live subscriptions that depend on a room membership or on a login, so that a member who leaves
 * or is removed, or a login that is revoked (on any instance), stops receiving at once, not at
 * the next subscribe or when the access token expires.
 */
export interface Revocations {
  /** Calls `onRevoked` when `userId` loses access to `room`; the returned function stops watching. */
  watch(room: string, userId: string, onRevoked: () => void): () => void;
  /** Applies a `member-removed` control event (from any instance). */
  memberRemoved(room: string, userId: string): void;
  /** Calls `onRevoked` when the login (refresh-token family) is revoked; the returned function stops watching. */
  watchLogin(familyId: string, onRevoked: () => void): () => void;
  /** Applies a `login-revoked` control event (from any instance). */
  loginRevoked(familyId: string): void;
}

export function createRevocations(): Revocations {
  const watchers = new Map<string, Set<() => void>>();
  const add = (key: string, onRevoked: () => void) => {
    let set = watchers.get(key);
    if (!set) watchers.set(key, (set = new Set()));
    const entry = () => onRevoked();
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && watchers.get(key) === set) watchers.delete(key);
    };
  };
  const revoke = (key: string) => {
    const set = watchers.get(key);
    if (!set) return;
    watchers.delete(key);
    for (const revoked of set) revoked();
  };
  const membership = (room: string, userId: string) => `room\n${room}\n${userId}`;
  const login = (familyId: string) => `login\n${familyId}`;
  return {
    watch: (room, userId, onRevoked) => add(membership(room, userId), onRevoked),
    memberRemoved: (room, userId) => revoke(membership(room, userId)),
    watchLogin: (familyId, onRevoked) => add(login(familyId), onRevoked),
    loginRevoked: (familyId) => revoke(login(familyId)),
  };
}
