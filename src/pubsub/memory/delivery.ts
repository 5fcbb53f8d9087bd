import { formatId } from '../ids.js';
import { createKeyedListeners } from '../listeners.js';
import type { LiveDelivery, LogEntry, Topic } from '../types.js';
import type { MemoryRooms } from './rooms.js';

/** A topic's key among this process's listeners. */
const keyOf = (topic: Topic) => (topic.kind === 'room' ? `room\n${topic.room}` : `user\n${topic.userId}`);

/** Live delivery in one process: the log publishes synchronously, right after it appends. */
export function createMemoryDelivery(rooms: MemoryRooms) {
  const topics = createKeyedListeners<LogEntry>();
  const delivery: LiveDelivery = {
    async subscribe(topic, listener) {
      const remove = topics.add(keyOf(topic), listener);
      const last = topic.kind === 'room' ? rooms.find(topic.room)?.last : undefined;
      return {
        ...(topic.kind === 'room' ? { head: last ? formatId(last) : '0-0' } : {}),
        async unsubscribe() {
          remove();
        },
      };
    },
  };
  return {
    delivery,
    publish: (topic: Topic, entry: LogEntry) => topics.emit(keyOf(topic), entry),
  };
}
