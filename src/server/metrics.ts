import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ChatHooks } from '../resolvers/context.js';

/** Prometheus metrics of one server, in its own registry (several servers may share a process in tests). */
export interface ChatMetrics {
  readonly registry: Registry;
  readonly openSockets: Gauge;
  readonly activeSubscriptions: Gauge;
  readonly messagesSent: Counter<'room_kind'>;
  /** Live events executed on the shared path: once per event and distinct document on this instance. */
  readonly sharedExecutions: Counter;
  /** Frames of shared results sent: one per subscriber per event (a plain number on the hot path). */
  readonly sharedDeliveries: { inc(): void };
  /** Sockets closed with 1013 because their unsent backlog passed the bound. */
  readonly slowConsumers: Counter;
  readonly hooks: ChatHooks;
}

export function createMetrics(): ChatMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'chat_' });
  const openSockets = new Gauge({ name: 'chat_open_sockets', help: 'Open graphql-ws WebSocket connections.', registers: [registry] });
  const activeSubscriptions = new Gauge({
    name: 'chat_active_subscriptions',
    help: 'Subscriptions being delivered (WebSocket and SSE).',
    registers: [registry],
  });
  const messagesSent = new Counter({
    name: 'chat_messages_sent_total',
    help: 'Messages accepted into a room log by this instance.',
    labelNames: ['room_kind'] as const,
    registers: [registry],
  });
  const sharedExecutions = new Counter({
    name: 'chat_shared_executions_total',
    help: 'Live events executed once for every subscriber of the same document and variables.',
    registers: [registry],
  });
  // counted in a plain number, handed to prom-client at scrape time: Counter.inc costs more
  // than the rest of a delivery's bookkeeping
  let delivered = 0;
  let reported = 0;
  new Counter({
    name: 'chat_shared_deliveries_total',
    help: 'Frames sent from a shared execution (one per subscriber and event).',
    registers: [registry],
    collect() {
      this.inc(delivered - reported);
      reported = delivered;
    },
  });
  const sharedDeliveries = {
    inc() {
      delivered++;
    },
  };
  const slowConsumers = new Counter({
    name: 'chat_slow_consumers_closed_total',
    help: 'Sockets closed with 1013 because their unsent backlog passed WS_MAX_BACKLOG.',
    registers: [registry],
  });
  return {
    registry,
    slowConsumers,
    sharedExecutions,
    sharedDeliveries,
    openSockets,
    activeSubscriptions,
    messagesSent,
    hooks: {
      messageSent: (room) => messagesSent.inc({ room_kind: room.startsWith('dm:') ? 'direct' : 'room' }),
      subscriptionOpened: () => activeSubscriptions.inc(),
      subscriptionClosed: () => activeSubscriptions.dec(),
    },
  };
}
