import { LRUCache } from 'lru-cache';
import type { RedisClient } from './redis-client.js';
import type { RoomRecord } from './types.js';

/** How many room records an instance keeps at most. */
const MAX_ROOMS = 10_000;
/**
 * How long a record is trusted without asking Redis. Records never change and rooms are never
 * deleted, so this only bounds how long a Redis that lost its data behind the same connection (a
 * FLUSHALL) goes unnoticed; a restart is noticed at once (see below).
 */
const TTL_MS = 60_000;

/**
 * The room records this instance has read, so that a send or a read in a known room, or a page of
 * the public rooms, does not ask Redis for them again (one round trip less per message). Only rooms that exist are kept: one not
 * found may be created by another instance a moment later. Forgotten whenever the connection is
 * ready again: a Redis restarted without persistence lost its rooms, and the default rooms must
 * be made again on first use.
 */
export interface RoomRecords {
  get(name: string): RoomRecord | undefined;
  remember(room: RoomRecord): RoomRecord;
}

export function createRoomRecords(client: RedisClient): RoomRecords {
  const known = new LRUCache<string, RoomRecord>({ max: MAX_ROOMS, ttl: TTL_MS });
  client.on('ready', () => known.clear());
  return {
    get: (name) => known.get(name),
    remember: (room) => {
      known.set(room.name, room);
      return room;
    },
  };
}
