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
  /** The message this one answers, as it is now (never a stored copy of its text: see Quote). */
  readonly replyTo?: Quote;
  /** Users the text mentions (`@name`), resolved when it was sent. */
  readonly mentions?: readonly UserRef[];
  /** Reactions, in the order their emoji were first used; absent when there are none. */
  readonly reactions?: readonly Reaction[];
}

export interface UserRef {
  readonly id: string;
  readonly username: string;
}

/**
 * The message a reply answers, read from the log whenever the reply is read (redaction: the reply
 * keeps only the id, so deleting the quoted message removes its text everywhere). Without author
 * and firstLine: deleted, or no longer retained (a tombstone).
 */
export interface Quote {
  readonly id: string;
  readonly authorId?: string;
  readonly authorName?: string;
  /** The quoted text up to its first line break. */
  readonly firstLine?: string;
}

/** One emoji's reactions on a message: who reacted with it (each user once). */
export interface Reaction {
  readonly emoji: string;
  readonly userIds: readonly string[];
}

export interface MessageDraft extends Pick<StoredMessage, 'text' | 'authorId' | 'authorName'> {
  /** The id of the message answered: it must be retained and not deleted. */
  readonly replyTo?: string;
  readonly mentions?: readonly UserRef[];
  /** Mentioned users whose mention counts (Room.mentionCount) and who are notified on their topic. */
  readonly notifyMentioned?: readonly string[];
}

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
  /** A deletion by a moderator (not the author): who. authorId/authorName stay the message's author. */
  readonly moderatorId?: string;
  readonly moderatorName?: string;
  /** An edit: what else the message carries, as it is at the edit (its reply, mentions and reactions). */
  readonly replyTo?: Quote;
  readonly mentions?: readonly UserRef[];
  readonly reactions?: readonly Reaction[];
}

/** A reaction added to or removed from a message: the latest one per message stays in the log. */
export interface ReactionChange {
  readonly kind: 'reaction';
  readonly id: string;
  readonly room: string;
  /** The message reacted to. */
  readonly target: string;
  readonly emoji: string;
  readonly added: boolean;
  /** Who reacted. */
  readonly authorId: string;
  readonly authorName: string;
  readonly createdAt: string;
  /** The message after the change (replayed: as it is now), reactions included. */
  readonly message: StoredMessage;
}

/** A room role as stored: the owner, or a moderator; everyone else is a member (or has no role). */
export type StoredRole = 'owner' | 'moderator' | 'member';

/** What a moderator did: each is an entry of the room's log (roomEvents), written with the state it changes. */
export type ModerationAction = 'muted' | 'unmuted' | 'banned' | 'unbanned' | 'role' | 'removed';

export interface ModerationEntry {
  readonly kind: 'moderation';
  readonly id: string;
  readonly room: string;
  readonly action: ModerationAction;
  /** The user acted on. */
  readonly targetId: string;
  readonly targetName: string;
  /** muted: until when (ISO-8601). */
  readonly until?: string;
  /** role: the target's role from now on. */
  readonly role?: StoredRole;
  /** The moderator (or owner) who acted. */
  readonly authorId: string;
  readonly authorName: string;
  readonly createdAt: string;
}

/** One entry of a room's log, as stored and as published on the room's topic. */
export type LogEntry = StoredMessage | MessageChange | ReactionChange | ModerationEntry;

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
    ...(change.replyTo ? { replyTo: change.replyTo } : {}),
    ...(change.mentions?.length ? { mentions: change.mentions } : {}),
    ...(change.reactions?.length ? { reactions: change.reactions } : {}),
  };
}

/** An edit or a deletion. */
export function isChange(entry: LogEntry): entry is MessageChange {
  return 'kind' in entry && (entry.kind === 'edited' || entry.kind === 'deleted');
}

/** A message (not a change, reaction or moderator action). */
export function isMessage(entry: LogEntry): entry is StoredMessage {
  return !('kind' in entry);
}

export interface ChangeDraft extends Pick<MessageChange, 'kind' | 'target' | 'text' | 'authorId' | 'authorName'> {
  /**
   * A moderator deletes someone else's message: authorId/authorName name the moderator, and the
   * author check is skipped (the caller checked the role). Only for deletions.
   */
  readonly asModerator?: boolean;
}

export type ChangeResult =
  | { readonly ok: true; readonly change: MessageChange }
  /** No such message in the retained log, or it was deleted; or the requester is not its author. */
  | { readonly ok: false; readonly reason: 'not-found' | 'not-author' };

export interface ReactionDraft {
  readonly target: string;
  readonly emoji: string;
  /** True to add, false to remove. */
  readonly add: boolean;
  readonly authorId: string;
  readonly authorName: string;
}

export type ReactionResult =
  /** change: null when nothing changed (added twice, removed when absent): nothing was written. */
  | { readonly ok: true; readonly message: StoredMessage; readonly change: ReactionChange | null }
  /** No such message (deleted, too old); or the message has `maxEmoji` different emoji already. */
  | { readonly ok: false; readonly reason: 'not-found' | 'too-many' };

/**
 * A write refused because of the author's standing in the room, checked in the same atomic step
 * as the write: banned, or muted until `until` (ISO-8601); or a reply to a message that is gone.
 */
export class WriteRefused extends Error {
  override name = 'WriteRefused';
  constructor(
    readonly reason: 'banned' | 'muted' | 'reply-not-found',
    readonly until?: string,
  ) {
    super(`write refused: ${reason}${until ? ` until ${until}` : ''}`);
  }
}

/** A user's read position in a room. */
export interface ReadMark {
  /** The newest message read (never moves backwards); null before the first read. */
  readonly lastReadId: string | null;
  /** Messages after it among the newest historyLimit, less those deleted (unread.ts). */
  readonly unread: number;
  /** Messages after it that mention the user (deleted ones not), at most MENTION_COUNT_LIMIT. */
  readonly mentions: number;
}

/** Mentions counted per user and room at most (the newest ones). */
export const MENTION_COUNT_LIMIT = 100;

/**
 * A log keeps its newest historyLimit messages; its entries are capped at this many times that.
 * A message has at most three (itself, its latest edit, its latest reaction change) and a deletion
 * one: the cap binds only when moderators' actions crowd the log.
 */
export const ENTRIES_PER_MESSAGE = 4;

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
  /**
   * Adds or removes the author's reaction on a message and publishes the change, in one atomic
   * step; idempotent (one reaction per user per emoji per message). The previous reaction entry of
   * the message leaves the log: a reader resuming gets the latest, with every reaction of the message.
   * A new emoji beyond `maxEmoji` on one message is refused. Throws WriteRefused (banned, muted).
   */
  react(room: string, draft: ReactionDraft, options: { readonly maxEmoji: number; readonly deadline?: number }): Promise<ReactionResult>;
}

/** A user's standing in a room, as moderators left it. */
export interface Standing {
  /** owner only when ownership was handed over (before that the room's creator owns it); moderator; or null. */
  readonly role: 'owner' | 'moderator' | null;
  /** The owner's user id once ownership was handed over; null while the room's creator owns it. */
  readonly ownerId: string | null;
  readonly banned: boolean;
  /** ISO-8601 while muted; null otherwise. */
  readonly mutedUntil: string | null;
}

export interface BanRecord extends UserRef {
  /** The moderator who banned. */
  readonly byId: string;
  readonly byName: string;
  /** ISO-8601. */
  readonly at: string;
}

export interface MuteRecord extends UserRef {
  readonly byId: string;
  readonly byName: string;
  /** ISO-8601, in the future. */
  readonly until: string;
}

/** What moderators set in a room: roles, bans and mutes in force. */
export interface ModerationState {
  /** Set when ownership was handed over; null while the creator owns the room. */
  readonly owner: UserRef | null;
  readonly moderators: readonly UserRef[];
  readonly bans: readonly BanRecord[];
  readonly mutes: readonly MuteRecord[];
}

export type ModerationDraft = {
  /** The moderator (or owner) acting. */
  readonly actor: UserRef;
} & (
  | { readonly action: 'ban' | 'unban' | 'unmute'; readonly target: UserRef }
  /** A member removed from a private room (the membership is the store's): the event only. */
  | { readonly action: 'remove'; readonly target: UserRef }
  | { readonly action: 'mute'; readonly target: UserRef; /** Unix ms. */ readonly until: number }
  /** Role changes, applied together (a handover: the new owner, and the old one as a moderator). */
  | { readonly action: 'role'; readonly changes: readonly { readonly target: UserRef; readonly role: StoredRole }[] }
);

/**
 * Roles, bans and mutes of each room, kept beside its log and changed together with it: every
 * change is an entry of the room's log (published like a message), written in the same atomic step
 * as the state, so that a reader of the log sees each in order. Bans and mutes are also checked by
 * the log's writes in their atomic step (WriteRefused).
 */
export interface RoomModeration {
  /** Applies the action; the entries it appended, none when it changed nothing (a second ban, a lift of nothing). */
  apply(room: string, draft: ModerationDraft, options?: { readonly deadline?: number }): Promise<ModerationEntry[]>;
  standing(room: string, userId: string): Promise<Standing>;
  /** Of `rooms`, those the user is banned from (one round trip per slot at most). */
  bannedFrom(userId: string, rooms: readonly string[]): Promise<Set<string>>;
  state(room: string): Promise<ModerationState>;
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
  readonly moderation: RoomModeration;
  /** True while the backend answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
