import type { RedisClient } from '../../store/redis-client.js';
import { defineScript } from '../../store/redis-client.js';
import type { StoredMessage } from '../types.js';
import { userKeys } from './keys.js';
import { LOG_AND_PUBLISH_LUA, WRITE_PRELUDE } from './lua.js';

/*
 * A user's inbox: `user:{id}:inbox`, a stream of references (room, message id) to the direct
 * messages sent to them, never their text (a deleted message's text must leave storage: it lives
 * in its room's log only). The notify script adds the reference and publishes the message on the
 * user's channel in one step, in the user's slot; after a reconnect the engine fills a user
 * channel's gap from the inbox, reading each message in its current state from its room.
 *
 * A direct message is thus two single-slot steps: the append (room slot), then the notification
 * (user slot). The second is best effort: if Redis fails between them, or the instance dies, the
 * message is in the conversation (history, unread counts) but directMessageAdded misses it.
 */

/*
 * KEYS: inbox. ARGV: deadline ('' = none), publish command, maxlen, ttl ms, room, message id,
 * message JSON, channel, '1' when the append was a retry (then a reference already there for this
 * message, from the first attempt, is not added twice). Answers the reference's inbox id.
 */
const NOTIFY = `${WRITE_PRELUDE}${LOG_AND_PUBLISH_LUA}
if ARGV[9] == '1' then
  local since = math.max(0, tonumber(string.match(ARGV[6], '^(%d+)-')) - 60000)
  for _, entry in ipairs(redis.call('XRANGE', KEYS[1], string.format('%d', since), '+')) do
    local f = fields_of(entry)
    if f.r == ARGV[5] and f.m == ARGV[6] then return entry[1] end
  end
end
return log_and_publish({ 'r', ARGV[5], 'm', ARGV[6] }, 'm', ARGV[7], ARGV[8])
`;

export interface RedisInboxOptions {
  readonly client: RedisClient;
  readonly keyPrefix: string;
  readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  /** References kept per user: at least this many (trimming is approximate). */
  readonly historyLimit: number;
  /** Seconds a reference is kept. */
  readonly historyTtl: number;
}

/** A reference in an inbox: which message, where. */
export interface InboxEntry {
  readonly cursor: string;
  readonly room: string;
  readonly id: string;
}

export type RedisInbox = ReturnType<typeof createRedisInbox>;

export function createRedisInbox({ client, keyPrefix: p, publishCommand, historyLimit, historyTtl }: RedisInboxOptions) {
  const notifyScript = defineScript(client, 'chatInboxNotify', NOTIFY);
  return {
    /** Adds the reference and publishes the message to the user (the append's second step). */
    async notify(userId: string, message: StoredMessage, retried: boolean): Promise<void> {
      const k = userKeys(p, userId);
      await notifyScript(1, k.inbox, '', publishCommand, historyLimit, historyTtl * 1000, message.room, message.id, JSON.stringify(message), k.channel, retried ? '1' : '0');
    },
    /** The id of the newest reference; '0-0' for an empty inbox. */
    async head(userId: string): Promise<string> {
      const [latest] = await client.xrevrange(userKeys(p, userId).inbox, '+', '-', 'COUNT', 1);
      return latest?.[0] ?? '0-0';
    },
    /** References after a cursor, oldest first. */
    async after(userId: string, cursor: string, limit: number): Promise<InboxEntry[]> {
      const page = await client.xrange(userKeys(p, userId).inbox, `(${cursor}`, '+', 'COUNT', limit);
      return page.map(([id, fields]) => {
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
        return { cursor: id, room: f.r ?? '', id: f.m ?? '' };
      });
    },
  };
}
