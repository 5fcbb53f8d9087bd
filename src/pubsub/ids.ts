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

/**
 * Compares two well-formed id strings by their two numbers. On the delivery path, so without
 * parsing: decimal numbers without leading zeros compare by length, then as strings.
 */
export function compareIdStrings(a: string, b: string): number {
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  return compareDecimal(a, 0, da, b, 0, db) || compareDecimal(a, da + 1, a.length, b, db + 1, b.length);
}

function compareDecimal(a: string, a0: number, a1: number, b: string, b0: number, b1: number): number {
  // skip leading zeros ("007" is 7): ids from clients may carry them
  while (a0 < a1 - 1 && a.charCodeAt(a0) === 48) a0++;
  while (b0 < b1 - 1 && b.charCodeAt(b0) === 48) b0++;
  if (a1 - a0 !== b1 - b0) return a1 - a0 < b1 - b0 ? -1 : 1;
  for (let i = 0; i < a1 - a0; i++) {
    const d = a.charCodeAt(a0 + i) - b.charCodeAt(b0 + i);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export const formatId = (id: StreamId) => `${id.ms}-${id.seq}`;

/** The next id after `last` at time `nowMs`, as Redis XADD `*` makes it. */
export function nextId(last: StreamId | null, nowMs: number): StreamId {
  const ms = BigInt(nowMs);
  if (!last || ms > last.ms) return { ms, seq: 0n };
  return { ms: last.ms, seq: last.seq + 1n };
}

/** The instant an id stands for (its milliseconds), as the ISO string messages carry. */
export function isoOfId(id: string): string {
  return new Date(Number(id.slice(0, id.indexOf('-')))).toISOString();
}
