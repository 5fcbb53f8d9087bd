import type { Redis } from 'ioredis';
import { quitClient } from '../../store/redis-client.js';

/**
 * One subscribed connection as the channel registry (channels.ts) needs it. This file adapts a
 * classic ioredis connection (SUBSCRIBE, 'message'); a cluster engine adapts sharded pub/sub
 * (SSUBSCRIBE, 'smessage') to the same surface and keeps the registry's gap filling.
 */
export interface PubSubConnection {
  /** True while SUBSCRIBE can be sent. */
  readonly ready: boolean;
  /** Subscribes; resolves once Redis has confirmed every channel. */
  subscribe(channels: readonly string[]): Promise<void>;
  /** Unsubscribes, without waiting; failures are ignored (a dropped connection forgets its channels anyway). */
  unsubscribe(channels: readonly string[]): void;
  /**
   * `message` for each payload; `down` when the connection drops (what is published meanwhile is
   * lost to it); `up` when it is ready again, subscribed to nothing: the registry subscribes anew.
   */
  listen(handlers: { message(channel: string, payload: string): void; down(): void; up(): void }): () => void;
  close(): Promise<void>;
}

/**
 * A classic pub/sub connection. It should be made without ioredis autoResubscribe
 * (createRedisClient does so): the registry resubscribes itself and waits for the confirmation,
 * which autoResubscribe neither reports nor handles when it fails.
 */
export function classicPubSub(subscriber: Redis): PubSubConnection {
  return {
    get ready() {
      return subscriber.status === 'ready';
    },
    async subscribe(channels) {
      await subscriber.subscribe(...channels);
    },
    unsubscribe(channels) {
      if (channels.length > 0 && subscriber.status === 'ready') subscriber.unsubscribe(...channels).catch(() => {});
    },
    listen({ message, down, up }) {
      subscriber.on('message', message);
      subscriber.on('close', down);
      subscriber.on('ready', up);
      return () => {
        subscriber.off('message', message);
        subscriber.off('close', down);
        subscriber.off('ready', up);
      };
    },
    close: () => quitClient(subscriber),
  };
}
