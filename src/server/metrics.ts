import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ChatHooks } from '../resolvers/context.js';

/** Prometheus metrics of one server, in its own registry (several servers may share a process in tests). */
export interface ChatMetrics {
  readonly registry: Registry;
  readonly openSockets: Gauge;
  readonly activeSubscriptions: Gauge;
  readonly messagesSent: Counter<'room_kind'>;
  /** Live events executed on the shared path: once per event and distinct shape on this instance. */
  readonly sharedExecutions: { inc(): void };
  /** Live events executed for one subscriber alone. */
  readonly subscriberExecutions: { inc(): void };
  /** Frames of subscription results sent by the live path: one per subscriber per event. */
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
  // counted in plain numbers, handed to prom-client at scrape time: Counter.inc costs more than
  // the rest of a delivery's bookkeeping
  const sharedExecutions = cheapCounter(
    registry,
    'chat_shared_executions_total',
    'Live events executed once for every subscriber of the same selection and variables on this instance.',
  );
  const subscriberExecutions = cheapCounter(
    registry,
    'chat_subscriber_executions_total',
    'Live events executed for one subscriber alone (a viewer-dependent part that could not be filled in).',
  );
  const sharedDeliveries = cheapCounter(registry, 'chat_shared_deliveries_total', 'Subscription results sent over WebSocket by the live path (one frame each).');
  const slowConsumers = new Counter({
    name: 'chat_slow_consumers_closed_total',
    help: 'Sockets closed with 1013 because their unsent backlog passed WS_MAX_BACKLOG.',
    registers: [registry],
  });
  return {
    registry,
    slowConsumers,
    sharedExecutions,
    subscriberExecutions,
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

/** A counter incremented as a plain number on the hot path and reported to prom-client at scrape time. */
function cheapCounter(registry: Registry, name: string, help: string): { inc(): void } {
  let counted = 0;
  let reported = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.inc(counted - reported);
      reported = counted;
    },
  });
  return {
    inc() {
      counted++;
    },
  };
}
