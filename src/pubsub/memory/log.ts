import { BackendUnavailableError } from '../../errors.js';
import { isoOfId } from '../ids.js';
import { isChange, type MessageChange, type RoomLog, type StoredMessage, type Topic, type LogEntry } from '../types.js';
import type { MemoryRooms } from './rooms.js';

/** As the Redis scripts do: work that arrives after its deadline is refused, not done. */
function checkDeadline(now: number, deadline: number | undefined, what: string) {
  if (deadline !== undefined && now > deadline) throw new BackendUnavailableError(`${what} refused: it arrived after its deadline`);
}

/** Room logs in memory, mirroring the Redis scripts: append, change and publish in one synchronous step. */
export function createMemoryLog(rooms: MemoryRooms, publish: (topic: Topic, entry: LogEntry) => void): RoomLog {
  return {
    async append(room, draft, opts = {}) {
      checkDeadline(rooms.now(), opts.deadline, 'append');
      const log = rooms.ensure(room);
      // a retry with the same idempotency key answers the message it appended, as the log now shows it
      const key = opts.clientId ? `${draft.authorId}\n${opts.clientId}` : null;
      const seen = key ? log.clients.get(key) : undefined;
      if (seen) {
        const entry = log.entries[rooms.indexAfter(log, seen.id, true)];
        if (entry?.id === seen.id && !isChange(entry)) return rooms.currentState(log, entry);
        // deleted (or trimmed) since: its id, without text
        return { id: seen.id, room, text: '', authorId: draft.authorId, authorName: draft.authorName, createdAt: isoOfId(seen.id) };
      }
      const n = ++log.total;
      const message = rooms.append(log, n, (id, createdAt): StoredMessage => ({
        id,
        room,
        text: draft.text,
        authorId: draft.authorId,
        authorName: draft.authorName,
        createdAt,
      }));
      log.reads.set(draft.authorId, { id: message.id, n });
      if (key) log.clients.set(key, { id: message.id, until: rooms.now() + rooms.historyTtlMs });
      publish({ kind: 'room', room }, message);
      for (const userId of opts.notifyUsers ?? []) publish({ kind: 'user', userId }, message);
      return message;
    },

    async change(room, draft, opts = {}) {
      checkDeadline(rooms.now(), opts.deadline, 'change');
      const log = rooms.find(room);
      if (!log) return { ok: false, reason: 'not-found' };
      const at = rooms.indexAfter(log, draft.target, true);
      const entry = log.entries[at];
      if (!entry || entry.id !== draft.target || isChange(entry)) return { ok: false, reason: 'not-found' };
      if (entry.authorId !== draft.authorId) return { ok: false, reason: 'not-author' };
      // redaction, as the Redis script does: the previous edit's entry goes, and with a deletion the message's
      const previous = log.changes.get(draft.target);
      if (previous) rooms.remove(log, previous.editId);
      if (draft.kind === 'deleted') {
        rooms.remove(log, draft.target);
        log.changes.delete(draft.target);
      }
      const change = rooms.append(log, 0, (id, createdAt): MessageChange => ({
        kind: draft.kind,
        id,
        room,
        target: draft.target,
        text: draft.kind === 'deleted' ? '' : draft.text,
        authorId: draft.authorId,
        authorName: draft.authorName,
        createdAt,
      }));
      if (draft.kind === 'edited') log.changes.set(draft.target, { text: change.text, editedAt: change.createdAt, editId: change.id });
      publish({ kind: 'room', room }, change);
      return { ok: true, change };
    },

    async range(room, q) {
      const log = rooms.find(room);
      if (!log) return [];
      const start = q.after ? rooms.indexAfter(log, q.after) : 0;
      const end = q.before ? rooms.indexAfter(log, q.before, true) : log.ids.length;
      const out: StoredMessage[] = [];
      const take = (i: number) => {
        const e = log.entries[i]!;
        if (!isChange(e)) out.push(rooms.currentState(log, e));
      };
      if (q.from === 'oldest') for (let i = start; i < end && out.length < q.limit; i++) take(i);
      else {
        for (let i = end - 1; i >= start && out.length < q.limit; i--) take(i);
        out.reverse();
      }
      return out;
    },

    async entries(room, q) {
      const log = rooms.find(room);
      if (!log) return [];
      const start = q.after ? rooms.indexAfter(log, q.after) : 0;
      // each with its message's current state: an edit shows the current text (it is the latest edit)
      return log.entries.slice(start, start + q.limit).map((e) => (isChange(e) ? e : rooms.currentState(log, e)));
    },
  };
}
