/**
 * A viewer's unread count, the same in every engine: the messages the log still holds after their
 * read mark (from the oldest retained one, `oldestN`, null when it holds none), less those deleted
 * since (`gone`: numbers of deleted messages), at most `historyLimit`.
 */
export function unreadCount(total: number, markN: number, gone: Iterable<number>, historyLimit: number, oldestN: number | null): number {
  const from = Math.max(markN, oldestN === null ? total : oldestN - 1);
  let unread = total - from;
  for (const n of gone) if (n > from) unread--;
  return Math.min(historyLimit, Math.max(0, unread));
}

/** The numbers of a space-separated list as the Redis scripts keep them ('' or null for none). */
export function numbersOf(list: string | null | undefined): number[] {
  return list ? list.split(' ').filter(Boolean).map(Number) : [];
}
