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
    changes: `${base}:changes`,
    reads: `${base}:reads`,
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
