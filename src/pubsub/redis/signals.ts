import { guarded, type RedisClient } from '../../store/redis-client.js';
import { isRoomSignal } from '../payloads.js';
import type { RoomSignal, RoomSignals, Subscription } from '../types.js';
import type { Channels } from './channels.js';
import { roomKeys } from './keys.js';
import { createRedisPresence } from './presence.js';

/** How signal channels are subscribed: at-most-once, no confirmation after a reconnect, no gap to fill. */
export interface SignalSubscriber {
  /** Parsed payloads of a channel; resolves once Redis has confirmed the subscription. */
  subscribe(channel: string, listener: (payload: unknown) => void): Promise<Subscription>;
  close(): Promise<void>;
}

/** Signal channels through the engine's own subscriber (the cluster engine: sharded pub/sub). */
export function registrySignals(channels: Channels): SignalSubscriber {
  return {
    subscribe: (channel, listener) => channels.subscribe<unknown>(channel, { decode: (value) => ({ cursor: null, value }) }, listener),
    async close() {},
  };
}

export interface RedisSignalsOptions {
  readonly client: RedisClient;
  readonly subscriber: SignalSubscriber;
  readonly keyPrefix: string;
  readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  /** Seconds a crashed instance's users stay present. */
  readonly presenceTtl: number;
}

/** Typing and presence signals on each room's signal channel (at-most-once, no log), and presence in Redis. */
export function createRedisSignals(options: RedisSignalsOptions): RoomSignals & { close(): Promise<void> } {
  const { client, subscriber, keyPrefix: p, publishCommand } = options;
  const presence = createRedisPresence({ client, keyPrefix: p, publishCommand, ttl: options.presenceTtl });
  return {
    async publish(signal) {
      await guarded('signal', () => client.call(publishCommand, roomKeys(p, signal.room).signals, JSON.stringify(signal)));
    },
    subscribe(room, listener) {
      return subscriber.subscribe(roomKeys(p, room).signals, (s) => {
        if (isRoomSignal(s) && s.room === room) listener(s satisfies RoomSignal);
      });
    },
    enterPresence: presence.enter,
    present: presence.present,
    async close() {
      await presence.close();
      await subscriber.close();
    },
  };
}
