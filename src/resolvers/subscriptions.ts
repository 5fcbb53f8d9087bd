import { chatError, ErrorCode, forbidden } from '../errors.js';
import { compareIdStrings } from '../pubsub/ids.js';
import { createEventQueue, type EventQueue } from '../pubsub/queue.js';
import type { StoredMessage, Topic } from '../pubsub/types.js';
import { requireViewer } from './auth.js';
import type { ChatContext } from './context.js';
import { accessibleRoom } from './rooms.js';
import * as input from './validation.js';

/** Log entries read per round trip while resuming. */
const RESUME_PAGE = 500;

const slowSubscriber = () =>
  chatError(ErrorCode.RateLimited, 'This subscription fell too far behind and was ended; resubscribe with after.', { retryAfter: 1 });

/**
 * Live messages of a room. With `after`: subscribes first (buffering live messages), then reads
 * the log after `after`, then passes buffered and live messages newer than the last one yielded,
 * so there is neither a gap nor a duplicate at the seam.
 */
export async function messageAdded(ctx: ChatContext, args: { room: string; after?: string | null }): Promise<AsyncIterableIterator<StoredMessage>> {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(args.room);
  const after = input.cursor(args.after, 'after');
  const { engine, settings, revocations } = ctx.services;
  // watch before the access check: a removal that lands after the check still ends the subscription
  let revoked = false;
  let live: EventQueue<StoredMessage> | null = null;
  const unwatch = revocations.watch(name, viewer.id, () => {
    revoked = true;
    live?.fail(forbidden(`You no longer have access to "${name}".`));
  });
  let room;
  try {
    room = await accessibleRoom(ctx, viewer, name);
    live = await subscribeQueue(ctx, { kind: 'room', room: room.name }, settings.subscriberQueueLimit, unwatch);
  } catch (err) {
    unwatch();
    throw err;
  }
  if (revoked) live.fail(forbidden(`You no longer have access to "${name}".`));
  const queue = live;
  let last = after;
  let backlog: StoredMessage[] = [];
  let backlogDone = after === undefined;

  const iterator: AsyncIterableIterator<StoredMessage> = {
    async next() {
      // a revoked subscriber gets no more of the log either: straight to the queue's error
      if (revoked) backlog = [];
      while (!revoked && !backlogDone && backlog.length === 0) {
        const page = await engine.range(room.name, { after: last, limit: RESUME_PAGE, from: 'oldest' });
        backlog = page;
        if (page.length < RESUME_PAGE) backlogDone = true;
        if (page.length === 0) break;
      }
      const fromLog = backlog.shift();
      if (fromLog) {
        last = fromLog.id;
        return { value: fromLog, done: false };
      }
      for (;;) {
        const r = await queue.next();
        if (r.done) return r;
        if (last !== undefined && compareIdStrings(r.value.id, last) <= 0) continue;
        last = r.value.id;
        return r;
      }
    },
    return: () => queue.return(),
    throw: (e) => queue.throw(e),
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** Direct messages sent to the viewer by someone else, live. */
export async function directMessageAdded(ctx: ChatContext): Promise<AsyncIterableIterator<StoredMessage>> {
  const viewer = requireViewer(ctx);
  const queue = await subscribeQueue(ctx, { kind: 'user', userId: viewer.id }, ctx.services.settings.subscriberQueueLimit);
  const iterator: AsyncIterableIterator<StoredMessage> = {
    async next() {
      for (;;) {
        const r = await queue.next();
        if (r.done || r.value.authorId !== viewer.id) return r;
      }
    },
    return: () => queue.return(),
    throw: (e) => queue.throw(e),
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** A bounded queue fed by an engine topic; closing the queue unsubscribes. */
async function subscribeQueue(ctx: ChatContext, topic: Topic, limit: number, onClose: () => void = () => {}) {
  const { engine, hooks } = ctx.services;
  let unsubscribe: () => void = () => {};
  const queue = createEventQueue<StoredMessage>({
    limit,
    overflowError: slowSubscriber,
    onClose: () => unsubscribe(),
  });
  const subscription = await engine.subscribe(topic, (m) => queue.push(m));
  hooks.subscriptionOpened();
  unsubscribe = () => {
    onClose();
    hooks.subscriptionClosed();
    void subscription.unsubscribe().catch(() => {});
  };
  return queue;
}
