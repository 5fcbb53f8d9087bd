import { isLogEntry, isMessage } from '../payloads.js';
import type { LiveDelivery, LogEntry, StoredMessage } from '../types.js';
import type { ChannelSource, Channels } from './channels.js';
import { roomKeys, userKeys } from './keys.js';
import type { RedisLog } from './log.js';

export interface RedisDeliveryOptions {
  readonly channels: Channels;
  readonly log: RedisLog;
  readonly keyPrefix: string;
}

/**
 * Live delivery: a room's channel carries its log entries as the append and change scripts publish
 * them, backed by the room's log (gaps are filled, see channels.ts); a user's channel carries the
 * direct messages sent to them.
 */
export function createRedisDelivery({ channels, log, keyPrefix: p }: RedisDeliveryOptions): LiveDelivery {
  const roomSource = (room: string): ChannelSource<LogEntry> => ({
    decode: (e) => (isLogEntry(e) && e.room === room ? { cursor: e.id, value: e } : null),
    log: {
      head: () => log.head(room),
      after: async (cursor, limit) => (await log.after(room, cursor, limit)).map((e) => ({ cursor: e.id, value: e })),
    },
  });
  const userSource: ChannelSource<StoredMessage> = {
    decode: (m) => (isMessage(m) ? { cursor: null, value: m } : null),
  };
  return {
    async subscribe(topic, listener) {
      if (topic.kind === 'room') return channels.subscribe(roomKeys(p, topic.room).channel, roomSource(topic.room), listener);
      const { unsubscribe } = await channels.subscribe(userKeys(p, topic.userId).channel, userSource, listener);
      return { unsubscribe };
    },
  };
}
