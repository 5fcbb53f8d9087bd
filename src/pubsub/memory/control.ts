import { createListeners } from '../listeners.js';
import type { ControlBus, ControlEvent } from '../types.js';

/** Control events in one process: the only instance hears what it publishes, synchronously. */
export function createMemoryControl(): ControlBus {
  const listeners = createListeners<ControlEvent>();
  return {
    async publish(event) {
      listeners.emit(event);
    },
    async subscribe(listener) {
      const remove = listeners.add(listener);
      return {
        async unsubscribe() {
          remove();
        },
      };
    },
  };
}
