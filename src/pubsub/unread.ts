/**
 * A viewer's unread count, the same in every engine: the messages after their read mark among the
 * newest `historyLimit` numbers (what history keeps), less those deleted since (`gone`: numbers of
 * deleted messages; only those above `total - historyLimit` matter, so the engines keep no others).
 */
export function unreadCount(total: number, markN: number, gone: Iterable<number>, historyLimit: number): number {
  const from = Math.max(markN, total - historyLimit);
  let unread = total - from;
  for (const n of gone) if (n > from) unread--;
  return Math.max(0, unread);
}

/** The numbers of a space-separated list as the Redis scripts keep them ('' or null for none). */
export function numbersOf(list: string | null | undefined): number[] {
  return list ? list.split(' ').filter(Boolean).map(Number) : [];
}
