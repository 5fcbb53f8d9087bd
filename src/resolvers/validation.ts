import { badInput } from '../errors.js';
import { parseId } from '../pubsub/ids.js';

/** The input rules of CONTRACT.md; each returns the normalised value or throws BAD_USER_INPUT. */

const USERNAME = /^[a-z0-9_]{3,32}$/;
const ROOM = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const DM_ROOM = /^dm:([a-z0-9_]{3,32}):([a-z0-9_]{3,32})$/;

export function username(input: string, field = 'username'): string {
  const name = input.toLowerCase();
  if (!USERNAME.test(name)) throw badInput('A username is 3-32 characters of a-z, 0-9 and _.', field);
  return name;
}

export function password(input: string): string {
  // length in code points, so an emoji counts once
  const length = [...input].length;
  if (length < 8 || length > 256) throw badInput('A password is 8-256 characters.', 'password');
  return input;
}

/** A name for a new room. */
export function newRoomName(input: string): string {
  const name = input.toLowerCase();
  if (!ROOM.test(name)) {
    throw badInput('A room name is 1-64 characters of a-z, 0-9, _ and -, starting with a letter or digit.', 'name');
  }
  return name;
}

/** A room to read or post in: a room name or a direct conversation `dm:<a>:<b>`. */
export function roomRef(input: string, field = 'room'): string {
  const name = input.toLowerCase();
  if (!ROOM.test(name) && !DM_ROOM.test(name)) {
    throw badInput('Not a room name: 1-64 characters of a-z, 0-9, _ and -, or dm:<user>:<user>.', field);
  }
  return name;
}

/** The two usernames of a direct conversation's name, or null when it is not one. */
export function dmMembers(room: string): [string, string] | null {
  const m = DM_ROOM.exec(room);
  return m ? [m[1]!, m[2]!] : null;
}

export function dmRoomName(a: string, b: string): string {
  return a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`;
}

/**
 * What shows as nothing: white space, and characters that render invisible on their own (zero-width
 * spaces and joiners, bidi marks, the BOM, soft hyphens, variation selectors, Hangul fillers: Unicode's
 * Default_Ignorable_Code_Point), and the blank Braille pattern. A message of only these is blank.
 */
const INVISIBLE = /^[\s\p{Default_Ignorable_Code_Point}\u2800]*$/u;

/**
 * What no engine can store as sent: lone surrogates (Redis answers U+FFFD for them, memory the
 * half character) and control characters (C0, DEL, C1) other than tab and line breaks (NUL among them).
 */
const UNSTORABLE = /\p{Cs}|(?![\t\n\r])\p{Cc}/u;

export function text(input: string): string {
  const length = [...input].length;
  if (length < 1 || length > 4000 || INVISIBLE.test(input)) {
    throw badInput('A message is 1-4000 characters and not only white space (invisible characters count as white space).', 'text');
  }
  if (UNSTORABLE.test(input)) {
    throw badInput('A message holds no control characters other than tab and line breaks, and no half of a surrogate pair.', 'text');
  }
  return input;
}

export function limit(input: number | null | undefined, fallback = 50): number {
  const n = input ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > 200) throw badInput('limit is 1-200.', 'limit');
  return n;
}

/** A page size of a list: 1-200. */
export function first(input: number | null | undefined, fallback = 100): number {
  const n = input ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > 200) throw badInput('first is 1-200.', 'first');
  return n;
}

const CLIENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A sender's idempotency key: 1-64 characters of A-Z, a-z, 0-9, _ . : - (a UUID fits). */
export function clientId(input: string | null | undefined): string | undefined {
  if (input == null) return undefined;
  if (!CLIENT_ID.test(input)) throw badInput('clientId is 1-64 characters of A-Z, a-z, 0-9, _, ., : and - (a UUID fits).', 'clientId');
  return input;
}

/** A message id used as a cursor: `<ms>-<seq>`, also one never issued. */
export function cursor(input: string | null | undefined, field: string): string | undefined {
  if (input == null) return undefined;
  const id = parseId(input);
  if (!id) throw badInput(`${field} is a message id of the form <milliseconds>-<sequence>.`, field);
  return `${id.ms}-${id.seq}`;
}

/** One emoji as Unicode recommends them (RGI: flags, keycaps, skin tones and ZWJ sequences included). */
// biome-ignore lint/complexity/useRegexLiterals: TypeScript allows the v flag in a literal from target ES2024 only; Node 20 runs it
const EMOJI = new RegExp('^\\p{RGI_Emoji}$', 'v');

/** One emoji; a symbol typed without its emoji presentation selector (❤) is given it (❤️), so both count as one. */
export function emoji(input: string): string {
  if (input.length <= 64 && EMOJI.test(input)) return input;
  if (input.length <= 63 && EMOJI.test(`${input}\uFE0F`)) return `${input}\uFE0F`;
  throw badInput('emoji is one emoji, e.g. 👍 or 🇫🇷.', 'emoji');
}

/** Seconds of a mute: from 1 to 365 days' worth. */
export const MAX_MUTE_SECONDS = 365 * 24 * 3600;

export function muteSeconds(input: number): number {
  if (!Number.isInteger(input) || input < 1 || input > MAX_MUTE_SECONDS) throw badInput(`seconds is 1-${MAX_MUTE_SECONDS} (a year).`, 'seconds');
  return input;
}
