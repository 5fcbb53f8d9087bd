import type { RedisClient } from '../../store/redis-client.js';
import { defineScript, guarded } from '../../store/redis-client.js';
import { isControlEvent } from '../payloads.js';
import type { ControlBus, ControlEvent } from '../types.js';
import type { Channels, Delivered } from './channels.js';
import { LOG_AND_PUBLISH_LUA, WRITE_PRELUDE } from './lua.js';

/*
 * Control events (a revoked login, a removed member) in a log as well as on a channel: the script
 * appends the event to the control log (`control:log`, on a cluster `{control}:log`) and publishes it with its log id in one step, and after a
 * reconnect the engine fills the control channel's gap from the log, before any room's, so a
 * revocation published while an instance's subscriber was down still takes effect there (before
 * the room messages it missed go out). Kept for HISTORY_TTL (at most CONTROL_LOG_LIMIT events): an
 * outage longer than that would lose what was trimmed.
 */

/** Events kept at least (trimming is approximate). */
const CONTROL_LOG_LIMIT = 100_000;

/** KEYS: log. ARGV: deadline ('' = none), publish command, maxlen, ttl ms, event JSON, channel. Answers the event's log id. */
const PUBLISH_EVENT = `${WRITE_PRELUDE}${LOG_AND_PUBLISH_LUA}
return log_and_publish({ 'e', ARGV[5] }, 'e', ARGV[5], ARGV[6])
`;

export interface RedisControlOptions {
  readonly client: RedisClient;
  readonly channels: Channels;
  /** The channel and its log (keys.ts: controlKeys, clusterControlKeys). */
  readonly keys: { readonly channel: string; readonly log: string };
  readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  /** Seconds an event is kept for filling gaps. */
  readonly historyTtl: number;
}

/** A control payload: `{c, e}` from the script; a bare event from an instance of an earlier version (no log id). */
function decode(payload: unknown): Delivered<ControlEvent> | null {
  if (isControlEvent(payload)) return { cursor: null, value: payload };
  const p = payload as { c?: unknown; e?: unknown } | null;
  return typeof p?.c === 'string' && isControlEvent(p.e) ? { cursor: p.c, value: p.e } : null;
}

export function createRedisControl({ client, channels, keys: k, publishCommand, historyTtl }: RedisControlOptions): ControlBus {
  const publishScript = defineScript(client, 'chatControlPublish', PUBLISH_EVENT);
  return {
    async publish(event) {
      await guarded('broadcast', () => publishScript(1, k.log, '', publishCommand, CONTROL_LOG_LIMIT, historyTtl * 1000, JSON.stringify(event), k.channel));
    },
    subscribe(listener) {
      return channels.subscribe<ControlEvent>(
        k.channel,
        {
          decode,
          fillFirst: true,
          log: {
            async head() {
              const [latest] = await client.xrevrange(k.log, '+', '-', 'COUNT', 1);
              return latest?.[0] ?? '0-0';
            },
            async after(cursor, limit) {
              const page = await client.xrange(k.log, `(${cursor}`, '+', 'COUNT', limit);
              return page.map(([id, fields]) => {
                let event: unknown = null;
                try {
                  event = JSON.parse(fields[fields.indexOf('e') + 1] ?? 'null');
                } catch {
                  // not an event: the cursor moves on
                }
                return { cursor: id, value: isControlEvent(event) ? event : null };
              });
            },
          },
        },
        listener,
      );
    },
  };
}
