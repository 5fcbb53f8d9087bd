import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { Redis } from 'ioredis';
import { BackendUnavailableError } from '../../errors.js';
import { quitClient, toBackendError, waitUntilReady } from '../../store/redis-client.js';
import type { SignalSubscriber } from './signals.js';

/** How long a SUBSCRIBE may take when the client has no command timeout. */
const DEFAULT_WAIT_MS = 2000;

/**
 * Signal channels (typing, presence changes) through graphql-redis-subscriptions' RedisPubSub, used
 * through its public API only, on a connection of its own. Signals are at-most-once: they need
 * neither a confirmed resubscription after a reconnect nor a gap filled, so ioredis'
 * autoResubscribe is enough. The connection keeps its offline queue and never gives up on a
 * command (no command timeout, no retry limit), for RedisPubSub sends UNSUBSCRIBE without handling
 * its failure: a failed one would be an unhandled rejection. Besides, an unsubscribe while the
 * connection is down is kept until it is ready again (the listener stops at once), a SUBSCRIBE is
 * only sent while it is ready, and the wait for it is bounded by the command timeout.
 */
export function pubSubSignals(client: Redis, onError?: (err: Error) => void): SignalSubscriber {
  const connection = client.duplicate({
    connectionName: `${client.options.connectionName ?? 'chat'}-signals`,
    enableOfflineQueue: true,
    autoResubscribe: true,
    autoResendUnfulfilledCommands: true,
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
  });
  connection.on('error', (err: Error) => onError?.(err));
  // the publisher is never used: signals are published by the engine's fail-fast client
  const pubsub = new RedisPubSub({ publisher: client, subscriber: connection });
  const waitMs = client.options.commandTimeout ?? DEFAULT_WAIT_MS;
  /** Unsubscribes asked for while the connection was down: sent once it is ready. */
  const deferred = new Set<number>();
  let closed = false;

  const release = (id: number) => {
    if (connection.status === 'ready') pubsub.unsubscribe(id);
    else deferred.add(id);
  };
  const flush = () => {
    for (const id of deferred) pubsub.unsubscribe(id);
    deferred.clear();
  };
  connection.on('ready', flush);

  return {
    async subscribe(channel, listener) {
      if (closed) throw new BackendUnavailableError('the engine is closed');
      // its first connection may still be on its way; after that, not ready means an outage
      if (connection.status === 'connecting' || connection.status === 'connect') await waitUntilReady(connection, waitMs).catch(() => {});
      if (connection.status !== 'ready') throw new BackendUnavailableError('Redis signal connection is not ready');
      let active = true;
      const subscribing = pubsub.subscribe<unknown>(channel, (payload) => {
        if (active) listener(payload);
      });
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new BackendUnavailableError(`Redis did not confirm SUBSCRIBE within ${waitMs} ms`)), waitMs);
      });
      try {
        const id = await Promise.race([subscribing, late]);
        let done = false;
        return {
          async unsubscribe() {
            if (done) return;
            done = true;
            active = false;
            release(id);
          },
        };
      } catch (err) {
        active = false;
        // a SUBSCRIBE that timed out may still be carried out: take it back then
        subscribing.then(release, () => {});
        throw toBackendError(err, 'subscribe');
      } finally {
        clearTimeout(timer);
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      connection.off('ready', flush);
      deferred.clear();
      // RedisPubSub#close would quit the engine's client too (its publisher)
      await quitClient(connection);
    },
  };
}
