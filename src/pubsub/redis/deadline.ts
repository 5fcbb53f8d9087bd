import { Cluster } from 'ioredis';
import { BackendUnavailableError } from '../../errors.js';
import { type RedisClient, toBackendError } from '../../store/redis-client.js';

/** How much earlier than the client's command timeout a write must have run, for the reply to arrive in time. */
const DEADLINE_MARGIN_MS = 100;

/**
 * The deadline a writing script gets (WRITE_PRELUDE's ARGV[1]): the earlier of the caller's and the
 * client's (the script must not run after the client gave up); '' for none.
 */
export function deadlineOf(client: RedisClient, callerDeadline: number | undefined): number | '' {
  const timeout = client instanceof Cluster ? client.options.redisOptions?.commandTimeout : client.options.commandTimeout;
  const clientDeadline = typeof timeout === 'number' ? Date.now() + timeout - Math.min(DEADLINE_MARGIN_MS, timeout / 4) : Infinity;
  const deadline = Math.floor(Math.min(callerDeadline ?? Infinity, clientDeadline));
  return Number.isFinite(deadline) ? deadline : '';
}

/** A failed write as the caller sees it: refused for its deadline, or the backend unavailable. */
export function writeFailure(err: unknown, what: string): Error {
  return err instanceof Error && err.message.startsWith('DEADLINE') ? new BackendUnavailableError(err.message, { cause: err }) : toBackendError(err, what);
}
