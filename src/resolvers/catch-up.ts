import DataLoader from 'dataloader';
import { compareIdStrings } from '../pubsub/ids.js';
import type { LogEntry, RoomLog } from '../pubsub/types.js';

/** Log entries read per round trip while resuming. */
export const RESUME_PAGE = 500;

/** What a resuming subscriber reads of a room's log: final-state messages (messageAdded) or every entry (roomEvents). */
export type CatchUpKind = 'range' | 'entries';

export interface CatchUpPage {
  /** Entries after the cursor asked for, oldest first. */
  readonly entries: LogEntry[];
  /** True when nothing more followed in the log when it was read: the reader is caught up. */
  readonly complete: boolean;
}

interface Request {
  readonly kind: CatchUpKind;
  readonly room: string;
  readonly after: string;
}

/**
 * Catch-up reads of the subscribers that resume in the same turn of the event loop, batched per
 * room: one read from the lowest cursor serves them all, each taking what follows its own cursor.
 * (After a restart every client of a room resumes at once, most from the same last id.) A batch
 * is read after every request in it was made, so each subscriber's live subscription, confirmed
 * before it asked, already covers everything the read does not return.
 */
export function catchUpReader(log: RoomLog): (kind: CatchUpKind, room: string, after: string) => Promise<CatchUpPage> {
  let loader = loaders.get(log);
  if (!loader) {
    loader = new DataLoader<Request, CatchUpPage>((requests) => readBatch(log, requests), {
      cache: false,
      // after the I/O callbacks of this turn: subscribers whose confirmations arrived together share a read
      batchScheduleFn: (run) => setImmediate(run),
    });
    loaders.set(log, loader);
  }
  const l = loader;
  return (kind, room, after) => l.load({ kind, room, after });
}

const loaders = new WeakMap<RoomLog, DataLoader<Request, CatchUpPage>>();

async function readBatch(log: RoomLog, requests: readonly Request[]): Promise<(CatchUpPage | Error)[]> {
  const groups = new Map<string, Request[]>();
  for (const r of requests) {
    const key = `${r.kind}\n${r.room}`;
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  const pages = new Map<Request, CatchUpPage | Error>();
  await Promise.all([...groups.values()].map((group) => readGroup(log, group, pages)));
  return requests.map((r) => pages.get(r)!);
}

/** One read from the group's lowest cursor; whoever it does not reach (a full page ending below its cursor) reads again. */
async function readGroup(log: RoomLog, group: readonly Request[], pages: Map<Request, CatchUpPage | Error>): Promise<void> {
  const { kind, room } = group[0]!;
  let from = group[0]!.after;
  for (const r of group) if (compareIdStrings(r.after, from) < 0) from = r.after;
  let page: LogEntry[];
  try {
    page =
      kind === 'range'
        ? await log.range(room, { after: from, limit: RESUME_PAGE, from: 'oldest' })
        : await log.entries(room, { after: from, limit: RESUME_PAGE });
  } catch (err) {
    for (const r of group) pages.set(r, err instanceof Error ? err : new Error(String(err)));
    return;
  }
  // a full page may stop short of the end: whoever reads it goes on after its last entry
  const complete = page.length < RESUME_PAGE;
  const last = page.at(-1)?.id;
  const beyond: Request[] = [];
  for (const r of group) {
    if (!complete && last !== undefined && compareIdStrings(r.after, last) >= 0) beyond.push(r);
    else pages.set(r, { entries: r.after === from ? page : page.slice(firstAfter(page, r.after)), complete });
  }
  if (beyond.length > 0) await readGroup(log, beyond, pages);
}

/** Index of the first entry with an id above `after` (the page is in id order). */
function firstAfter(page: readonly LogEntry[], after: string): number {
  let lo = 0;
  let hi = page.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareIdStrings(page[mid]!.id, after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
