import { createSourceEventStream, type ExecutionArgs, type ExecutionResult, type GraphQLError, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { canHandOff, HAND_OFF } from '../resolvers/live-stream.js';
import { slowSubscriber } from '../resolvers/subscriptions.js';
import { createLiveResults, flat, type LivePlan } from './live-results.js';
import type { Logger } from './logger.js';
import type { ChatMetrics } from './metrics.js';
import { maskError, reportErrors, withoutHttp } from './yoga.js';

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
 * onSubscribe, and the envelop plugin runs routed subscriptions instead of graphql-js's subscribe,
 * after every plugin's onSubscribe (limits, refusals) has had its say. graphql-ws then follows the
 * live operation itself (`operation`), not envelop's wrapping of it: envelop wraps a subscription's
 * iterable to map its results and errors, but no result goes through this one (they go out through
 * `present`, masked and logged as over HTTP), and the wrappers would cost an idle subscription
 * more memory than everything else of ours. The live operation yields nothing: it ends when the
 * subscription ends, and fails with the error that ended it, which graphql-ws sends as the
 * `error` frame (through onError: `errors`).
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
  /**
   * What graphql-ws follows for the subscription `args`, given what envelop's subscribe returned:
   * the live operation when one started, else that result (a refusal, an error at subscribe).
   */
  operation<R>(args: ExecutionArgs, enveloped: R): AsyncIterableIterator<never> | R;
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
  const operations = new WeakMap<ExecutionArgs, LiveOperation>();
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

  const hooks: OperationHooks = {
    pendingLimit,
    delivered: () => metrics.sharedDeliveries.inc(),
    ended: (failure, ctx) => reportErrors(logger, [failure], { requestId: requestIdOf(ctx), phase: 'subscription' }),
  };
  /** Delivers every event of `stream` to `route`; the returned iterable ends (or fails) with the stream. */
  const follow = (stream: AsyncIterator<unknown>, plan: LivePlan, route: LiveRoute, ctx: unknown): AsyncIterableIterator<never> =>
    new LiveOperation(stream, plan, route, hooks, ctx);

  return {
    route(args, route) {
      routes.set(args, route);
    },
    plugin: {
      onSubscribe({ args, setSubscribeFn }) {
        const route = routes.get(args);
        if (!route) return;
        setSubscribeFn(async (a) => {
          const result = await run(a, route);
          if (result instanceof LiveOperation) operations.set(args, result);
          return result;
        });
      },
    },
    operation(args, enveloped) {
      return operations.get(args) ?? enveloped;
    },
    errors(errors) {
      // logged where they were thrown (`follow`), with the original error
      return errors.map((e) => withoutHttp(maskError(e).toJSON()));
    },
  };
}

interface OperationHooks {
  readonly pendingLimit: number;
  delivered(): void;
  /** The failure that ends the operation (of the subscriber with context `ctx`), before it reaches graphql-ws. */
  ended(failure: unknown, ctx: unknown): void;
}

/**
 * One subscription on the live path: sends each event's result to its route, in event order, and
 * is the iterable graphql-ws waits on (it yields nothing; it ends or fails with the stream). Once
 * handed off, an idle subscription holds no pending promise but the one graphql-ws waits on. One
 * per subscription, so a class: its methods are not closures per subscriber.
 */
class LiveOperation implements AsyncIterableIterator<never> {
  private readonly prefix: string;
  private open = true;
  /** Why it ended, when not normally; null while it has not (or ended normally). */
  private failure: unknown = null;
  private finished = false;
  /** Results waiting for an asynchronous execution, in event order; null when none. */
  private chain: Promise<void> | null = null;
  private pending = 0;
  /** Settles when the operation ends: what graphql-ws's next() waits for. */
  private readonly done: Promise<void>;
  private settle!: (failure: unknown) => void;

  constructor(
    private readonly stream: AsyncIterator<unknown>,
    private readonly plan: LivePlan,
    private readonly route: LiveRoute,
    private readonly hooks: OperationHooks,
    private readonly ctx: unknown,
  ) {
    this.prefix = flat(`{"id":${JSON.stringify(route.id)},"type":"next","payload":`);
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = (failure) => (failure === null ? resolve() : reject(failure));
    });
    // the failure reaches graphql-ws through next(); this only keeps an unread one from counting as unhandled
    this.done.catch(() => {});
    this.pull();
  }

  /** The hand-off's push: the engine's listener calls it for every event once caught up. */
  private readonly deliver = (event: unknown): void => {
    if (!this.open) return;
    const json = this.plan.json(event);
    if (this.chain === null && typeof json === 'string') {
      this.write(json);
      return;
    }
    if (this.pending >= this.hooks.pendingLimit) {
      this.fail(slowSubscriber());
      return;
    }
    this.pending++;
    const next: Promise<void> = (this.chain ?? Promise.resolve())
      .then(() => json)
      .then(
        (j) => this.write(j),
        (err: unknown) => this.fail(err),
      )
      .finally(() => {
        this.pending--;
        if (this.chain === next) this.chain = null;
      });
    this.chain = next;
  };

  /** The hand-off's end: the stream calls it once, with the error that ended it if one did. */
  private readonly end = (error?: unknown): void => this.finish(error === undefined ? null : error);

  private write(json: string): void {
    if (!this.open) return;
    this.route.send(`${this.prefix}${json}}`);
    this.hooks.delivered();
  }

  /** Ends the subscription from this side (too many results pending): the stream's end follows. */
  private fail(error: unknown): void {
    this.failure ??= error;
    void this.stream.return?.();
  }

  /** Reads until caught up (backlog, queued events), then hands the stream off. */
  private pull(): void {
    const { stream } = this;
    if (canHandOff(stream) && stream[HAND_OFF](this.deliver, this.end)) return;
    stream.next().then(
      (r) => {
        if (r.done) return this.finish(null);
        const json = this.plan.json(r.value);
        if (typeof json === 'string') {
          this.write(json);
          return this.pull();
        }
        json.then(
          (j) => {
            this.write(j);
            this.pull();
          },
          (err: unknown) => this.finish(err),
        );
      },
      (err: unknown) => this.finish(err),
    );
  }

  /** The stream ended (`failure` null) or failed: after the results still pending, or at once on failure. */
  private finish(failure: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.failure ??= failure;
    const settle = () => {
      this.open = false;
      if (this.failure !== null) this.hooks.ended(this.failure, this.ctx);
      this.settle(this.failure);
    };
    // a normal end waits for the results still being made; a failure (access lost, too slow:
    // maybe because of them) sends nothing more
    if (this.chain && this.failure === null) void this.chain.then(settle, settle);
    else settle();
  }

  next(): Promise<IteratorResult<never>> {
    return this.done.then(DONE);
  }

  return(): Promise<IteratorResult<never>> {
    this.open = false;
    return Promise.resolve(this.stream.return?.()).then(DONE);
  }

  throw(error?: unknown): Promise<IteratorResult<never>> {
    this.open = false;
    return Promise.resolve(this.stream.return?.()).then(() => Promise.reject(error));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

const DONE = (): IteratorResult<never> => ({ value: undefined as never, done: true });

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
