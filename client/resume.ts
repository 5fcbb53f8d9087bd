// Resumed subscriptions: graphql-ws's client, wrapped so that messageAdded and roomEvents
// operations resume from the last id they delivered after every reconnect, and are started again
// after an error the server ends them with for a passing reason (RATE_LIMITED, SERVICE_UNAVAILABLE).
import { Kind, parse, type GraphQLFormattedError } from 'graphql';
import type { Client, FormattedExecutionResult, Sink, SubscribePayload } from 'graphql-ws';

/** Compares two message ids (`<ms>-<seq>`) by their two numbers. */
export function compareMessageIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

/** How far this machine's clock may be ahead of the server's when a subscription has no cursor yet. */
const CLOCK_TOLERANCE_MS = 2000;
const RETRIABLE_SUBSCRIPTION_CODES = new Set(['RATE_LIMITED', 'SERVICE_UNAVAILABLE']);

/**
 * The subscription fields that take `after` and deliver objects whose `id` is a strictly increasing
 * stream id of the room's log: a message id (messageAdded) or an event id (roomEvents).
 */
const RESUMABLE_FIELDS = new Set(['messageAdded', 'roomEvents']);

/** Where a subscription operation takes a resumable field's `after`, or null when it cannot be resumed. */
interface ResumePoint {
  /** The response key of the resumable field (its alias, if any). */
  readonly field: string;
  /** The variable passed as `after`. */
  readonly variable: string;
}

const resumePoints = new Map<string, ResumePoint | null>();
function resumePoint(payload: SubscribePayload): ResumePoint | null {
  const key = `${payload.operationName ?? ''}\n${payload.query}`;
  if (resumePoints.has(key)) return resumePoints.get(key)!;
  let point: ResumePoint | null = null;
  try {
    const doc = parse(payload.query, { noLocation: true });
    const ops = doc.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    const op = ops.find((d) => !payload.operationName || d.name?.value === payload.operationName);
    if (op?.operation === 'subscription') {
      for (const sel of op.selectionSet.selections) {
        if (sel.kind !== Kind.FIELD || !RESUMABLE_FIELDS.has(sel.name.value)) continue;
        const after = sel.arguments?.find((a) => a.name.value === 'after');
        if (after?.value.kind === Kind.VARIABLE) point = { field: sel.alias?.value ?? sel.name.value, variable: after.value.name.value };
      }
    }
  } catch {
    point = null; // not ours to judge: the server answers with the syntax error
  }
  if (resumePoints.size > 200) resumePoints.clear();
  resumePoints.set(key, point);
  return point;
}

/**
 * `ws` with `subscribe` and `iterate` that resume messageAdded and roomEvents (see above), and a
 * `dispose` that does not reject when it meets a reconnect attempt that found no subscription
 * left: graphql-ws's dispose waits for that attempt, which ends with `{ code: 1000, reason:
 * 'All Subscriptions Gone' }` (graphql-ws #565), so a page that disposes its client after its
 * session ended got an unhandled rejection (and Node ends the process on one).
 */
export function resumingClient(ws: Client): Client {
  async function dispose() {
    try {
      await ws.dispose();
    } catch (err) {
      if ((err as { reason?: unknown } | null)?.reason !== 'All Subscriptions Gone') throw err;
    }
  }

  /** ws.subscribe, resuming messageAdded and roomEvents from the last id they delivered after every reconnect. */
  function subscribe<Data = Record<string, unknown>, Ext = unknown>(
    payload: SubscribePayload,
    sink: Sink<FormattedExecutionResult<Data, Ext>>,
  ): () => void {
    const point = resumePoint(payload);
    if (!point) return ws.subscribe(payload, sink);
    let lastId = (payload.variables?.[point.variable] as string | null | undefined) ?? undefined;
    // Without a cursor and before the first message, a resubscribe starts from when this one did
    // (by this machine's clock, less a tolerance): no gap, at worst a few older messages.
    const since = `${Date.now() - CLOCK_TOLERANCE_MS}-0`;
    let frames = 0;
    let frame: Record<string, unknown> | undefined;
    // graphql-ws serialises the payload again for every (re)subscribe: the getter makes each resume
    // from lastId. One frame reads it more than once (validation, then JSON.stringify, in one
    // synchronous step): every read of a frame gets the same value, and only later frames are resumes.
    const tracked: SubscribePayload = {
      query: payload.query,
      operationName: payload.operationName,
      extensions: payload.extensions,
      get variables() {
        if (!frame) {
          frame = { ...payload.variables, [point.variable]: lastId ?? (frames++ > 0 ? since : null) };
          queueMicrotask(() => {
            frame = undefined;
          });
        }
        return frame;
      },
    };
    let stop: (() => void) | undefined;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let ended = false;
    const start = () => {
      stop = ws.subscribe<Data, Ext>(tracked, {
        next(result) {
          const message = (result.data as Record<string, { id?: unknown } | null> | null | undefined)?.[point.field];
          const id = typeof message?.id === 'string' ? message.id : undefined;
          if (id !== undefined) {
            if (lastId !== undefined && compareMessageIds(id, lastId) <= 0) return; // seen already
            lastId = id;
          }
          sink.next(result);
        },
        error(err) {
          // a subscriber that fell behind (or a Redis hiccup) is ended by the server: resubscribe from lastId
          const errors = Array.isArray(err) ? (err as GraphQLFormattedError[]) : [];
          const code = errors[0]?.extensions?.code;
          if (!ended && typeof code === 'string' && RETRIABLE_SUBSCRIPTION_CODES.has(code)) {
            const retryAfter = Number(errors[0]?.extensions?.retryAfter ?? 1);
            retryTimer = setTimeout(start, Math.max(0.2, Math.min(retryAfter, 30)) * 1000);
            return;
          }
          ended = true;
          sink.error(err);
        },
        complete() {
          sink.complete();
        },
      });
    };
    start();
    return () => {
      ended = true;
      clearTimeout(retryTimer);
      stop?.();
    };
  }

  function iterate<Data = Record<string, unknown>, Ext = unknown>(payload: SubscribePayload): AsyncIterableIterator<FormattedExecutionResult<Data, Ext>> {
    const queue: FormattedExecutionResult<Data, Ext>[] = [];
    let wake = () => {};
    let done = false;
    let failure: unknown;
    const dispose = subscribe<Data, Ext>(payload, {
      next: (value) => {
        queue.push(value);
        wake();
      },
      error: (err) => {
        failure = err;
        done = true;
        wake();
      },
      complete: () => {
        done = true;
        wake();
      },
    });
    const iterator: AsyncIterableIterator<FormattedExecutionResult<Data, Ext>> = {
      [Symbol.asyncIterator]: () => iterator,
      async next() {
        while (!queue.length && !done) await new Promise<void>((resolve) => (wake = resolve));
        if (queue.length) return { value: queue.shift()!, done: false };
        if (failure !== undefined) throw failure;
        return { value: undefined, done: true };
      },
      async return() {
        done = true;
        dispose();
        wake();
        return { value: undefined, done: true };
      },
    };
    return iterator;
  }

  return { on: ws.on, subscribe, iterate, terminate: ws.terminate, dispose };
}
