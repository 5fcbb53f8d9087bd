/**
 * The live hand-off: a subscription's event stream that has caught up (its history delivered, its
 * queue empty) may be asked to call `push` synchronously for every later event, and `end` once
 * when it ends (`end()`) or fails (`end(error)`), instead of queueing them for `next()`. The
 * transport then fans events out without a per-subscriber async chain, and an idle subscription
 * holds no pending promise at all. A stream handed off is no longer read with `next()`; `return()`
 * still ends it.
 */
export const HAND_OFF = Symbol('chat.handOff');

/** How a stream ends after its hand-off: normally (`end()`), or with the error that ended it. */
export type End = (error?: unknown) => void;

export interface HandOffStream<T> extends AsyncIterableIterator<T> {
  /** True when the stream switched to pushing; false when it has not caught up yet (try after the next value). */
  [HAND_OFF](push: (value: T) => void, end: End): boolean;
}

export function canHandOff<T>(stream: AsyncIterator<T>): stream is HandOffStream<T> {
  return typeof (stream as Partial<HandOffStream<T>>)[HAND_OFF] === 'function';
}

/**
 * A bounded push queue read as an async iterator: the buffer between a topic's listener and one
 * subscriber. When a slow reader lets more than `limit` events pile up, the queue fails with
 * `overflowError()` instead of growing without bound. Handed off (HAND_OFF, when empty), it
 * passes values straight through instead.
 */
export interface EventQueue<T> extends HandOffStream<T> {
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
  return new Queue<T>(options);
}

/**
 * One per subscription, so a class: its methods live on the prototype instead of a closure each
 * per subscriber (idle subscriptions are mostly memory).
 */
class Queue<T> implements EventQueue<T> {
  private readonly limit: number;
  private readonly buffer: T[] = [];
  private waiting: ((r: IteratorResult<T>) => void) | null = null;
  private waitingReject: ((e: Error) => void) | null = null;
  private error: Error | null = null;
  private isClosed = false;
  /** Set by the hand-off: where values and the end go instead. */
  private sink: ((value: T) => void) | null = null;
  private end: End | null = null;

  constructor(private readonly options: EventQueueOptions) {
    this.limit = options.limit ?? 1000;
  }

  get size(): number {
    return this.buffer.length;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  push(value: T): void {
    if (this.isClosed || this.error) return;
    if (this.sink) {
      this.sink(value);
      return;
    }
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.waitingReject = null;
      resolve({ value, done: false });
      return;
    }
    if (this.buffer.length >= this.limit && this.options.overflow === 'drop-oldest') this.buffer.shift();
    else if (this.buffer.length >= this.limit) {
      this.buffer.length = 0;
      this.fail(this.options.overflowError?.() ?? new Error('subscriber too slow'));
      return;
    }
    this.buffer.push(value);
  }

  fail(e: Error): void {
    if (this.isClosed || this.error) return;
    if (this.end) {
      const end = this.end;
      this.close();
      end(e);
      return;
    }
    this.error = e;
    // stop listening now, not when a stalled reader next asks: the error waits for it
    this.close();
    if (this.waitingReject) {
      const reject = this.waitingReject;
      this.waiting = this.waitingReject = null;
      this.error = null;
      reject(e);
    }
  }

  [HAND_OFF](push: (value: T) => void, end: End): boolean {
    // only with nothing owed to next() (and nobody waiting on it): what is queued goes first, in order
    if (this.buffer.length > 0 || this.error || this.isClosed || this.waiting) return false;
    this.sink = push;
    this.end = end;
    return true;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.error) {
      // reported once; afterwards the iterator is done, as an async generator would be
      const e = this.error;
      this.error = null;
      return Promise.reject(e);
    }
    if (this.isClosed || this.sink) return Promise.resolve({ value: undefined, done: true });
    return new Promise<IteratorResult<T>>((resolve, reject) => {
      this.waiting = resolve;
      this.waitingReject = reject;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.buffer.length = 0;
    this.error = null;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.waitingReject = null;
      resolve({ value: undefined, done: true });
    }
    const end = this.isClosed ? null : this.end;
    this.close();
    end?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(e?: unknown): Promise<IteratorResult<T>> {
    void this.return();
    return Promise.reject(e);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.sink = null;
    this.end = null;
    this.options.onClose?.();
  }
}
