/**
 * What bench/run.ts (the orchestrator), bench/load-client.ts and bench/reference-broadcaster.ts
 * share: the subscription document, the load client's command protocol (JSON lines over
 * stdin/stdout) and small helpers. No GraphQL library here: the reference imports this too.
 */

/** The basic document: messageAdded without a cursor, a fixed selection, no operation name. */
export const BASIC_SUBSCRIPTION = 'subscription($room: String!) { messageAdded(room: $room) { id room text createdAt author { id username } } }';

/** Text prefix of warm-up messages, which the load client never counts as deliveries. */
export const PROBE_PREFIX = 'probe ';

/** Monotonic nanoseconds (CLOCK_MONOTONIC: the same clock in every process of the machine), as a number. */
export const nowNs = (): number => Number(process.hrtime.bigint());

/** The text of a measured message: the send time goes in, the load client reads it back. */
export const stampText = (seq: number): string => `bench #${seq} t=${nowNs()}`;

/** Send time (ns) of a stamped text, or NaN. */
export function stampOf(text: string): number {
  const i = text.lastIndexOf(' t=');
  return i < 0 ? NaN : Number(text.slice(i + 3));
}

/** Compares two `<ms>-<seq>` stream ids numerically; negative when a < b. */
export function compareIds(a: string, b: string): number {
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  const ma = Number(a.slice(0, da));
  const mb = Number(b.slice(0, db));
  if (ma !== mb) return ma - mb;
  return Number(a.slice(da + 1)) - Number(b.slice(db + 1));
}

/** The q-quantile (0..1) of sorted numbers, nearest rank; NaN when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** One subscription a socket sends (its id is its position, from 1). */
export interface SubscriptionSpec {
  /** Index into the open command's `queries` (inside a command), or the text (before). */
  readonly query: string;
  readonly operationName?: string;
  readonly variables: Readonly<Record<string, unknown>>;
  /** Its deliveries are counted (at most one per socket); the others are only held open. */
  readonly measured: boolean;
}

/** A socket the load client opens: connection_init with `token`, then every subscription. */
export interface SocketSpec {
  readonly url: string;
  /** Sent as connectionParams.authorization = `Bearer <token>`. */
  readonly token: string;
  /** The room of the measured subscription. */
  readonly room: string;
  /** Subscriptions, each with the index of its query in the command's `queries`. */
  readonly subscriptions: readonly (Omit<SubscriptionSpec, 'query'> & { readonly query: number })[];
}

/** Orchestrator -> load client, one JSON object per line. */
export type LoadCommand =
  | {
      readonly re: number;
      readonly cmd: 'open';
      readonly queries: readonly string[];
      readonly sockets: readonly SocketSpec[];
      readonly timeoutMs: number;
      /** Arms a probe before the first socket opens (see `probe`): for timing connect+subscribe. */
      readonly probe?: string;
    }
  /**
   * Resolves once every open socket received a message whose text starts with PROBE_PREFIX +
   * `token` on its measured subscription (since the probe was armed: by `open`, or now).
   */
  | { readonly re: number; readonly cmd: 'probe'; readonly token: string; readonly timeoutMs: number }
  /** Starts recording deliveries (everything not a probe). */
  | { readonly re: number; readonly cmd: 'start' }
  /**
   * The messages sent, per room: waits until every subscriber got its room's (or until nothing
   * arrived for idleMs, or timeoutMs), then stops recording and reports.
   */
  | { readonly re: number; readonly cmd: 'finish'; readonly expected: Readonly<Record<string, readonly string[]>>; readonly idleMs: number; readonly timeoutMs: number }
  | { readonly re: number; readonly cmd: 'close'; readonly timeoutMs: number }
  | { readonly re: number; readonly cmd: 'exit' };

export interface OpenReply {
  readonly opened: number;
  readonly failed: number;
  readonly firstError?: string;
}

export interface ProbeReply {
  /** Open subscribers that did not see the probe in time (ended subscriptions excluded). */
  readonly missing: number;
  /** Subscriptions the peer ended (error or complete) since the sockets were opened. */
  readonly ended: number;
  /** The first frame that ended one. */
  readonly firstEnd?: string;
  /** Monotonic ns at which the last socket saw its first probe (NaN when none did). */
  readonly lastNs: number;
}

export interface FinishReply {
  /** Subscribers counted (open at finish or closed during the run). */
  readonly subscribers: number;
  /** Frames of measured messages received (duplicates included). */
  readonly deliveries: number;
  /** Expected (subscriber, message) pairs that never arrived. */
  readonly lost: number;
  /** Frames of a message the subscriber had already received. */
  readonly duplicate: number;
  /** Frames whose id was lower than one already received (duplicates excluded). */
  readonly outOfOrder: number;
  /** Frames of messages nobody reported as sent (e.g. a send that failed after publishing). */
  readonly unexpected: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Monotonic ns of the first and last measured delivery (NaN when none). */
  readonly firstNs: number;
  readonly lastNs: number;
  /** Why it stopped waiting. */
  readonly ended: 'complete' | 'idle' | 'timeout';
  /** Sockets closed by the other end during the run, by close code. */
  readonly closes: Readonly<Record<string, number>>;
  /** Protocol `error`/`complete` frames received for a subscription during the run. */
  readonly subscriptionEnds: number;
}

export interface CloseReply {
  readonly closed: number;
}
