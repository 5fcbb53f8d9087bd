import { chatError, ErrorCode, forbidden } from '../errors.js';
import { compareIdStrings } from '../pubsub/ids.js';
import { catchUpReader, type CatchUpKind, type CatchUpPage } from './catch-up.js';
import { createEventQueue, HAND_OFF, type End, type EventQueue, type HandOffStream } from './live-stream.js';
import { editedMessage, isMessage, type LiveSubscription, type LogEntry, type ModerationEntry, type RoomSignal, type StoredMessage, type StoredRole, type UserRef } from '../pubsub/types.js';
import { requireViewer } from './auth.js';
import type { ChatContext } from './context.js';
import { accessibleRoom } from './rooms.js';
import * as input from './validation.js';

/** Typing signals held for a slow reader; older ones are dropped, not queued. */
const TYPING_QUEUE = 16;

/** The error that ends a subscription whose viewer lost access to its room (removed, banned). */
const lostAccess = (room: string) => forbidden(`You no longer have access to "${room}".`);

/** The error that ends a subscription whose reader fell too far behind. */
export const slowSubscriber = () =>
  chatError(ErrorCode.RateLimited, 'This subscription fell too far behind and was ended; resubscribe with after.', { retryAfter: 1 });

export type RoomEventType =
  | 'ADDED'
  | 'EDITED'
  | 'DELETED'
  | 'REACTION_ADDED'
  | 'REACTION_REMOVED'
  | 'MUTED'
  | 'UNMUTED'
  | 'BANNED'
  | 'UNBANNED'
  | 'ROLE_CHANGED'
  | 'MEMBER_REMOVED';

/** A live event of a room's log, as roomEvents delivers it. */
export interface RoomEventRecord {
  readonly id: string;
  readonly type: RoomEventType;
  /** The message the event is about; for a moderator's action on a user, the event's own id. */
  readonly messageId: string;
  /** The message after the event; null for DELETED and moderators' actions on users. */
  readonly message: StoredMessage | null;
  /** Who did it: the author (ADDED, EDITED, DELETED), the moderator (DELETED by one, MUTED, ...), who reacted. */
  readonly actor: UserRef;
  /** The user acted on (MUTED, UNMUTED, BANNED, UNBANNED, ROLE_CHANGED, MEMBER_REMOVED). */
  readonly target: UserRef | null;
  readonly until: string | null;
  readonly role: StoredRole | null;
  readonly emoji: string | null;
  /** DELETED by a moderator rather than the author. */
  readonly byModerator: boolean;
}

/**
 * Live messages of a room. With `after`: subscribes first (buffering live messages), then reads
 * the log after `after`, then passes buffered and live messages newer than the last one yielded,
 * so there is neither a gap nor a duplicate at the seam. History reads show the final state
 * (edits applied, deleted messages left out); edits and deletions themselves come on roomEvents.
 */
export async function messageAdded(ctx: ChatContext, args: { room: string; after?: string | null }): Promise<AsyncIterableIterator<StoredMessage>> {
  return roomSubscription(ctx, args, 'range', (e): StoredMessage | null => (isMessage(e) ? e : null));
}

/**
 * Every event of a room's log: messages added, edited and deleted, in log order, with the same
 * resume guarantee as messageAdded. Applying them in order gives the room's final state.
 */
export async function roomEvents(ctx: ChatContext, args: { room: string; after?: string | null }): Promise<AsyncIterableIterator<RoomEventRecord>> {
  return roomSubscription(ctx, args, 'entries', roomEventOf);
}

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

const MODERATION_EVENTS: Record<ModerationEntry['action'], RoomEventType> = {
  muted: 'MUTED',
  unmuted: 'UNMUTED',
  banned: 'BANNED',
  unbanned: 'UNBANNED',
  role: 'ROLE_CHANGED',
  removed: 'MEMBER_REMOVED',
};

export function toRoomEvent(entry: LogEntry): RoomEventRecord {
  const base = { id: entry.id, actor: { id: entry.authorId, username: entry.authorName }, target: null, until: null, role: null, emoji: null, byModerator: false };
  if (isMessage(entry)) return { ...base, type: 'ADDED', messageId: entry.id, message: entry };
  switch (entry.kind) {
    case 'edited':
      return { ...base, type: 'EDITED', messageId: entry.target, message: editedMessage(entry) };
    case 'deleted':
      return entry.moderatorId
        ? { ...base, type: 'DELETED', messageId: entry.target, message: null, actor: { id: entry.moderatorId, username: entry.moderatorName ?? '' }, byModerator: true }
        : { ...base, type: 'DELETED', messageId: entry.target, message: null };
    case 'reaction':
      return { ...base, type: entry.added ? 'REACTION_ADDED' : 'REACTION_REMOVED', messageId: entry.target, message: entry.message, emoji: entry.emoji };
    case 'moderation':
      return {
        ...base,
        type: MODERATION_EVENTS[entry.action],
        messageId: entry.id,
        message: null,
        target: { id: entry.targetId, username: entry.targetName },
        until: entry.until ?? null,
        role: entry.role ?? null,
      };
  }
}

/**
 * The part every room-log subscription shares: access (checked after starting to watch for
 * revocation, so a removal that lands in between still ends it), the confirmed live subscription,
 * and the viewer's presence in the room for as long as it lasts. Entries the engine delivers go
 * through `stream`'s cursor and `map`, into its queue (or, once handed off, to the transport).
 */
async function roomSubscription<T extends { id: string }>(
  ctx: ChatContext,
  args: { room: string; after?: string | null },
  kind: CatchUpKind,
  map: (entry: LogEntry) => T | null,
): Promise<RoomStream<T>> {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(args.room);
  const after = input.cursor(args.after, 'after');
  const { settings, revocations, engine, hooks } = ctx.services;
  let stream: RoomStream<T> | null = null;
  let revoked = false;
  // any room can be lost: a private one by removal, any one by a ban
  const unwatch = revocations.watch(name, viewer.id, () => {
    revoked = true;
    stream?.revoke(lostAccess(name));
  });
  let subscription: LiveSubscription | null = null;
  let leave: (() => Promise<void>) | null = null;
  let closed = false;
  const queue = createEventQueue<LogEntry>({
    limit: settings.subscriberQueueLimit,
    overflowError: slowSubscriber,
    onClose: () => {
      closed = true;
      unwatch();
      if (!subscription) return;
      hooks.subscriptionClosed();
      void subscription.unsubscribe().catch(() => {});
      void leave?.().catch(() => {});
    },
  });
  try {
    const room = await accessibleRoom(ctx, viewer, name);
    subscription = await engine.delivery.subscribe({ kind: 'room', room: room.name }, (entry) => queue.push(entry));
    hooks.subscriptionOpened();
    // the backlog's first read goes out now, while presence is written
    const read = catchUpReader(engine.log);
    stream = new RoomStream(queue, after, subscription.head, (cursor) => read(kind, name, cursor), map);
    // presence is best effort: a subscription is not refused because presence could not be written
    leave = (await engine.signals.enterPresence(room.name, { id: viewer.id, username: viewer.username }).catch(() => null))?.leave ?? null;
    if (closed) void leave?.().catch(() => {});
  } catch (err) {
    unwatch();
    await subscription?.unsubscribe().catch(() => {});
    throw err;
  }
  if (revoked) stream.revoke(lostAccess(name));
  return stream;
}

/**
 * Log first (from `after`), then live entries newer than the last one yielded; `map` drops (null)
 * or shapes each. A cursor at or past the subscription's head has no backlog: no read at all.
 * One per subscription, so a class (its methods are not closures per subscriber).
 */
class RoomStream<T extends { id: string }> implements HandOffStream<T> {
  private backlog: T[] = [];
  private backlogDone: boolean;
  /** True once the viewer lost access: nothing more is read from the log. */
  private revoked = false;

  /** The backlog's first page, asked for at once (before the reader's first next()). */
  private firstPage: Promise<CatchUpPage> | null = null;

  constructor(
    private readonly queue: EventQueue<LogEntry>,
    /** The last id delivered or read past. */
    private last: string | undefined,
    head: string | undefined,
    private readonly readPage: (after: string) => Promise<CatchUpPage>,
    private readonly map: (entry: LogEntry) => T | null,
  ) {
    this.backlogDone = last === undefined || (head !== undefined && compareIdStrings(last, head) >= 0);
    if (!this.backlogDone && last !== undefined) {
      this.firstPage = readPage(last);
      // read by next(); until then a failure must not count as unhandled
      this.firstPage.catch(() => {});
    }
  }

  revoke(error: Error): void {
    this.revoked = true;
    this.backlog = [];
    this.queue.fail(error);
  }

  [HAND_OFF](push: (value: T) => void, end: End): boolean {
    // only once caught up: what is still owed to next() must go out first, in order
    if (this.revoked || !this.backlogDone || this.backlog.length > 0) return false;
    return this.queue[HAND_OFF]((entry) => {
      const value = this.accept(entry);
      if (value) push(value);
    }, end);
  }

  /** The entry as delivered, or null when it is not past the cursor (or mapped away). */
  private accept(entry: LogEntry): T | null {
    if (this.last !== undefined && compareIdStrings(entry.id, this.last) <= 0) return null;
    this.last = entry.id;
    return this.map(entry);
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    // ended or revoked: no more of the log either, straight to the queue's end or error
    if (this.queue.closed) this.backlog = [];
    while (!this.queue.closed && !this.backlogDone && this.backlog.length === 0 && this.last !== undefined) {
      const page = await (this.firstPage ?? this.readPage(this.last));
      this.firstPage = null;
      this.backlogDone = page.complete;
      if (page.entries.length === 0) break;
      // the page cursor moves over everything read, kept or not
      this.last = page.entries[page.entries.length - 1]!.id;
      for (const e of page.entries) {
        const m = this.map(e);
        if (m) this.backlog.push(m);
      }
    }
    const fromLog = this.backlog.shift();
    if (fromLog) return { value: fromLog, done: false };
    for (;;) {
      const r = await this.queue.next();
      if (r.done) return { value: undefined, done: true };
      const value = this.accept(r.value);
      if (value) return { value, done: false };
    }
  }

  async return(): Promise<IteratorResult<T, undefined>> {
    await this.queue.return();
    return { value: undefined, done: true };
  }

  async throw(e?: unknown): Promise<IteratorResult<T, undefined>> {
    await this.queue.return();
    throw e;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** Direct messages sent to the viewer by someone else, live. */
export function directMessageAdded(ctx: ChatContext): Promise<AsyncIterableIterator<StoredMessage>> {
  return userStream(ctx, (m) => input.dmMembers(m.room) !== null);
}

/**
 * Messages that mention the viewer, sent by someone else in any room the viewer could see then, live
 * (the user's topic carries them, as it carries direct messages: gaps filled after a reconnect).
 */
export function mentioned(ctx: ChatContext): Promise<AsyncIterableIterator<StoredMessage>> {
  const viewer = requireViewer(ctx);
  return userStream(ctx, (m) => m.mentions?.some((u) => u.id === viewer.id) === true);
}

/** Messages on the viewer's own topic from others that `accept` takes. */
async function userStream(ctx: ChatContext, accept: (m: StoredMessage) => boolean): Promise<AsyncIterableIterator<StoredMessage>> {
  const viewer = requireViewer(ctx);
  const { engine, hooks, settings } = ctx.services;
  let subscription: LiveSubscription | null = null;
  const queue = createEventQueue<StoredMessage>({
    limit: settings.subscriberQueueLimit,
    overflowError: slowSubscriber,
    onClose: () => {
      if (!subscription) return;
      hooks.subscriptionClosed();
      void subscription.unsubscribe().catch(() => {});
    },
  });
  subscription = await engine.delivery.subscribe({ kind: 'user', userId: viewer.id }, (entry) => {
    if (isMessage(entry) && entry.authorId !== viewer.id && accept(entry)) queue.push(entry);
  });
  hooks.subscriptionOpened();
  return queue;
}

/** Typing signals of a room from others, dropped (not queued) for a reader that falls behind, and never stale. */
export async function typing(ctx: ChatContext, args: { room: string }) {
  const viewer = requireViewer(ctx);
  return signalStream(ctx, args.room, (s): s is Extract<RoomSignal, { type: 'typing' }> =>
    s.type === 'typing' && s.userId !== viewer.id && Date.parse(s.expiresAt) > ctx.services.now(),
  );
}

/** Who comes and goes in a room (presence), from every instance. */
export async function presenceChanged(ctx: ChatContext, args: { room: string }) {
  return signalStream(ctx, args.room, (s): s is Extract<RoomSignal, { type: 'presence' }> => s.type === 'presence');
}

/**
 * A room's signals that `accept` takes. Access is checked after starting to watch for its loss, as
 * for the room's log (roomSubscription): a removal or ban that lands in between still ends it.
 */
async function signalStream<S extends RoomSignal>(ctx: ChatContext, roomArg: string, accept: (s: RoomSignal) => s is S): Promise<AsyncIterableIterator<S>> {
  const viewer = requireViewer(ctx);
  const name = input.roomRef(roomArg);
  const { engine, hooks, revocations } = ctx.services;
  let subscription: { unsubscribe(): Promise<void> } | null = null;
  let closed = false;
  // any room can be lost: a private one by removal, any one by a ban
  const unwatch = revocations.watch(name, viewer.id, () => queue.fail(lostAccess(name)));
  const queue = createEventQueue<S>({
    limit: TYPING_QUEUE,
    overflow: 'drop-oldest',
    onClose: () => {
      closed = true;
      unwatch();
      if (!subscription) return;
      hooks.subscriptionClosed();
      void subscription.unsubscribe().catch(() => {});
    },
  });
  try {
    const room = await accessibleRoom(ctx, viewer, name);
    subscription = await engine.signals.subscribe(room.name, (s) => {
      if (accept(s)) queue.push(s);
    });
  } catch (err) {
    unwatch();
    throw err;
  }
  // lost while subscribing: the queue already holds the error its reader gets
  if (closed) void subscription.unsubscribe().catch(() => {});
  else hooks.subscriptionOpened();
  return queue;
}
