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
   * `message` for each payload; `down` when the subscription of some channels (all when unnamed)
   * may be lost (what is published meanwhile is lost to it); `up` when those channels can be
   * subscribed again: the registry subscribes anew, and fills their gaps.
   */
  listen(handlers: PubSubHandlers): () => void;
  close(): Promise<void>;
}

export interface PubSubHandlers {
  message(channel: string, payload: string): void;
  down(channels?: readonly string[]): void;
  up(channels?: readonly string[]): void;
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
      // a dropped connection forgets every channel; once ready again it is subscribed to none
      const lost = () => down();
      const back = () => up();
      subscriber.on('message', message);
      subscriber.on('close', lost);
      subscriber.on('ready', back);
      return () => {
        subscriber.off('message', message);
        subscriber.off('close', lost);
        subscriber.off('ready', back);
      };
    },
    close: () => quitClient(subscriber),
  };
}
