/**
 * The benchmark's settings (from the environment, each with its default), the run's identity
 * (key prefix, JWT secret) and its two outputs: results on stdout, progress on stderr.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOCUMENT_NAMES, type DocumentName } from './documents.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BENCH = join(ROOT, 'bench');
/** Compiled bench processes, baselines and profiles. */
export const CACHE = join(ROOT, 'node_modules', '.cache', 'chat-bench');

const envNum = (name: string, dflt: number) => {
  const v = process.env[name];
  const n = v === undefined || v === '' ? dflt : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number, got ${v}`);
  return n;
};

const envList = <T extends string>(name: string, dflt: readonly T[], allowed: readonly T[]): T[] => {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return [...dflt];
  const items = v.split(',').map((s) => s.trim()) as T[];
  for (const item of items) if (!allowed.includes(item)) throw new Error(`${name}: ${item} is not one of ${allowed.join(', ')}`);
  return items;
};

const SCENARIOS = ['1', '2', '3', '4', '5'] as const;

/** BENCH_PROFILE=<scenario>[:<document>], e.g. `3` or `3:roomEvents`. */
function profileSetting(): { scenario: 1 | 2 | 3; document: DocumentName } | undefined {
  const v = process.env.BENCH_PROFILE;
  if (!v) return undefined;
  const [scenario, document = 'basic'] = v.split(':');
  if (!['1', '2', '3'].includes(scenario!)) throw new Error(`BENCH_PROFILE: expected 1, 2 or 3 (optionally :<document>), got ${v}`);
  if (!DOCUMENT_NAMES.includes(document as DocumentName)) throw new Error(`BENCH_PROFILE: ${document} is not one of ${DOCUMENT_NAMES.join(', ')}`);
  return { scenario: Number(scenario) as 1 | 2 | 3, document: document as DocumentName };
}

export const SETTINGS = {
  /** Scenario 1: messages per second into one room of 500 subscribers. */
  s1Rate: envNum('BENCH_S1_RATE', 50),
  /** Scenario 2: messages per second spread over 100 rooms of 10 subscribers. */
  s2Rate: envNum('BENCH_S2_RATE', 400),
  /** Length of the fixed-rate scenarios (1, 2), seconds. */
  seconds: envNum('BENCH_SECONDS', 5),
  /** Scenario 3: messages sent as fast as the senders go. */
  s3Count: envNum('BENCH_S3_COUNT', 1000),
  s3Senders: envNum('BENCH_S3_SENDERS', 8),
  /** Scenario 4: idle connections, each with the web page's subscriptions. */
  idle: envNum('BENCH_IDLE', 1000),
  /** Scenario 5: subscribers that connect and subscribe at once. */
  connect: envNum('BENCH_CONNECT', 200),
  /** The whole run, seconds; past it the run stops and prints what it has. */
  timeoutS: envNum('BENCH_TIMEOUT', process.env.BENCH_BASELINE ? 420 : 290),
  only: envList('BENCH_ONLY', SCENARIOS, SCENARIOS).map(Number),
  /** Documents of scenarios 2, 3 and 5 (scenario 1 runs the first). */
  documents: envList<DocumentName>('BENCH_DOCS', DOCUMENT_NAMES, DOCUMENT_NAMES),
  profile: profileSetting(),
  inspect: process.env.BENCH_NO_INSPECT !== '1',
  baseline: process.env.BENCH_BASELINE || undefined,
};

export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
export const TAG = randomBytes(3).toString('hex');
export const PREFIX = `bench-${TAG}:`;
export const JWT_SECRET = randomBytes(32).toString('hex');

const startedAt = Date.now();
export const elapsedSeconds = () => (Date.now() - startedAt) / 1000;
/** A line of results (stdout). */
export const say = (s = ''): void => void process.stdout.write(`${s}\n`);
/** A line of progress (stderr). */
export const note = (s: string): void => void process.stderr.write(`[bench +${elapsedSeconds().toFixed(1)}s] ${s}\n`);
