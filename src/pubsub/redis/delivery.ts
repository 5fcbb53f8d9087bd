import { isLogEntry, isMessage } from '../payloads.js';
import type { LiveDelivery, LogEntry, StoredMessage } from '../types.js';
import type { ChannelSource, Channels, Delivered } from './channels.js';
import type { RedisInbox } from './inbox.js';
import { roomKeys, userKeys } from './keys.js';
import type { RedisLog } from './log.js';

export interface RedisDeliveryOptions {
  readonly channels: Channels;
  readonly log: RedisLog;
  readonly inbox: RedisInbox;
  readonly keyPrefix: string;
}

/** A user channel's payload: `{c, m}` from the notify script; a bare message from an instance of an earlier version (no inbox id). */
function decodeDirect(payload: unknown): Delivered<StoredMessage> | null {
  if (isMessage(payload)) return { cursor: null, value: payload };
  const p = payload as { c?: unknown; m?: unknown } | null;
  return typeof p?.c === 'string' && isMessage(p.m) ? { cursor: p.c, value: p.m } : null;
}

/**
 * Live delivery. A room's channel carries its log entries as the append and change scripts publish
 * them, backed by the room's log; a user's channel carries the direct messages sent to them, backed
 * by their inbox. Both fill their gaps after a reconnect (channels.ts), showing each message in its
 * current state: one deleted meanwhile is not delivered.
 */
export function createRedisDelivery({ channels, log, inbox, keyPrefix: p }: RedisDeliveryOptions): LiveDelivery {
  const roomSource = (room: string): ChannelSource<LogEntry> => ({
    decode: (e) => (isLogEntry(e) && e.room === room ? { cursor: e.id, value: e } : null),
    log: {
      head: () => log.head(room),
      after: async (cursor, limit) => (await log.after(room, cursor, limit)).map((e) => ({ cursor: e.id, value: e })),
    },
  });
  const userSource = (userId: string): ChannelSource<StoredMessage> => ({
    decode: decodeDirect,
    log: {
      head: () => inbox.head(userId),
      async after(cursor, limit) {
        const refs = await inbox.after(userId, cursor, limit);
        const messages = await Promise.all(refs.map((r) => log.find(r.room, r.id)));
        return refs.map((r, i) => ({ cursor: r.cursor, value: messages[i] ?? null }));
      },
    },
  });
  return {
    async subscribe(topic, listener) {
      if (topic.kind === 'room') return channels.subscribe(roomKeys(p, topic.room).channel, roomSource(topic.room), listener);
      const { unsubscribe } = await channels.subscribe(userKeys(p, topic.userId).channel, userSource(topic.userId), listener);
      return { unsubscribe };
    },
  };
}
