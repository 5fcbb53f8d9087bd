import type { Topic } from './types.js';

/** The channel name of a topic (without the Redis key prefix). */
export function channelOf(topic: Topic): string {
  return topic.kind === 'room' ? `room:{${topic.room}}` : `user:{${topic.userId}}`;
}

/** The channel of control events between instances. */
export const CONTROL_CHANNEL = 'control';
