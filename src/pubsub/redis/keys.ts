/**
 * Key and channel names under the key prefix. The braces are Redis Cluster hash tags: every key
 * of one room (or one user) and its channel share a slot, so each script touches one slot.
 */

/** A room's keys (see log.ts, reads.ts and presence.ts for what each holds) and its channels. */
export function roomKeys(prefix: string, room: string) {
  const base = `${prefix}room:{${room}}`;
  return {
    log: `${base}:log`,
    n: `${base}:n`,
    /** Edited messages' state by message id, and `gone`: the numbers of recently deleted messages (reads.ts). */
    changes: `${base}:changes`,
    reads: `${base}:reads`,
    /** Reactions per message (log-lua.ts). */
    reactions: `${base}:reactions`,
    /** Per user, the numbers of the messages that mention them (reads.ts). */
    mentions: `${base}:mentions`,
    /** The ids of the newest historyLimit messages not deleted, newest first: what trims the log (log-lua.ts). */
    msgs: `${base}:msgs`,
    /** Moderators, and the owner once ownership was handed over (moderation.ts); no TTL. */
    roles: `${base}:roles`,
    /** Banned users (moderation.ts); no TTL. */
    bans: `${base}:bans`,
    /** Muted users and until when (moderation.ts); no TTL, expired entries are dropped as they are met. */
    mutes: `${base}:mutes`,
    online: `${base}:online`,
    /** Prefix of the per-user presence keys: `<presence><user id>`. */
    presence: `${base}:presence:`,
    /** An author's idempotency key: the id of the message first appended with it (see log.ts). */
    client: (authorId: string, clientId: string) => `${base}:client:${authorId}:${clientId}`,
    /** Live log entries (messages, edits, deletions). */
    channel: base,
    /** Typing and presence signals (never stored). */
    signals: `${base}:signals`,
  };
}

export type RoomKeys = ReturnType<typeof roomKeys>;

/**
 * The keys a write to a room's log keeps alive together (HISTORY_TTL after the room's last write),
 * in the order LOG_KEYS_LUA reads them; the standing keys (bans, mutes) come first and never expire.
 */
export const logWriteKeys = (k: RoomKeys) => [k.bans, k.mutes, k.log, k.n, k.changes, k.reads, k.reactions, k.mentions, k.msgs];

/** A user's keys and channel. */
export function userKeys(prefix: string, userId: string) {
  const base = `${prefix}user:{${userId}}`;
  return {
    /** Live direct messages to the user: `{"c":<inbox id>,"m":<message>}`. */
    channel: base,
    /** The user's inbox: a stream of references to the direct messages sent to them (see inbox.ts). */
    inbox: `${base}:inbox`,
  };
}

/** Instance-wide control events, on a single Redis. */
export function controlKeys(prefix: string) {
  return {
    /** Control events as they are published: `{"c":<log id>,"e":<event>}`. */
    channel: `${prefix}control`,
    /** The control events of the last HISTORY_TTL (see control.ts). */
    log: `${prefix}control:log`,
  };
}

/**
 * Instance-wide control events on a cluster: the channel is sharded like every other (one
 * subscriber mechanism to confirm), so it shares its log's slot through the `{control}` tag.
 */
export function clusterControlKeys(prefix: string) {
  return {
    channel: `${prefix}{control}`,
    log: `${prefix}{control}:log`,
  };
}
