/** Message ids are Redis stream ids: `<milliseconds>-<sequence>`, both unsigned 64-bit. */
export interface StreamId {
  readonly ms: bigint;
  readonly seq: bigint;
}

const U64_MAX = (1n << 64n) - 1n;
const ID = /^(\d{1,20})-(\d{1,20})$/;

/** Parses an id of the form `<ms>-<seq>`; null when it is not one. */
export function parseId(id: string): StreamId | null {
  const m = ID.exec(id);
  if (!m) return null;
  const ms = BigInt(m[1]!);
  const seq = BigInt(m[2]!);
  return ms > U64_MAX || seq > U64_MAX ? null : { ms, seq };
}

export function compareIds(a: StreamId, b: StreamId): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  return a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1;
}

/** Compares two well-formed id strings by their two numbers. */
export function compareIdStrings(a: string, b: string): number {
  return compareIds(parseId(a)!, parseId(b)!);
}

export const formatId = (id: StreamId) => `${id.ms}-${id.seq}`;

/** The next id after `last` at time `nowMs`, as Redis XADD `*` makes it. */
export function nextId(last: StreamId | null, nowMs: number): StreamId {
  const ms = BigInt(nowMs);
  if (!last || ms > last.ms) return { ms, seq: 0n };
  return { ms: last.ms, seq: last.seq + 1n };
}
