import { BackendUnavailableError } from '../../errors.js';
import { isoOfId } from '../ids.js';
import {
  isMessage,
  WriteRefused,
  MENTION_COUNT_LIMIT,
  type LogEntry,
  type MessageChange,
  type ReactionChange,
  type RoomLog,
  type StoredMessage,
  type Topic,
} from '../types.js';
import { refusedWrite } from './moderation.js';
import type { MemoryRooms, RoomState } from './rooms.js';

/** As the Redis scripts do: work that arrives after its deadline is refused, not done. */
function checkDeadline(now: number, deadline: number | undefined, what: string) {
  if (deadline !== undefined && now > deadline) throw new BackendUnavailableError(`${what} refused: it arrived after its deadline`);
}

/** Room logs in memory, mirroring the Redis scripts (src/pubsub/redis/log-lua.ts): each write and its publish in one synchronous step. */
export function createMemoryLog(rooms: MemoryRooms, publish: (topic: Topic, entry: LogEntry) => void): RoomLog {
  /** An entry as a reader is shown it now (see RoomLog.entries); null to leave it out. */
  const shown = (log: RoomState, e: LogEntry): LogEntry | null => {
    if (isMessage(e)) return rooms.currentState(log, e);
    if (e.kind === 'deleted' || e.kind === 'moderation') return e;
    const message = rooms.findMessage(log, e.target);
    if (!message) return null;
    if (e.kind === 'reaction') return { ...e, message };
    const { replyTo, mentions, reactions } = message;
    return { ...e, text: message.text, ...(replyTo ? { replyTo } : {}), ...(mentions ? { mentions } : {}), ...(reactions ? { reactions } : {}) };
  };

  return {
    async append(room, draft, opts = {}) {
      checkDeadline(rooms.now(), opts.deadline, 'append');
      const log = rooms.ensure(room);
      // a retry with the same idempotency key answers the message it appended, as the log now shows it
      const key = opts.clientId ? `${draft.authorId}\n${opts.clientId}` : null;
      const seen = key ? log.clients.get(key) : undefined;
      if (seen) {
        // deleted (or trimmed) since: its id, without text
        return rooms.findMessage(log, seen.id) ?? { id: seen.id, room, text: '', authorId: draft.authorId, authorName: draft.authorName, createdAt: isoOfId(seen.id) };
      }
      const refused = refusedWrite(log, draft.authorId, rooms.now());
      if (refused) throw refused;
      const quote = draft.replyTo ? rooms.quoteOf(log, draft.replyTo) : undefined;
      if (quote && !quote.authorId) throw new WriteRefused('reply-not-found');
      const n = ++log.total;
      const message = rooms.append(log, n, (id, createdAt): StoredMessage => ({
        id,
        room,
        text: draft.text,
        authorId: draft.authorId,
        authorName: draft.authorName,
        createdAt,
        ...(quote ? { replyTo: quote } : {}),
        ...(draft.mentions?.length ? { mentions: draft.mentions } : {}),
      }));
      log.reads.set(draft.authorId, { id: message.id, n });
      const counted = [...new Set(draft.notifyMentioned ?? [])];
      for (const userId of counted) log.mentions.set(userId, [...(log.mentions.get(userId) ?? []), n].slice(-MENTION_COUNT_LIMIT));
      if (key) log.clients.set(key, { id: message.id, until: rooms.now() + rooms.historyTtlMs });
      publish({ kind: 'room', room }, message);
      for (const userId of new Set([...(opts.notifyUsers ?? []), ...counted])) publish({ kind: 'user', userId }, message);
      return message;
    },

    async change(room, draft, opts = {}) {
      checkDeadline(rooms.now(), opts.deadline, 'change');
      const log = rooms.find(room);
      if (!log) return { ok: false, reason: 'not-found' };
      const at = rooms.indexAfter(log, draft.target, true);
      const entry = log.entries[at];
      if (!entry || entry.id !== draft.target || !isMessage(entry)) return { ok: false, reason: 'not-found' };
      const moderated = draft.asModerator === true && draft.kind === 'deleted';
      if (!moderated && entry.authorId !== draft.authorId) return { ok: false, reason: 'not-author' };
      if (draft.kind === 'edited') {
        const refused = refusedWrite(log, draft.authorId, rooms.now());
        if (refused) throw refused;
      }
      const before = rooms.currentState(log, entry);
      const n = log.numbers[at]!;
      // redaction, as the Redis script does: the previous edit's entry goes, and with a deletion the message's
      const previous = log.changes.get(draft.target);
      if (previous) rooms.remove(log, previous.editId);
      if (draft.kind === 'deleted') {
        rooms.forget(log, draft.target);
        const floor = rooms.historyFloor(log) ?? n - 1;
        log.gone = [...log.gone.filter((g) => g > floor), n];
        for (const user of entry.mentions ?? []) {
          const rest = (log.mentions.get(user.id) ?? []).filter((m) => m !== n);
          if (rest.length) log.mentions.set(user.id, rest);
          else log.mentions.delete(user.id);
        }
      }
      const change = rooms.append(log, 0, (id, createdAt): MessageChange => ({
        kind: draft.kind,
        id,
        room,
        target: draft.target,
        text: draft.kind === 'deleted' ? '' : draft.text,
        authorId: entry.authorId,
        authorName: entry.authorName,
        createdAt,
        ...(moderated ? { moderatorId: draft.authorId, moderatorName: draft.authorName } : {}),
        ...(draft.kind === 'edited' && before.replyTo ? { replyTo: before.replyTo } : {}),
        ...(draft.kind === 'edited' && before.mentions ? { mentions: before.mentions } : {}),
        ...(draft.kind === 'edited' && before.reactions ? { reactions: before.reactions } : {}),
      }));
      if (draft.kind === 'edited') log.changes.set(draft.target, { text: change.text, editedAt: change.createdAt, editId: change.id });
      publish({ kind: 'room', room }, change);
      return { ok: true, change };
    },

    async react(room, draft, opts) {
      checkDeadline(rooms.now(), opts.deadline, 'react');
      const log = rooms.ensure(room);
      const refused = refusedWrite(log, draft.authorId, rooms.now());
      if (refused) throw refused;
      const message = rooms.findMessage(log, draft.target);
      if (!message) return { ok: false, reason: 'not-found' };
      const state = log.reactions.get(draft.target) ?? { r: [] };
      const at = state.r.findIndex((r) => r.emoji === draft.emoji);
      const has = at >= 0 && state.r[at]!.userIds.includes(draft.authorId);
      if (has === draft.add) return { ok: true, message, change: null };
      if (draft.add && at < 0) {
        if (state.r.length >= opts.maxEmoji) return { ok: false, reason: 'too-many' };
        state.r.push({ emoji: draft.emoji, userIds: [draft.authorId] });
      } else if (draft.add) state.r[at]!.userIds.push(draft.authorId);
      else {
        const rest = state.r[at]!.userIds.filter((u) => u !== draft.authorId);
        if (rest.length) state.r[at]!.userIds = rest;
        else state.r.splice(at, 1);
      }
      // one reaction entry per message: the latest
      if (state.x) rooms.remove(log, state.x);
      log.reactions.set(draft.target, state);
      const change = rooms.append(log, 0, (id, createdAt): ReactionChange => ({
        kind: 'reaction',
        id,
        room,
        target: draft.target,
        emoji: draft.emoji,
        added: draft.add,
        authorId: draft.authorId,
        authorName: draft.authorName,
        createdAt,
        message: rooms.currentState(log, message),
      }));
      state.x = change.id;
      publish({ kind: 'room', room }, change);
      return { ok: true, message: change.message, change };
    },

    async range(room, q) {
      const log = rooms.find(room);
      if (!log) return [];
      const start = q.after ? rooms.indexAfter(log, q.after) : 0;
      const end = q.before ? rooms.indexAfter(log, q.before, true) : log.ids.length;
      const out: StoredMessage[] = [];
      const take = (i: number) => {
        const e = log.entries[i]!;
        if (isMessage(e)) out.push(rooms.currentState(log, e));
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
      const out: LogEntry[] = [];
      for (let i = q.after ? rooms.indexAfter(log, q.after) : 0; i < log.entries.length && out.length < q.limit; i++) {
        const e = shown(log, log.entries[i]!);
        if (e) out.push(e);
      }
      return out;
    },
  };
}
