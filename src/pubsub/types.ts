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
}

export type MessageDraft = Omit<StoredMessage, 'id' | 'room' | 'createdAt'>;

/** What a subscriber receives on a topic. */
export type Listener = (message: StoredMessage) => void;

/** A live subscription; `unsubscribe` is idempotent. */
export interface Subscription {
  unsubscribe(): Promise<void>;
}

export interface AppendOptions {
  /** User ids whose personal topic also receives the message (direct messages), in the same atomic step. */
  readonly notifyUsers?: readonly string[];
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

export interface Engine {
  readonly kind: 'memory' | 'redis';
  /** Appends to the room's log and publishes to its topic (and notifyUsers' topics) in one atomic step. */
  append(room: string, draft: MessageDraft, options?: AppendOptions): Promise<StoredMessage>;
  /** Retained messages of a room, oldest first. */
  range(room: string, query: RangeQuery): Promise<StoredMessage[]>;
  /**
   * Resolves once delivery is confirmed: every message appended after that reaches `listener`,
   * in log order.
   */
  subscribe(topic: Topic, listener: Listener): Promise<Subscription>;
  /** Sends a control event to every instance (this one included). */
  broadcast(event: ControlEvent): Promise<void>;
  /** Control events from every instance; resolves once delivery is confirmed. */
  onControl(listener: (event: ControlEvent) => void): Promise<Subscription>;
  /** True while the backend answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
