import type { Redis } from 'ioredis';
import { guarded } from '../../store/redis-client.js';
import { isControlEvent } from '../payloads.js';
import type { ControlBus, ControlEvent } from '../types.js';
import type { Channels } from './channels.js';
import { controlKeys } from './keys.js';

export interface RedisControlOptions {
  readonly client: Redis;
  readonly channels: Channels;
  readonly keyPrefix: string;
}

/** Control events between instances on one classic channel. */
export function createRedisControl({ client, channels, keyPrefix }: RedisControlOptions): ControlBus {
  const k = controlKeys(keyPrefix);
  return {
    async publish(event) {
      await guarded('broadcast', () => client.publish(k.channel, JSON.stringify(event)));
    },
    subscribe(listener) {
      return channels.subscribe<ControlEvent>(k.channel, { decode: (e) => (isControlEvent(e) ? { cursor: null, value: e } : null) }, listener);
    },
  };
}
