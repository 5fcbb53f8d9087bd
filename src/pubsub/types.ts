import { isoOfId } from './ids.js';

/**
 * The delivery engine: each room's message log and live delivery of what is appended to it.
 * Two implementations (memory, Redis) pass one contract suite (test/engine.contract.ts).
 */

/** A message as stored in a room's log and published to its subscribers (JSON-safe). */
export interface StoredMessage {
  /** `<ms>-<seq>`, the log's id: strictly increasing within a room. */
  readonly id: string;
  readonly room: string;
  readonly text: string;
  readonly authorId: string;
  readonly authorName: string;
  /** ISO-8601 UTC. */
  readonly createdAt: string;
  /** When the text was last edited; set on reads (range, entries), which show the current state, never on live appends. */
  readonly editedAt?: string;
}

export type MessageDraft = Pick<StoredMessage, 'text' | 'authorId' | 'authorName'>;

/** An edit or a deletion by the author, kept in the room's log after the message it changes. */
export interface MessageChange {
  readonly kind: 'edited' | 'deleted';
  /** The change's own log id (usable as after). */
  readonly id: string;
  readonly room: string;
  /** The id of the message changed. */
  readonly target: string;
  /** The new text; '' for a deletion. */
  readonly text: string;
  readonly authorId: string;
  readonly authorName: string;
  /** When the change was made. */
  readonly createdAt: string;
}

/** One entry of a room's log, as stored and as published on the room's topic. */
export type LogEntry = StoredMessage | MessageChange;

/** The message as an edit leaves it: its own id, author and time, the new text, editedAt = the edit's time. */
export function editedMessage(change: MessageChange): StoredMessage {
  return {
    id: change.target,
    room: change.room,
    text: change.text,
    authorId: change.authorId,
    authorName: change.authorName,
    createdAt: isoOfId(change.target),
    editedAt: change.createdAt,
  };
}

export function isChange(entry: LogEntry): entry is MessageChange {
  return 'kind' in entry && (entry.kind === 'edited' || entry.kind === 'deleted');
}

export type ChangeDraft = Pick<MessageChange, 'kind' | 'target' | 'text' | 'authorId' | 'authorName'>;

export type ChangeResult =
  | { readonly ok: true; readonly change: MessageChange }
  /** No such message in the retained log, or it was deleted; or the requester is not its author. */
  | { readonly ok: false; readonly reason: 'not-found' | 'not-author' };

/** A user's read position in a room. */
export interface ReadMark {
  /** The newest message read (never moves backwards); null before the first read. */
  readonly lastReadId: string | null;
  /** Messages appended after it (deleted ones included), at most the room's history limit. */
  readonly unread: number;
}

/** Room signals: ephemeral, never stored, at-most-once. */
export type RoomSignal =
  | { readonly type: 'typing'; readonly room: string; readonly userId: string; readonly username: string; readonly expiresAt: string }
  | { readonly type: 'presence'; readonly room: string; readonly userId: string; readonly username: string; readonly online: boolean };

export interface PresentUser {
  readonly id: string;
  readonly username: string;
}

/** What a subscriber receives on a topic: room topics carry log entries, user topics messages. */
export type Listener = (entry: LogEntry) => void;

/** A live subscription; `unsubscribe` is idempotent. */
export interface Subscription {
  unsubscribe(): Promise<void>;
}

/** A subscription to a topic of the log. */
export interface LiveSubscription extends Subscription {
  /**
   * Room topics: every entry with an id above `head` reaches the listener (live, or filled after a
   * reconnect), and every entry at or below it is in the log already. A reader resuming at or past
   * `head` has no backlog to read. `0-0` for an empty log; undefined for user topics.
   */
  readonly head?: string;
}

export interface AppendOptions {
  /** User ids whose personal topic also receives the message (direct messages), in the same atomic step. */
  readonly notifyUsers?: readonly string[];
  /**
   * The sender's idempotency key: an append with the key of an earlier append by the same author in
   * the same room (within the history TTL) returns that message, as the log shows it now (edited:
   * its current text; deleted: without text), instead of storing, publishing or notifying again.
   */
  readonly clientId?: string;
  /**
   * Unix ms after which the append must not happen: a backend that was stalled refuses work
   * that arrives after the caller has already been answered with an error.
   */
  readonly deadline?: number;
}

export interface RangeQuery {
  /** Only ids greater than this. */
  readonly after?: string;
  /** Only ids less than this. */
  readonly before?: string;
  readonly limit: number;
  /** `oldest`: the first `limit` after `after`; `newest`: the last `limit` before `before`. Result is oldest first either way. */
  readonly from: 'oldest' | 'newest';
}

/** Events between instances that every instance acts on; never stored, at-most-once. */
export type ControlEvent =
  /** A login was revoked (logout, refresh-token reuse): close its sockets. */
  | { readonly type: 'login-revoked'; readonly familyId: string }
  /** A user left or was removed from a private room: end their live subscriptions to it. */
  | { readonly type: 'member-removed'; readonly room: string; readonly userId: string };

export type Topic = { readonly kind: 'room'; readonly room: string } | { readonly kind: 'user'; readonly userId: string };

/** A room's log: the source of truth that history, resume and gap filling read. */
export interface RoomLog {
  /**
   * Appends to the room's log and publishes to its topic (and notifyUsers' topics) in one atomic
   * step; the author's read mark moves to the new message.
   */
  append(room: string, draft: MessageDraft, options?: AppendOptions): Promise<StoredMessage>;
  /**
   * Edits or deletes a message of the log, by its author only, and publishes the change, in one
   * atomic step. Redaction: a deleted message's text (first written or edited) leaves the log,
   * only its deletion remains; an edit leaves no earlier text readable.
   */
  change(room: string, draft: ChangeDraft, options?: Pick<AppendOptions, 'deadline'>): Promise<ChangeResult>;
  /** Retained messages of a room, oldest first, in their current state: edits applied, deleted ones left out. */
  range(room: string, query: RangeQuery): Promise<StoredMessage[]>;
  /**
   * Retained log entries after `after`, oldest first, each showing its message's current state: a
   * message with its current text (and editedAt), an edit with the current text, a deletion without
   * text; a deleted message leaves only its deletion. Fewer than `limit` means the log ends.
   */
  entries(room: string, query: { readonly after?: string; readonly limit: number }): Promise<LogEntry[]>;
}

/** Per-user read positions in room logs. */
export interface ReadMarks {
  /** Moves the user's read mark to the newest message at or before `id`, never backwards. */
  markRead(room: string, userId: string, id: string): Promise<ReadMark>;
  /** Read marks of one user in many rooms, in one round trip. */
  readMarks(userId: string, rooms: readonly string[]): Promise<Map<string, ReadMark>>;
}

/** Live delivery of what the log appends, to this instance's listeners. */
export interface LiveDelivery {
  /**
   * Resolves once delivery is confirmed: every message appended after that reaches `listener`,
   * in log order.
   */
  subscribe(topic: Topic, listener: Listener): Promise<LiveSubscription>;
}

/** Ephemeral room signals (typing, presence changes) and who is present: never stored, at-most-once. */
export interface RoomSignals {
  /** Publishes a room signal to every instance. */
  publish(signal: RoomSignal): Promise<void>;
  /** Signals of one room from every instance; resolves once delivery is confirmed. */
  subscribe(room: string, listener: (signal: RoomSignal) => void): Promise<Subscription>;
  /**
   * Marks `user` present in `room` from this instance until `leave()` (or until heartbeats stop for
   * presenceTtl: a crashed instance's users leave by themselves). Presence signals go out when a
   * user becomes present on the first instance and absent on the last.
   */
  enterPresence(room: string, user: PresentUser): Promise<{ leave(): Promise<void> }>;
  /** Users present in a room on any instance. */
  present(room: string): Promise<PresentUser[]>;
}

/** Events between instances (revocations, membership changes). */
export interface ControlBus {
  /** Sends a control event to every instance (this one included). */
  publish(event: ControlEvent): Promise<void>;
  /** Control events from every instance; resolves once delivery is confirmed. */
  subscribe(listener: (event: ControlEvent) => void): Promise<Subscription>;
}

/**
 * The delivery engine: one small interface per concern. Each implementation (memory, Redis) builds
 * every concern the same way and passes one contract suite per concern (test/engine.contract.test.ts).
 */
export interface Engine {
  readonly kind: 'memory' | 'redis' | 'cluster';
  readonly log: RoomLog;
  readonly reads: ReadMarks;
  readonly delivery: LiveDelivery;
  readonly signals: RoomSignals;
  readonly control: ControlBus;
  /** True while the backend answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
