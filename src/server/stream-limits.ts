/**
 * Caps on the live connections one user, and one client address, hold open on this instance:
 * WebSockets and SSE subscription streams count alike. Each subscription costs memory for as
 * long as it lives, so without a cap one token could hold 100 sockets x 100 subscriptions.
 * The counts are per instance (an instance cannot see the others' sockets without a round trip
 * per connection); behind a balancer a user may hold up to the cap on each instance.
 */
export interface StreamLimits {
  /** Takes a slot for a connection of `userId`; null when the user holds the cap already. */
  forUser(userId: string): Release | null;
  /** Takes a slot for a connection from `address`; null when the address holds the cap already (an unknown address is not counted). */
  forAddress(address: string | null): Release | null;
}

/** Gives a slot back; calling it again does nothing. */
export type Release = () => void;

export interface StreamLimitOptions {
  /** Connections per user. @default 16 */
  readonly perUser?: number;
  /** Connections per client address. @default 128 */
  readonly perAddress?: number;
}

export function createStreamLimits(options: StreamLimitOptions = {}): StreamLimits {
  const users = slots(options.perUser ?? 16);
  const addresses = slots(options.perAddress ?? 128);
  return {
    forUser: (userId) => users(userId),
    forAddress: (address) => (address === null ? () => {} : addresses(address)),
  };
}

function slots(cap: number): (key: string) => Release | null {
  const held = new Map<string, number>();
  return (key) => {
    const n = held.get(key) ?? 0;
    if (n >= cap) return null;
    held.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = held.get(key)! - 1;
      if (left === 0) held.delete(key);
      else held.set(key, left);
    };
  };
}
