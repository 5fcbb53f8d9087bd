import type { Cluster } from 'ioredis';
import type { PubSubConnection } from '../redis/connection.js';

/** Quiet time after the last sign of trouble before subscribing again: a failover or slot move comes as a burst of events. */
const SETTLE_MS = 50;

/**
 * How long one SSUBSCRIBE may wait for its confirmation before it is tried again. ioredis never
 * settles an SSUBSCRIBE answered with MOVED (sent on a stale slot map) but refreshes the map: the
 * retry goes to the right master.
 */
const CONFIRM_MS = 1000;

/** Calls `send` and turns a synchronous throw (ioredis throws while it has no slot map yet) into a rejection. */
function attempt(send: () => Promise<unknown>): Promise<unknown> {
  try {
    return send();
  } catch (err) {
    return Promise.reject(err);
  }
}

/** `reply`, or a rejection after CONFIRM_MS. */
async function confirmed(reply: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      reply,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`SSUBSCRIBE not confirmed within ${CONFIRM_MS} ms`)), CONFIRM_MS);
      }),
    ]);
  } finally {
    // a reply that loses the race settles later: race has handled it
    clearTimeout(timer);
  }
}

/**
 * Sharded pub/sub (SSUBSCRIBE, 'smessage') through ioredis' Cluster client, adapted to the surface
 * the channel registry (src/pubsub/redis/channels.ts) uses, which confirms subscriptions and fills
 * gaps. ioredis routes each SSUBSCRIBE to a subscriber connection on the master of the channel's
 * slot and resubscribes after it notices a topology change, but it confirms none of that, and it
 * misreads what Redis pushes when a slot leaves a node (an unsolicited `sunsubscribe`: the
 * subscription is gone, and ioredis reports a "Command queue state error" or mistakes it for the
 * reply to a pending command). So every sign that a subscription may be lost counts as trouble:
 *
 * - `-node`: a connection to a node ended (a master killed, a node left the slot map);
 * - `nodeError`: a sharded subscriber failed, including the misread push of a slot moved away
 *   (by a CLUSTER FAILOVER that demoted the master, or a slot migration);
 * - `+subscriber` / `-subscriber`: ioredis' periodic slot refresh found another master for some
 *   slots and replaced subscribers;
 * - `close`, then `ready`: the whole cluster client reconnected.
 *
 * On trouble every channel is reported down at once (its live payloads are held), and once the
 * events have settled, up: the registry subscribes each channel again and waits for Redis to
 * confirm it (a channel on a shard still failing over retries on its own, the others go on), then
 * fills its gap from its log. A confirmation ioredis mistook (a pushed `sunsubscribe` taken as the
 * reply) is followed by the reply it displaced, which ioredis reports as a `nodeError`: trouble
 * again, so that channel is confirmed anew.
 */
export function shardedPubSub(cluster: Cluster): PubSubConnection {
  /** Channels handed to ioredis' ssubscribe since their last sunsubscribe: it lists each call, so a repeat goes after an sunsubscribe. */
  const asked = new Set<string>();
  return {
    get ready() {
      return cluster.status === 'ready';
    },

    async subscribe(channels) {
      await Promise.all(
        channels.map((channel) => {
          if (asked.has(channel)) void attempt(() => cluster.sunsubscribe(channel)).catch(() => {});
          asked.add(channel);
          return confirmed(attempt(() => cluster.ssubscribe(channel)));
        }),
      );
    },

    unsubscribe(channels) {
      for (const channel of channels) {
        asked.delete(channel);
        if (cluster.status === 'ready') void attempt(() => cluster.sunsubscribe(channel)).catch(() => {});
      }
    },

    listen({ message, down, up }) {
      let timer: NodeJS.Timeout | undefined;
      const trouble = () => {
        down();
        clearTimeout(timer);
        timer = setTimeout(() => {
          timer = undefined;
          if (cluster.status === 'ready') up();
        }, SETTLE_MS);
      };
      const lost = () => {
        clearTimeout(timer);
        down();
      };
      const events = ['-node', 'nodeError', '+subscriber', '-subscriber', 'ready'] as const;
      cluster.on('smessage', message);
      cluster.on('close', lost);
      for (const e of events) cluster.on(e, trouble);
      return () => {
        clearTimeout(timer);
        cluster.off('smessage', message);
        cluster.off('close', lost);
        for (const e of events) cluster.off(e, trouble);
      };
    },

    // the cluster client carries the engine's commands too: the engine quits it
    async close() {
      asked.clear();
    },
  };
}
