import type { Redis } from 'ioredis';
import { guarded } from '../../store/redis-client.js';
import { isRoomSignal } from '../payloads.js';
import type { RoomSignal, RoomSignals } from '../types.js';
import type { Channels } from './channels.js';
import { roomKeys } from './keys.js';
import { createRedisPresence } from './presence.js';

export interface RedisSignalsOptions {
  readonly client: Redis;
  readonly channels: Channels;
  readonly keyPrefix: string;
  readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  /** Seconds a crashed instance's users stay present. */
  readonly presenceTtl: number;
}

/** Typing and presence signals on each room's signal channel (at-most-once, no log), and presence in Redis. */
export function createRedisSignals(options: RedisSignalsOptions): RoomSignals & { close(): Promise<void> } {
  const { client, channels, keyPrefix: p, publishCommand } = options;
  const presence = createRedisPresence({ client, keyPrefix: p, publishCommand, ttl: options.presenceTtl });
  return {
    async publish(signal) {
      await guarded('signal', () => client.call(publishCommand, roomKeys(p, signal.room).signals, JSON.stringify(signal)));
    },
    subscribe(room, listener) {
      return channels.subscribe<RoomSignal>(
        roomKeys(p, room).signals,
        { decode: (s) => (isRoomSignal(s) && s.room === room ? { cursor: null, value: s } : null) },
        listener,
      );
    },
    enterPresence: presence.enter,
    present: presence.present,
    close: presence.close,
  };
}
