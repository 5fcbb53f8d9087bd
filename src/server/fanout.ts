import {
  createSourceEventStream,
  execute,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { canHandOff, HAND_OFF as HAND_OFF_KEY } from '../pubsub/queue.js';

/**
 * Set in the context by a transport that can send a shared result to its subscriber at once
 * (graphql-ws): then a caught-up subscription is handed off to it (see HAND_OFF), and live events
 * reach the socket synchronously from the engine's listener, with no per-subscriber async chain.
 */
export interface LiveSink {
  readonly liveSink?: (result: ExecutionResult) => void;
}

/**
 * Fan-out without repeated work: a live event reaching many subscribers of the same document and
 * variables on this instance is executed once and serialised once, instead of once per subscriber.
 *
 * Sharing is safe only when the selection does not depend on the viewer: a field whose result
 * differs per viewer declares `extensions: { viewerDependent: true }` in the schema, and a
 * document that selects one anywhere (fragments included) is executed per subscriber as usual.
 * The shared result is keyed by the event object itself, which the engines hand to every local
 * listener as one object (see src/pubsub), so entries go when the event is no longer referenced.
 */

const shareable = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, boolean>>();
/** event -> (document + variables) -> result */
const results = new WeakMap<object, Map<string, ExecutionResult>>();
const documentIds = new WeakMap<DocumentNode, number>();
let nextDocumentId = 0;
/** JSON of shared results, serialised on first use. */
const serialised = new WeakMap<ExecutionResult, string>();
const sharedResults = new WeakSet<ExecutionResult>();

/** True when no field the document selects is marked viewer-dependent. */
export function isShareable(schema: GraphQLSchema, document: DocumentNode): boolean {
  let bySchema = shareable.get(schema);
  if (!bySchema) shareable.set(schema, (bySchema = new WeakMap()));
  const known = bySchema.get(document);
  if (known !== undefined) return known;
  let ok = true;
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        if (typeInfo.getFieldDef()?.extensions?.viewerDependent) ok = false;
      },
    }),
  );
  bySchema.set(document, ok);
  return ok;
}

function shapeKey(args: ExecutionArgs): string {
  let id = documentIds.get(args.document);
  if (id === undefined) documentIds.set(args.document, (id = nextDocumentId++));
  return `${id}\n${args.operationName ?? ''}\n${args.variableValues ? JSON.stringify(args.variableValues) : ''}`;
}

/** Executes `args` for one event, or returns the result already made for the same event and shape. */
/** `key` is the subscription's shapeKey, made once per subscription (it is on the path of every delivery). */
function executeShared(args: ExecutionArgs, key: string, event: unknown, onExecute: () => void): ExecutionResult | Promise<ExecutionResult> {
  if (typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
  let byShape = results.get(event);
  const cached = byShape?.get(key);
  if (cached) return cached;
  onExecute();
  const result = execute({ ...args, rootValue: event });
  const remember = (r: ExecutionResult) => {
    if (!byShape) results.set(event, (byShape = new Map()));
    byShape.set(key, r);
    sharedResults.add(r);
    return r;
  };
  return result instanceof Promise ? result.then(remember) : remember(result);
}

/** The JSON of a result shared between subscribers (serialised once), or undefined for any other result. */
export function sharedJson(result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null || !sharedResults.has(result as ExecutionResult)) return undefined;
  const r = result as ExecutionResult;
  let json = serialised.get(r);
  if (json === undefined) serialised.set(r, (json = JSON.stringify(r)));
  return json;
}

export interface SharedExecutionOptions {
  /** Called for each execution of a live event on the shared path (metrics). */
  readonly onExecute?: () => void;
}

/** The envelop plugin: shareable subscriptions map their source events through executeShared. */
export function useSharedSubscriptionExecution(options: SharedExecutionOptions = {}): Plugin {
  const onExecute = options.onExecute ?? (() => {});
  return {
    onSubscribe({ args, setSubscribeFn }) {
      if (!isShareable(args.schema, args.document)) return;
      setSubscribeFn(async (subscribeArgs) => {
        const source = await createSourceEventStream(subscribeArgs);
        if (!isAsyncIterable(source)) return source;
        const iterator = source[Symbol.asyncIterator]();
        const sink = (subscribeArgs.contextValue as LiveSink | undefined)?.liveSink;
        const key = shapeKey(subscribeArgs);
        let handedOff = false;
        /** Results go out in event order even if one took a promise to execute. */
        let pending: Promise<void> | null = null;
        const push = (event: unknown) => {
          const result = executeShared(subscribeArgs, key, event, onExecute);
          if (!pending && !(result instanceof Promise)) return sink!(result);
          pending = (pending ?? Promise.resolve()).then(async () => sink!(await result));
        };
        const mapped: AsyncIterableIterator<ExecutionResult> = {
          async next() {
            // once caught up, hand the stream off: its next() then only settles when it ends
            if (sink && !handedOff && canHandOff(iterator)) handedOff = iterator[HAND_OFF_KEY](push);
            const r = await iterator.next();
            return r.done ? r : { value: await executeShared(subscribeArgs, key, r.value, onExecute), done: false };
          },
          async return() {
            await iterator.return?.();
            return { value: undefined, done: true };
          },
          async throw(e) {
            await iterator.return?.();
            throw e;
          },
          [Symbol.asyncIterator]() {
            return mapped;
          },
        };
        return mapped;
      });
    },
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
