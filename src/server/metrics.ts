import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ChatHooks } from '../resolvers/context.js';

/** Prometheus metrics of one server, in its own registry (several servers may share a process in tests). */
export interface ChatMetrics {
  readonly registry: Registry;
  readonly openSockets: Gauge;
  readonly activeSubscriptions: Gauge;
  readonly messagesSent: Counter<'room_kind'>;
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
  return {
    registry,
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
