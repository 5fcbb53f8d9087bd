import { createSourceEventStream, type ExecutionArgs, type ExecutionResult, type GraphQLError, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { canHandOff, HAND_OFF } from '../resolvers/live-stream.js';
import { slowSubscriber } from '../resolvers/subscriptions.js';
import { createLiveResults, type LivePlan } from './live-results.js';
import type { Logger } from './logger.js';
import type { ChatMetrics } from './metrics.js';
import { maskError, reportErrors } from './yoga.js';

/**
 * The live path: how the results of a WebSocket subscription reach its socket, from the engine's
 * listener to the frame, in one place.
 *
 * graphql-ws keeps the protocol (connection, subscribe, complete, and the `error` frame that ends
 * an operation); every `next` of a subscription goes out from here, whether it came from the
 * backlog or live, was shared or made for one subscriber. Each result is masked and its errors
 * logged as over HTTP (`present`), serialised once per shape and event (src/server/live-results.ts)
 * and written as a frame through the transport's bounded send.
 *
 * A subscription is routed here by its execution arguments (graphql-ws hands the arguments that
 * onSubscribe returned to subscribe, and envelop hands them on): `route` is called from
 * onSubscribe, and the envelop plugin runs routed subscriptions instead of graphql-js's subscribe.
 * The iterable it returns yields nothing: it ends when the subscription ends, and fails with the
 * error that ended it, which graphql-ws sends as the `error` frame (through onError: `errors`).
 *
 * Once a subscription has caught up (its backlog sent, its queue empty), its event stream is
 * handed off (src/resolvers/live-stream.ts): the engine's listener then reaches `deliver`
 * synchronously, with no promise per subscriber and event.
 */
export interface LivePath {
  /** Sends the results of the subscription `args` through `route` (from graphql-ws's onSubscribe). */
  route(args: ExecutionArgs, route: LiveRoute): void;
  /** The envelop plugin that runs routed subscriptions (in yoga's plugins). */
  readonly plugin: Plugin;
  /** Errors that end an operation, as the client may see them (graphql-ws's onError). */
  errors(errors: readonly GraphQLError[]): ReturnType<GraphQLError['toJSON']>[];
}

/** Where one operation's frames go. */
export interface LiveRoute {
  /** The operation id, as in its frames. */
  readonly id: string;
  /** Writes a frame, bounded per socket (a slow reader is closed, not buffered without limit). */
  send(frame: string): void;
}

export interface LivePathOptions {
  readonly schema: GraphQLSchema;
  readonly logger: Logger;
  readonly metrics: ChatMetrics;
  /** Results waiting for an asynchronous execution, per subscriber, before it is ended as too slow. @default 1000 */
  readonly pendingLimit?: number;
}

export function createLivePath(options: LivePathOptions): LivePath {
  const { logger, metrics } = options;
  const pendingLimit = options.pendingLimit ?? 1000;
  const routes = new WeakMap<ExecutionArgs, LiveRoute>();
  const requestIdOf = (ctx: unknown) => (ctx as { requestId?: string } | null | undefined)?.requestId;

  /** Masks a result's errors and logs the unexpected ones, as HTTP does; `ctx` null for a shared result. */
  const present = (result: ExecutionResult, ctx: unknown): ExecutionResult => {
    if (!result.errors?.length) return result;
    reportErrors(logger, result.errors, { requestId: requestIdOf(ctx) ?? (ctx === null ? 'shared' : undefined), phase: 'subscription' });
    return { ...result, errors: result.errors.map(maskError) };
  };
  const results = createLiveResults({
    schema: options.schema,
    present,
    onSharedExecution: () => metrics.sharedExecutions.inc(),
    onSubscriberExecution: () => metrics.subscriberExecutions.inc(),
  });

  const run = async (args: ExecutionArgs, route: LiveRoute): Promise<AsyncIterable<never> | ExecutionResult> => {
    const source = await createSourceEventStream(args);
    // refused at subscribe (access, input): a result with errors, as graphql-js's subscribe gives it
    if (!isAsyncIterable(source)) return source;
    return follow(source[Symbol.asyncIterator](), results.plan(args), route, args.contextValue);
  };

  /** Delivers every event of `stream` to `route`; the returned iterable ends (or fails) with the stream. */
  const follow = (stream: AsyncIterator<unknown>, plan: LivePlan, route: LiveRoute, ctx: unknown): AsyncIterableIterator<never> => {
    const prefix = `{"id":${JSON.stringify(route.id)},"type":"next","payload":`;
    let open = true;
    /** Set when this path ends the subscription itself (too many results pending). */
    let failure: unknown = null;
    /** Results waiting for an asynchronous execution, in event order; null when none. */
    let chain: Promise<void> | null = null;
    let pending = 0;
    const write = (json: string) => {
      if (!open) return;
      route.send(`${prefix}${json}}`);
      metrics.sharedDeliveries.inc();
    };
    const fail = (error: unknown) => {
      failure ??= error;
      // the stream's next() then ends, and `ended` throws the failure
      void stream.return?.();
    };
    /** The hand-off's push: the engine's listener calls it for every event once caught up. */
    const deliver = (event: unknown) => {
      if (!open || failure !== null) return;
      const json = plan.json(event);
      if (chain === null && typeof json === 'string') return write(json);
      if (pending >= pendingLimit) return fail(slowSubscriber());
      pending++;
      const next: Promise<void> = (chain ?? Promise.resolve())
        .then(() => json)
        .then(write, fail)
        .finally(() => {
          pending--;
          if (chain === next) chain = null;
        });
      chain = next;
    };
    const ended = (async () => {
      try {
        let handedOff = false;
        for (;;) {
          if (!handedOff && canHandOff(stream)) handedOff = stream[HAND_OFF](deliver);
          // once handed off, next() settles only when the stream ends or fails
          const r = await stream.next();
          if (r.done) break;
          const json = plan.json(r.value);
          write(typeof json === 'string' ? json : await json);
        }
        await chain;
      } catch (err) {
        failure ??= err;
      }
      if (failure !== null) {
        reportErrors(logger, [failure], { requestId: requestIdOf(ctx), phase: 'subscription' });
        throw failure;
      }
    })();
    const iterator: AsyncIterableIterator<never> = {
      async next() {
        try {
          await ended;
        } finally {
          open = false;
        }
        return { value: undefined as never, done: true };
      },
      async return() {
        open = false;
        await stream.return?.();
        return { value: undefined as never, done: true };
      },
      async throw(error) {
        open = false;
        await stream.return?.();
        throw error;
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    // the failure reaches graphql-ws through next(); this only keeps an unread one from counting as unhandled
    ended.catch(() => {});
    return iterator;
  };

  return {
    route(args, route) {
      routes.set(args, route);
    },
    plugin: {
      onSubscribe({ args, setSubscribeFn }) {
        const route = routes.get(args);
        if (route) setSubscribeFn((a) => run(a, route));
      },
    },
    errors(errors) {
      // logged where they were thrown (`follow`), with the original error
      return errors.map((e) => maskError(e).toJSON());
    },
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
