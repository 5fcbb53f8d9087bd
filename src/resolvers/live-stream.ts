/**
 * A bounded push queue read as an async iterator: the buffer between a topic's listener and one
 * subscriber. When a slow reader lets more than `limit` events pile up, the queue fails with
 * `overflowError()` instead of growing without bound.
 */
export interface EventQueue<T> extends AsyncIterableIterator<T> {
  return(): Promise<IteratorResult<T>>;
  throw(error?: unknown): Promise<IteratorResult<T>>;
  push(value: T): void;
  /** Ends the stream with an error after what is already queued. */
  fail(error: Error): void;
  readonly size: number;
  readonly closed: boolean;
}

export interface EventQueueOptions {
  /** Events held for a reader that is behind. @default 1000 */
  readonly limit?: number;
  /** Past the limit: `fail` ends the stream with overflowError(); `drop-oldest` forgets the oldest event. @default fail */
  readonly overflow?: 'fail' | 'drop-oldest';
  readonly overflowError?: () => Error;
  /** Called once, when the reader returns or the queue fails. */
  readonly onClose?: () => void;
}

export function createEventQueue<T>(options: EventQueueOptions = {}): EventQueue<T> {
  const limit = options.limit ?? 1000;
  const buffer: T[] = [];
  let waiting: ((r: IteratorResult<T>) => void) | null = null;
  let waitingReject: ((e: Error) => void) | null = null;
  let error: Error | null = null;
  let closed = false;

  const close = () => {
    if (closed) return;
    closed = true;
    options.onClose?.();
  };
  const fail = (e: Error) => {
    if (closed || error) return;
    error = e;
    // stop listening now, not when a stalled reader next asks: the error waits for it
    close();
    if (waitingReject) {
      const reject = waitingReject;
      waiting = waitingReject = null;
      error = null;
      reject(e);
    }
  };

  const queue: EventQueue<T> = {
    push(value) {
      if (closed || error) return;
      if (waiting) {
        const resolve = waiting;
        waiting = waitingReject = null;
        resolve({ value, done: false });
        return;
      }
      if (buffer.length >= limit && options.overflow === 'drop-oldest') buffer.shift();
      else if (buffer.length >= limit) {
        buffer.length = 0;
        fail(options.overflowError?.() ?? new Error('subscriber too slow'));
        return;
      }
      buffer.push(value);
    },
    fail,
    get size() {
      return buffer.length;
    },
    get closed() {
      return closed;
    },
    next() {
      if (buffer.length > 0) return Promise.resolve({ value: buffer.shift()!, done: false });
      if (error) {
        // reported once; afterwards the iterator is done, as an async generator would be
        const e = error;
        error = null;
        return Promise.reject(e);
      }
      if (closed) return Promise.resolve({ value: undefined, done: true });
      return new Promise<IteratorResult<T>>((resolve, reject) => {
        waiting = resolve;
        waitingReject = reject;
      });
    },
    return() {
      buffer.length = 0;
      error = null;
      if (waiting) {
        const resolve = waiting;
        waiting = waitingReject = null;
        resolve({ value: undefined, done: true });
      }
      close();
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(e?: unknown) {
      void queue.return();
      return Promise.reject(e);
    },
    [Symbol.asyncIterator]() {
      return queue;
    },
  };
  return queue;
}

/**
 * The live hand-off: a subscription's event stream that has caught up (its history delivered, its
 * queue empty) may be asked to call `push` synchronously for every later event instead of queueing
 * it for `next()`. The transport then fans events out without a per-subscriber async chain; the
 * stream's `next()` stays pending until the stream ends (return, error), as before.
 */
export const HAND_OFF = Symbol('chat.handOff');

export interface HandOffStream<T> extends AsyncIterableIterator<T> {
  /** True when the stream switched to pushing; false when it has not caught up yet (try after the next value). */
  [HAND_OFF](push: (value: T) => void): boolean;
}

export function canHandOff<T>(stream: AsyncIterator<T>): stream is HandOffStream<T> {
  return typeof (stream as Partial<HandOffStream<T>>)[HAND_OFF] === 'function';
}
