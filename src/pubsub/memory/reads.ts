import { parseId } from '../ids.js';
import type { ReadMark, ReadMarks } from '../types.js';
import { countAbove, unreadCount, unreadFrom } from '../unread.js';
import type { MemoryRooms, RoomState } from './rooms.js';

/** Read marks in memory, beside the rooms' logs (as the Redis reads hash sits beside the stream). */
export function createMemoryReads(rooms: MemoryRooms): ReadMarks {
  const readMark = (log: RoomState | undefined, userId: string): ReadMark => {
    const mark = log?.reads.get(userId);
    const total = log?.total ?? 0;
    const from = unreadFrom(total, mark?.n ?? 0, log ? rooms.historyFloor(log) : null, rooms.historyLimit);
    return {
      lastReadId: mark?.id ?? null,
      unread: unreadCount(total, from, log?.gone ?? [], rooms.historyLimit),
      mentions: countAbove(log?.mentions.get(userId) ?? [], from),
    };
  };
  return {
    async markRead(room, userId, id) {
      const log = rooms.ensure(room);
      // the newest message at or before the cursor
      let i = rooms.indexAfter(log, parseId(id)!) - 1;
      while (i >= 0 && log.numbers[i] === 0) i--;
      const candidate =
        i >= 0
          ? { id: log.entries[i]!.id, n: log.numbers[i]! }
          : // nothing retained at or before it: read up to where history starts
            { id, n: rooms.historyFloor(log) ?? log.total };
      const current = log.reads.get(userId);
      if (!current || candidate.n > current.n) log.reads.set(userId, candidate);
      // mentions at or before the mark are read: forgotten, as the Redis script does
      const markN = log.reads.get(userId)!.n;
      const rest = (log.mentions.get(userId) ?? []).filter((n) => n > markN);
      if (rest.length) log.mentions.set(userId, rest);
      else log.mentions.delete(userId);
      return readMark(log, userId);
    },
    async readMarks(userId, names) {
      return new Map(names.map((room) => [room, readMark(rooms.find(room), userId)]));
    },
  };
}
