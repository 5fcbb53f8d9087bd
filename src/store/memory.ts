import { createMemoryPeople } from './people-memory.js';
import { byName, type RefreshTokenRecord, type RoomPage, type RoomRecord, type RotateResult, type Store, type UserRecord } from './types.js';

interface MemoryRefresh extends RefreshTokenRecord {
  used: boolean;
}

/** One page of `rooms` in name order. */
function pageOf(rooms: RoomRecord[], { after, limit }: RoomPage): RoomRecord[] {
  return rooms.filter((r) => after === undefined || r.name > after).sort(byName).slice(0, limit);
}

/** The embedded store: one process, nothing kept across restarts. */
export function createMemoryStore(now: () => number = Date.now): Store {
  const users = new Map<string, UserRecord>();
  const rooms = new Map<string, RoomRecord>();
  const members = new Map<string, Set<string>>();
  const userRooms = new Map<string, Set<string>>();
  const tokens = new Map<string, MemoryRefresh>();
  const families = new Map<string, { userId: string; expiresAt: number }>();

  const addMember = (room: string, userId: string) => {
    let m = members.get(room);
    if (!m) members.set(room, (m = new Set()));
    m.add(userId);
    let r = userRooms.get(userId);
    if (!r) userRooms.set(userId, (r = new Set()));
    r.add(room);
  };
  const liveFamily = (familyId: string) => {
    const f = families.get(familyId);
    if (f && f.expiresAt <= now()) families.delete(familyId);
    return f && f.expiresAt > now() ? f : undefined;
  };
  let logins = 0;
  // expired tokens would otherwise stay forever: sweep now and then, amortised over logins
  const sweep = () => {
    const t = now();
    for (const [id, token] of tokens) if (token.expiresAt <= t || !liveFamily(token.familyId)) tokens.delete(id);
  };
  const deleteFamily = (familyId: string) => {
    families.delete(familyId);
    for (const [id, t] of tokens) if (t.familyId === familyId) tokens.delete(id);
  };

  return {
    ...createMemoryPeople(),
    async createUser(user) {
      if (users.has(user.username)) return false;
      users.set(user.username, user);
      return true;
    },
    async findUser(username) {
      return users.get(username) ?? null;
    },
    async createRoom(room, memberIds) {
      if (rooms.has(room.name)) return false;
      rooms.set(room.name, room);
      for (const id of memberIds) addMember(room.name, id);
      return true;
    },
    async ensureRoom(room, memberIds) {
      const existing = rooms.get(room.name);
      if (existing) return existing;
      rooms.set(room.name, room);
      for (const id of memberIds) addMember(room.name, id);
      return room;
    },
    async findRoom(name) {
      return rooms.get(name) ?? null;
    },
    async addMember(room, userId) {
      addMember(room, userId);
    },
    async removeMember(room, userId) {
      members.get(room)?.delete(userId);
      userRooms.get(userId)?.delete(room);
    },
    async isMember(room, userId) {
      return members.get(room)?.has(userId) ?? false;
    },
    async publicRooms(page) {
      return pageOf([...rooms.values()].filter((r) => !r.private), page);
    },
    async roomsOf(userId, page) {
      return pageOf([...(userRooms.get(userId) ?? [])].flatMap((n) => rooms.get(n) ?? []), page);
    },
    async createFamily(token, ttlSeconds) {
      if (++logins % 1000 === 0) sweep();
      families.set(token.familyId, { userId: token.userId, expiresAt: now() + ttlSeconds * 1000 });
      tokens.set(token.id, { ...token, used: false });
    },
    async rotate({ id, familyId }, secretHash, next, ttlSeconds): Promise<RotateResult> {
      const t = tokens.get(id);
      if (!t || (familyId !== null && t.familyId !== familyId)) return { status: 'invalid' };
      if (t.secretHash !== secretHash || t.expiresAt <= now() || !liveFamily(t.familyId)) return { status: 'invalid' };
      if (t.used) {
        deleteFamily(t.familyId);
        return { status: 'reused', familyId: t.familyId };
      }
      t.used = true;
      tokens.set(next.id, { ...next, familyId: t.familyId, userId: t.userId, username: t.username, used: false });
      families.set(t.familyId, { userId: t.userId, expiresAt: now() + ttlSeconds * 1000 });
      return { status: 'rotated', userId: t.userId, username: t.username, familyId: t.familyId };
    },
    async revokeFamilyOf({ id, familyId }, secretHash) {
      const t = tokens.get(id);
      if (!t || (familyId !== null && t.familyId !== familyId)) return null;
      if (t.secretHash !== secretHash || !liveFamily(t.familyId)) return null;
      deleteFamily(t.familyId);
      return { familyId: t.familyId, userId: t.userId };
    },
    async isLoginLive(familyId) {
      return liveFamily(familyId) !== undefined;
    },
    async ping() {
      return true;
    },
    async close() {},
  };
}
