// The page's one state object: who is signed in, the rooms and direct conversations of the
// sidebar, and the open conversation. Modules read and change it, then render their part.
import type { ChatClient, RoomRole, RoomsQuery } from '../../client/index.js';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

export interface Session {
  readonly chat: ChatClient;
  readonly me: string;
  /** Ends the subscriptions of the session that are not per room (direct messages). */
  stop(): void;
}

/** A room or direct conversation of the sidebar. */
export interface RoomEntry extends Pick<RoomsQuery['rooms'][number], 'name' | 'private'> {
  /** Messages after the viewer's read mark, as the server last said. */
  unread: number;
  /** Of them, those that mention the viewer. */
  mentions: number;
  /** For a direct conversation (dm:<a>:<b>), the other user. */
  readonly peer?: string;
}

/** The conversation shown on the right. */
export interface Conversation {
  readonly room: string;
  /** The other user of a direct conversation. */
  readonly peer?: string;
  /** Increases with every opening: work of an earlier one checks it and stops. */
  readonly turn: number;
  /** Message ids shown (or deleted) here. */
  readonly shown: Set<string>;
  /** The oldest message shown: where older history continues (recentMessages before:). */
  oldestId?: string;
  /** Whether there may be messages older than `oldestId`. */
  hasOlder: boolean;
  loadingOlder: boolean;
  /** The newest event id seen: what markRead marks and the tab's unread count go by. */
  newestId?: string;
  /** The list shows its newest message: it stays there when messages arrive or the layout changes. */
  atEnd: boolean;
  /** Messages that arrived while the reader was scrolled up. */
  unseenBelow: number;
  /** Who is typing, with the timer that hides each. */
  readonly typers: Map<string, ReturnType<typeof setTimeout>>;
  lastTypingSignal: number;
  /** The typing signal being sent: a message waits for it, so the signal never lands after the message. */
  typingSent: Promise<unknown>;
  /** The viewer's role in the room (null: none, e.g. a public room not joined). */
  role: RoomRole | null;
  /** Who runs the room, by username: the role badges next to their names. */
  roles: Map<string, RoomRole>;
  /** The message the next send answers (reply), if any. */
  replyTo: { readonly id: string; readonly author: string; readonly firstLine: string } | null;
  /** Set when a BANNED event named the viewer: why access ends. */
  bannedBy?: string;
  /** Set while the viewer leaves the room: the access its subscriptions lose is no surprise to report. */
  leaving?: boolean;
  /** Ends the conversation's subscriptions. */
  stop(): void;
}

/** Roles that moderate (delete others' messages, mute, ban). */
export const MODERATING: readonly RoomRole[] = ['OWNER', 'ADMIN', 'MODERATOR'];
const RANK: Record<RoomRole, number> = { OWNER: 3, ADMIN: 3, MODERATOR: 2, MEMBER: 1 };
/** Whether a user of `role` may act on one of `other` (a strictly lower role), as the server decides. */
export const outranks = (role: RoomRole | null, other: RoomRole | null) => (role ? RANK[role] : 0) > (other ? RANK[other] : 0);

export interface AppState {
  session: Session | null;
  connection: ConnectionState;
  /** The sidebar, by room name. */
  readonly rooms: Map<string, RoomEntry>;
  /** Per room, the id its read mark was last moved to by this page. */
  readonly readUpTo: Map<string, string>;
  /** Per watched room, the function that ends its unread watcher. */
  readonly watchers: Map<string, () => void>;
  conversation: Conversation | null;
  /** Counts conversation openings (Conversation.turn). */
  turns: number;
}

export const state: AppState = {
  session: null,
  connection: 'connecting',
  rooms: new Map(),
  readUpTo: new Map(),
  watchers: new Map(),
  conversation: null,
  turns: 0,
};

/** The other user of a direct conversation `dm:<a>:<b>` seen by `me`, or undefined for a room. */
export function peerOf(room: string, me: string): string | undefined {
  const m = /^dm:([^:]+):([^:]+)$/.exec(room);
  if (!m) return undefined;
  return m[1] === me ? m[2] : m[1];
}

/** The name of the direct conversation between two users (usernames sorted, as the server names it). */
export function dmRoom(a: string, b: string): string {
  return `dm:${[a, b].sort().join(':')}`;
}
