import { chatError, ErrorCode, forbidden } from '../errors.js';
import { compareIdStrings } from '../pubsub/ids.js';
import { catchUpReader, type CatchUpKind, type CatchUpPage } from './catch-up.js';
import { createEventQueue, HAND_OFF, type EventQueue, type HandOffStream } from './live-stream.js';
import { editedMessage, isChange, type LogEntry, type RoomSignal, type StoredMessage, type Topic } from '../pubsub/types.js';
import type { Viewer } from '../auth/tokens.js';
import { requireViewer } from './auth.js';
import type { ChatContext } from './context.js';
import { accessibleRoom } from './rooms.js';
import * as input from './validation.js';

/** Typing signals held for a slow reader; older ones are dropped, not queued. */
const TYPING_QUEUE = 16;

/** The error that ends a subscription whose reader fell too far behind. */
export const slowSubscriber = () =>
  chatError(ErrorCode.RateLimited, 'This subscription fell too far behind and was ended; resubscribe with after.', { retryAfter: 1 });

/** A live event of a room's log, as roomEvents delivers it. */
export interface RoomEventRecord {
  readonly id: string;
  readonly type: 'ADDED' | 'EDITED' | 'DELETED';
  readonly messageId: string;
  /** The message after the event; null for DELETED. */
  readonly message: StoredMessage | null;
}

/**
 * Live messages of a room. With `after`: subscribes first (buffering live messages), then reads
 * the log after `after`, then passes buffered and live messages newer than the last one yielded,
 * so there is neither a gap nor a duplicate at the seam. History reads show the final state
 * (edits applied, deleted messages left out); edits and deletions themselves come on roomEvents.
 */
export async function messageAdded(ctx: ChatContext, args: { room: string; after?: string | null }): Promise<AsyncIterableIterator<StoredMessage>> {
  const room = await roomSubscription(ctx, args);
  return resumable(room, catchUp(ctx, 'range', room.name), (e): StoredMessage | null => (isChange(e) ? null : e));
}

/**
 * Every event of a room's log: messages added, edited and deleted, in log order, with the same
 * resume guarantee as messageAdded. Applying them in order gives the room's final state.
 */
export async function roomEvents(ctx: ChatContext, args: { room: string; after?: string | null }): Promise<AsyncIterableIterator<RoomEventRecord>> {
  const room = await roomSubscription(ctx, args);
  return resumable(room, catchUp(ctx, 'entries', room.name), roomEventOf);
}

const catchUp = (ctx: ChatContext, kind: CatchUpKind, room: string) => {
  const read = catchUpReader(ctx.services.engine.log);
  return (after: string) => read(kind, room, after);
};

/**
 * One event object per log entry, made once for every subscriber on this instance: the engine
 * hands every local listener the same entry, and the transport shares the execution of a live
 * event among the subscribers it reaches as the same object (src/server/live-results.ts).
 */
const roomEventsByEntry = new WeakMap<LogEntry, RoomEventRecord>();

function roomEventOf(entry: LogEntry): RoomEventRecord {
  let event = roomEventsByEntry.get(entry);
  if (!event) roomEventsByEntry.set(entry, (event = toRoomEvent(entry)));
  return event;
}

function toRoomEvent(entry: LogEntry): RoomEventRecord {
  if (!isChange(entry)) return { id: entry.id, type: 'ADDED', messageId: entry.id, message: entry };
  if (entry.kind === 'deleted') return { id: entry.id, type: 'DELETED', messageId: entry.target, message: null };
  return { id: entry.id, type: 'EDITED', messageId: entry.target, message: editedMessage(entry) };
}

interface RoomSubscription {
  readonly name: string;
  readonly queue: EventQueue<LogEntry>;
  /** Sends later live entries to `sink` instead of the queue. */
  divert(sink: (entry: LogEntry) => void): void;
  readonly after: string | undefined;
  /** Everything above it reaches the queue; everything at or below it is in the log (LiveSubscription.head). */
  readonly head: string | undefined;
  /** True once the viewer lost access: nothing more is read from the log. */
  revoked(): boolean;
}

/**
 * The part every room-log subscription shares: access (checked after starting to watch for
 * revocation, so a removal that lands in between still ends it), the confirmed live subscription,
 * and the viewer's presence in the room for as long as it lasts.
 */
async function roomSubscription(ctx: ChatContext, args: { room: string; after?: string | null }): Promise<RoomSubscription> {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(args.room);
  const after = input.cursor(args.after, 'after');
  const { settings, revocations, engine } = ctx.services;
  let revoked = false;
  let live: EventQueue<LogEntry> | null = null;
  const lost = () => forbidden(`You no longer have access to "${name}".`);
  const unwatch = revocations.watch(name, viewer.id, () => {
    revoked = true;
    live?.fail(lost());
  });
  let leave: () => Promise<void> = async () => {};
  let divert: (sink: (entry: LogEntry) => void) => void;
  let head: string | undefined;
  try {
    const room = await accessibleRoom(ctx, viewer, name);
    ({ queue: live, divert, head } = await subscribeQueue(ctx, { kind: 'room', room: room.name }, settings.subscriberQueueLimit, () => {
      unwatch();
      void leave().catch(() => {});
    }));
    // presence is best effort: a subscription is not refused because presence could not be written
    leave = (await engine.signals.enterPresence(room.name, { id: viewer.id, username: viewer.username }).catch(() => null))?.leave ?? leave;
    if (live.closed) void leave().catch(() => {});
  } catch (err) {
    unwatch();
    throw err;
  }
  if (revoked) live.fail(lost());
  return { name, queue: live, divert, after, head, revoked: () => revoked };
}

/**
 * Log first (from `after`), then live entries newer than the last one yielded; `map` drops (null)
 * or shapes each. A cursor at or past the subscription's head has no backlog: no read at all.
 */
function resumable<T extends { id: string }>(
  sub: RoomSubscription,
  readPage: (after: string) => Promise<CatchUpPage>,
  map: (entry: LogEntry) => T | null,
): HandOffStream<T> {
  const { queue } = sub;
  let last = sub.after;
  let backlog: T[] = [];
  let backlogDone = last === undefined || (sub.head !== undefined && compareIdStrings(last, sub.head) >= 0);
  const handOff = (push: (value: T) => void): boolean => {
    // only once caught up: what is still owed to next() must go out first, in order
    if (sub.revoked() || !backlogDone || backlog.length > 0 || queue.size > 0 || queue.closed) return false;
    sub.divert((entry) => {
      if (last !== undefined && compareIdStrings(entry.id, last) <= 0) return;
      last = entry.id;
      const value = map(entry);
      if (value) push(value);
    });
    return true;
  };
  return closable(queue, handOff, async () => {
    // a revoked subscriber gets no more of the log either: straight to the queue's error
    if (sub.revoked()) backlog = [];
    while (!sub.revoked() && !backlogDone && backlog.length === 0 && last !== undefined) {
      const page = await readPage(last);
      backlogDone = page.complete;
      if (page.entries.length === 0) break;
      // the page cursor moves over everything read, kept or not
      last = page.entries[page.entries.length - 1]!.id;
      backlog = page.entries.flatMap((e) => {
        const m = map(e);
        return m ? [m] : [];
      });
    }
    const fromLog = backlog.shift();
    if (fromLog) return { value: fromLog, done: false };
    for (;;) {
      const r = await queue.next();
      if (r.done) return { value: undefined, done: true };
      if (last !== undefined && compareIdStrings(r.value.id, last) <= 0) continue;
      last = r.value.id;
      const value = map(r.value);
      if (value) return { value, done: false };
    }
  });
}

/** Direct messages sent to the viewer by someone else, live. */
export async function directMessageAdded(ctx: ChatContext): Promise<AsyncIterableIterator<StoredMessage>> {
  const viewer = requireViewer(ctx);
  const { queue, divert } = await subscribeQueue(ctx, { kind: 'user', userId: viewer.id }, ctx.services.settings.subscriberQueueLimit);
  const wanted = (entry: LogEntry): entry is StoredMessage => !isChange(entry) && entry.authorId !== viewer.id;
  const handOff = (push: (value: StoredMessage) => void): boolean => {
    if (queue.size > 0 || queue.closed) return false;
    divert((entry) => {
      if (wanted(entry)) push(entry);
    });
    return true;
  };
  return closable(queue, handOff, async () => {
    for (;;) {
      const r = await queue.next();
      if (r.done) return { value: undefined, done: true };
      if (wanted(r.value)) return { value: r.value, done: false };
    }
  });
}

/** An iterator whose values come from `next` and whose end (return or throw) closes `queue`. */
function closable<T>(
  queue: EventQueue<unknown>,
  handOff: (push: (value: T) => void) => boolean,
  next: () => Promise<IteratorResult<T, undefined>>,
): HandOffStream<T> {
  const iterator: HandOffStream<T> = {
    next,
    [HAND_OFF]: handOff,
    async return() {
      await queue.return();
      return { value: undefined, done: true };
    },
    async throw(e) {
      await queue.return();
      throw e;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** Typing signals of a room from others, dropped (not queued) for a reader that falls behind, and never stale. */
export async function typing(ctx: ChatContext, args: { room: string }) {
  const { viewer, room } = await signalAccess(ctx, args.room);
  return signalStream(ctx, room, (s): s is Extract<RoomSignal, { type: 'typing' }> =>
    s.type === 'typing' && s.userId !== viewer.id && Date.parse(s.expiresAt) > ctx.services.now(),
  );
}

/** Who comes and goes in a room (presence), from every instance. */
export async function presenceChanged(ctx: ChatContext, args: { room: string }) {
  const { room } = await signalAccess(ctx, args.room);
  return signalStream(ctx, room, (s): s is Extract<RoomSignal, { type: 'presence' }> => s.type === 'presence');
}

async function signalAccess(ctx: ChatContext, roomArg: string): Promise<{ viewer: Viewer; room: string }> {
  const viewer = requireViewer(ctx);
  const room = await accessibleRoom(ctx, viewer, input.roomRef(roomArg));
  return { viewer, room: room.name };
}

async function signalStream<S extends RoomSignal>(ctx: ChatContext, room: string, accept: (s: RoomSignal) => s is S): Promise<AsyncIterableIterator<S>> {
  const { engine, hooks, revocations } = ctx.services;
  const viewer = requireViewer(ctx);
  let subscription: { unsubscribe(): Promise<void> } | null = null;
  const unwatch = revocations.watch(room, viewer.id, () => queue.fail(forbidden(`You no longer have access to "${room}".`)));
  const queue = createEventQueue<S>({
    limit: TYPING_QUEUE,
    overflow: 'drop-oldest',
    onClose: () => {
      unwatch();
      hooks.subscriptionClosed();
      void subscription?.unsubscribe().catch(() => {});
    },
  });
  try {
    subscription = await engine.signals.subscribe(room, (s) => {
      if (accept(s)) queue.push(s);
    });
  } catch (err) {
    unwatch();
    throw err;
  }
  hooks.subscriptionOpened();
  return queue;
}

/** A bounded queue fed by an engine topic (or, once diverted, another sink); closing the queue unsubscribes. */
async function subscribeQueue(ctx: ChatContext, topic: Topic, limit: number, onClose: () => void = () => {}) {
  const { engine, hooks } = ctx.services;
  let unsubscribe: () => void = () => {};
  const queue = createEventQueue<LogEntry>({
    limit,
    overflowError: slowSubscriber,
    onClose: () => unsubscribe(),
  });
  let sink = (entry: LogEntry) => queue.push(entry);
  const subscription = await engine.delivery.subscribe(topic, (m) => sink(m));
  hooks.subscriptionOpened();
  const { head } = subscription;
  unsubscribe = () => {
    onClose();
    hooks.subscriptionClosed();
    void subscription.unsubscribe().catch(() => {});
  };
  const divert = (next: (entry: LogEntry) => void) => {
    sink = (entry) => {
      if (!queue.closed) next(entry);
    };
  };
  return { queue, divert, head };
}
