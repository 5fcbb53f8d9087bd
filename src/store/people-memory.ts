import { byUsername, MAX_BLOCKS, type Person, type RoomRoster, type UserBlocks } from './people.js';

/** Rosters and blocks in one process. */
export function createMemoryPeople(): RoomRoster & UserBlocks {
  const rosters = new Map<string, Map<string, string>>();
  const blocks = new Map<string, Map<string, string>>();
  const of = <K, V>(map: Map<K, Map<string, V>>, key: K) => {
    let inner = map.get(key);
    if (!inner) map.set(key, (inner = new Map()));
    return inner;
  };
  const people = (entries: Iterable<[string, string]>): Person[] => [...entries].map(([id, username]) => ({ id, username })).sort(byUsername);
  return {
    async addToRoster(room, user) {
      of(rosters, room).set(user.id, user.username);
    },
    async removeFromRoster(room, user) {
      rosters.get(room)?.delete(user.id);
    },
    async roster(room, { after, limit }) {
      return people(rosters.get(room) ?? [])
        .filter((p) => after === undefined || p.username > after)
        .slice(0, limit);
    },
    async block(blockerId, blocked) {
      const list = of(blocks, blockerId);
      if (!list.has(blocked.id) && list.size >= MAX_BLOCKS) return false;
      list.set(blocked.id, blocked.username);
      return true;
    },
    async unblock(blockerId, blockedId) {
      return blocks.get(blockerId)?.delete(blockedId) ?? false;
    },
    async blockedBy(blockedId, userIds) {
      return new Set(userIds.filter((id) => blocks.get(id)?.has(blockedId)));
    },
    async blocked(blockerId) {
      return people(blocks.get(blockerId) ?? []);
    },
  };
}
