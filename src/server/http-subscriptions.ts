import type { ExecutionResult } from 'graphql';
import { GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { chatError, ErrorCode, unauthenticated } from '../errors.js';
import { REVOKED_LOGIN } from '../resolvers/auth.js';
import type { ChatContext } from '../resolvers/context.js';
import type { Revocations } from '../resolvers/revocations.js';
import type { Release, StreamLimits } from './stream-limits.js';

export interface HttpSubscriptionOptions {
  /** Where a revoked login (logout, refresh-token reuse, on any instance) is announced. */
  readonly revocations: Revocations;
  /** Caps on live connections per user and per address, shared with the WebSockets. */
  readonly streams: StreamLimits;
  readonly now?: () => number;
}

/** What a subscription's context holds over HTTP: yoga's Fetch request beside ours. */
type HttpContext = Partial<ChatContext> & { readonly request?: Request };

/**
 * Subscriptions over HTTP (SSE) live by the same rules as a WebSocket's, and never longer than
 * their response:
 * - one whose request does not accept an event stream is refused before it starts, with 406 and
 *   extensions.code NOT_ACCEPTABLE (yoga would start it, then answer 406 and leave it running);
 * - one past the caps on live connections per user or per address gets 429 RATE_LIMITED;
 * - a stream ends with an UNAUTHENTICATED error event, then the end of the stream, when its access
 *   token expires and at once when its login is revoked on any instance;
 * - and any subscription that no result processor streams is closed (belt and braces for the first rule).
 * graphql-ws operations carry no Fetch request and are left to the socket's own rules (src/server/ws.ts).
 */
export function useHttpSubscriptionLifetime({ revocations, streams, now = Date.now }: HttpSubscriptionOptions): Plugin {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as HttpContext;
      if (!ctx.request) return;
      if (!acceptsEventStream(ctx.request.headers.get('accept'))) {
        setResultAndStopExecution({ errors: [notAcceptable()] });
        return;
      }
      const viewer = ctx.viewer;
      if (!viewer) return; // the resolver answers UNAUTHENTICATED
      const byUser = streams.forUser(viewer.id);
      const byAddress = byUser && streams.forAddress(ctx.clientAddress ?? null);
      if (!byUser || !byAddress) {
        byUser?.();
        setResultAndStopExecution({ errors: [tooManyStreams(byUser ? 'address' : 'user')] });
        return;
      }
      const release = () => {
        byUser();
        byAddress();
      };
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) return release();
          const ends = {
            atMs: viewer.expiresAt * 1000,
            watchRevocation: (end: () => void) => revocations.watchLogin(viewer.familyId, end),
          };
          setResult(lifetime(result as AsyncIterable<ExecutionResult>, ends, release, now));
        },
      };
    },
    onResultProcess({ result, resultProcessor }) {
      if (resultProcessor || !isAsyncIterable(result)) return;
      void (result as AsyncIterable<unknown>)[Symbol.asyncIterator]().return?.();
    },
  };
}

/**
 * Whether the Accept header lets yoga answer a subscription with an event stream, by yoga's own
 * matching (no header is *\/*; a charset other than utf-8 disqualifies a type). Yoga streams
 * subscriptions as SSE only (multipart/mixed is for incremental delivery of queries).
 */
export function acceptsEventStream(accept: string | null): boolean {
  for (const part of (accept || '*/*').replace(/\s/g, '').toLowerCase().split(',')) {
    const [type = '', ...params] = part.split(';');
    const charset = params.find((p) => p.includes('charset='));
    if (charset && charset !== 'charset=utf-8') continue;
    const [kind, subtype] = type.split('/');
    if ((kind === '*' || kind === 'text') && (subtype === '*' || subtype === 'event-stream')) return true;
  }
  return false;
}

const notAcceptable = () =>
  new GraphQLError('A subscription over HTTP is answered as an event stream: send Accept: text/event-stream, or subscribe over WebSocket.', {
    extensions: { code: 'NOT_ACCEPTABLE', http: { status: 406 } },
  });

const tooManyStreams = (per: 'user' | 'address') =>
  chatError(ErrorCode.RateLimited, `Too many live connections (WebSockets and SSE streams) for this ${per} on this server: close one first.`, {
    retryAfter: 5,
    http: { status: 429 },
  });

interface Ends {
  /** Unix ms when the access token expires. */
  readonly atMs: number;
  /** Calls `end` when the login is revoked; returns what stops watching. */
  readonly watchRevocation: (end: () => void) => () => void;
}

/**
 * `source`, ended by the token's expiry or the login's revocation: the reader gets one result with
 * an UNAUTHENTICATED error, then the end; the source is closed at once. `release` runs once,
 * however the stream ends.
 */
function lifetime(source: AsyncIterable<ExecutionResult>, ends: Ends, release: Release, now: () => number): AsyncIterableIterator<ExecutionResult> {
  const inner = source[Symbol.asyncIterator]();
  let last: ExecutionResult | null = null;
  let done = false;
  let interrupt: (() => void) | null = null;
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    clearTimeout(timer);
    unwatch();
    release();
  };
  const end = (error: GraphQLError) => {
    if (done || last) return;
    last = { errors: [error] };
    cleanup();
    void inner.return?.()?.catch(() => {});
    interrupt?.();
  };
  const timer = setTimeout(
    () => end(unauthenticated('The access token has expired: refresh it, then subscribe again (with after).')),
    Math.min(Math.max(0, ends.atMs - now()), 2 ** 31 - 1),
  );
  const unwatch = ends.watchRevocation(() => end(unauthenticated(REVOKED_LOGIN)));
  const finish = async () => {
    done = true;
    cleanup();
    await inner.return?.();
  };

  const iterator: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      if (done) return { value: undefined, done: true };
      if (!last) {
        const interrupted = new Promise<null>((resolve) => {
          interrupt = () => resolve(null);
        });
        let r: IteratorResult<ExecutionResult> | null;
        try {
          r = await Promise.race([inner.next(), interrupted]);
        } catch (err) {
          await finish();
          throw err;
        } finally {
          interrupt = null;
        }
        if (r) {
          if (r.done) await finish();
          return r;
        }
      }
      done = true;
      return { value: last!, done: false };
    },
    async return() {
      await finish();
      return { value: undefined, done: true };
    },
    async throw(error) {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
