import { parseId } from './ids.js';
import type { ControlEvent, LogEntry, RoomSignal, StoredMessage } from './types.js';

/*
 * What may arrive from another instance: payloads crossing Redis are JSON written by the engine's
 * scripts, checked once per payload (not per listener) before they reach a listener.
 */

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

export const isStoredMessage = (v: unknown): v is StoredMessage =>
  isRecord(v) && ['id', 'room', 'text', 'authorId', 'authorName', 'createdAt'].every((k) => typeof v[k] === 'string') && parseId(v.id as string) !== null;

const strings = (v: Record<string, unknown>, keys: string[]) => keys.every((k) => typeof v[k] === 'string');

/** A message; an edit or deletion (kind and target besides); a reaction change; a moderator's action. */
export const isLogEntry = (v: unknown): v is LogEntry => {
  if (!isRecord(v)) return false;
  const kind = v.kind;
  if (kind === 'reaction') {
    return strings(v, ['id', 'room', 'target', 'emoji', 'authorId', 'authorName', 'createdAt']) && typeof v.added === 'boolean' && isStoredMessage(v.message) && parseId(v.id as string) !== null;
  }
  if (kind === 'moderation') return strings(v, ['id', 'room', 'action', 'targetId', 'targetName', 'authorId', 'authorName', 'createdAt']) && parseId(v.id as string) !== null;
  if (!isStoredMessage(v)) return false;
  return kind === undefined || ((kind === 'edited' || kind === 'deleted') && typeof v.target === 'string');
};

/** A message (not a change). */
export const isMessage = (v: unknown): v is StoredMessage => isLogEntry(v) && !('kind' in v);

export const isControlEvent = (v: unknown): v is ControlEvent => {
  if (!isRecord(v)) return false;
  if (v.type === 'login-revoked') return typeof v.familyId === 'string';
  return v.type === 'member-removed' && typeof v.room === 'string' && typeof v.userId === 'string';
};

export const isRoomSignal = (v: unknown): v is RoomSignal => {
  if (!isRecord(v) || typeof v.room !== 'string' || typeof v.userId !== 'string' || typeof v.username !== 'string') return false;
  return (v.type === 'typing' && typeof v.expiresAt === 'string') || (v.type === 'presence' && typeof v.online === 'boolean');
};
