/**
 * Where a viewer's unread messages start: after their read mark, and not before history does
 * (`floor`: the number before the oldest message history holds; null when unknown, for a log
 * written before history was tracked: then the newest historyLimit numbers).
 */
export function unreadFrom(total: number, markN: number, floor: number | null, historyLimit: number): number {
  return Math.max(markN, floor ?? total - historyLimit);
}

/** The unread count, the same in every engine: messages after `from`, less deleted ones (`gone`), at most historyLimit. */
export function unreadCount(total: number, from: number, gone: Iterable<number>, historyLimit: number): number {
  return Math.min(historyLimit, Math.max(0, total - from - countAbove(gone, from)));
}

/** How many of `numbers` are above `from`. */
export function countAbove(numbers: Iterable<number>, from: number): number {
  let count = 0;
  for (const n of numbers) if (n > from) count++;
  return count;
}

/** The numbers of a space-separated list as the Redis scripts keep them ('' or null for none). */
export function numbersOf(list: string | null | undefined): number[] {
  return list ? list.split(' ').filter(Boolean).map(Number) : [];
}
