import type { Engine } from '../types.js';
import { createMemoryControl } from './control.js';
import { createMemoryDelivery } from './delivery.js';
import { createMemoryLog } from './log.js';
import { createMemoryModeration } from './moderation.js';
import { createMemoryReads } from './reads.js';
import { createMemoryRooms } from './rooms.js';
import { createMemorySignals } from './signals.js';

export interface MemoryEngineOptions {
  /** Messages kept per room. @default 1000 */
  readonly historyLimit?: number;
  /** Seconds a message is kept. @default 604800 */
  readonly historyTtl?: number;
  /** Clock (Unix ms) for ids, createdAt and ageing. @default Date.now */
  readonly now?: () => number;
}

/**
 * The embedded engine: one process, nothing kept across restarts. Each concern mirrors the Redis
 * engine's (src/pubsub/redis): capped per-room logs, synchronous publish right after append.
 */
export function createMemoryEngine(options: MemoryEngineOptions = {}): Engine {
  const rooms = createMemoryRooms({
    historyLimit: options.historyLimit ?? 1000,
    historyTtlMs: (options.historyTtl ?? 604_800) * 1000,
    now: options.now ?? Date.now,
  });
  const { delivery, publish } = createMemoryDelivery(rooms);
  return {
    kind: 'memory',
    log: createMemoryLog(rooms, publish),
    reads: createMemoryReads(rooms),
    delivery,
    signals: createMemorySignals(),
    control: createMemoryControl(),
    moderation: createMemoryModeration(rooms, publish),
    async ping() {
      return true;
    },
    async close() {},
  };
}
