/**
 * What the benchmark measures: a target is two processes of the chat server (or of the reference
 * broadcaster) on one Redis, reached over HTTP for sends and counters, and over WebSocket by the
 * load client.
 */
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createPasswordHasher } from '../src/auth/passwords.js';
import { createTokenService, newRefreshToken } from '../src/auth/tokens.js';
import { ISO_FROM_MS_LUA } from '../src/pubsub/redis/index.js';
import { createRedisClient } from '../src/store/redis-client.js';
import { createRedisStore } from '../src/store/redis.js';
import { freePort, waitFor } from '../test/support/net.js';
import { get, gql, pool, post } from './http.js';
import { startProc, type Proc } from './proc.js';
import { JWT_SECRET, PREFIX, REDIS_URL, SETTINGS, TAG } from './settings.js';

export interface Instance {
  readonly proc: Proc;
  readonly base: string;
  readonly wsUrl: string;
}

export interface Target {
  /** `server`, `baseline` (BENCH_BASELINE) or `reference`. */
  readonly kind: string;
  readonly reference: boolean;
  readonly instances: readonly Instance[];
  /** Its subscribers' access tokens: a distinct user each. */
  readonly users: Users;
  prepareRooms(names: readonly string[]): Promise<void>;
  /** Sends `text` into `room` through instance `i` as sender `k`; resolves with the message id. */
  send(i: number, room: string, text: string, k: number): Promise<string>;
  counts(inst: Instance): Promise<{ sockets: number; subscriptions: number }>;
  heapUsed(inst: Instance): Promise<number>;
  /** Extra counters worth printing (the server's live-path metrics, when it has them). */
  extra(inst: Instance): Promise<Record<string, number>>;
}

/** The tokens of distinct users, handed out in turn to the sockets of a run. */
export class Users {
  private next = 0;
  constructor(private readonly tokens: readonly string[]) {}
  take(): string {
    return this.tokens[this.next++ % this.tokens.length]!;
  }
}

/**
 * Access tokens of `n` distinct users, one per subscriber, each with a login of its own: real
 * users and logins in the servers' store (through the project's Store; the server checks every
 * token's login there), made directly because registering thousands of users with production
 * scrypt would take minutes (they share one password hash). The reference reads only `sub`.
 */
async function subscriberTokens(n: number, prefix: string): Promise<string[]> {
  const client = createRedisClient(REDIS_URL, { name: 'bench-users', commandTimeoutMs: 10_000 });
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve);
    client.once('error', reject);
  });
  try {
    const store = createRedisStore({ client, keyPrefix: prefix });
    const tokens = createTokenService({ secret: new TextEncoder().encode(JWT_SECRET), accessTokenTtl: 86_400 });
    const passwordHash = await createPasswordHasher(1).hash('bench password 123456');
    const out: string[] = new Array(n);
    await pool(
      Array.from({ length: n }, (_, i) => i),
      32,
      async (i) => {
        const user = { id: randomUUID(), username: `b${TAG}_${i}` };
        await store.createUser({ ...user, passwordHash, createdAt: new Date().toISOString() });
        const login = newRefreshToken();
        const familyId = randomUUID();
        await store.createFamily({ id: login.id, familyId, userId: user.id, username: user.username, secretHash: login.secretHash, expiresAt: Date.now() + 86_400_000 }, 86_400);
        out[i] = (await tokens.issueAccess(user, familyId)).token;
      },
    );
    return out;
  } finally {
    client.disconnect();
  }
}

const metricOf = (text: string, name: string): number | undefined => {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

const SEND = 'mutation($r: String!, $t: String!) { sendMessage(room: $r, text: $t) { id } }';

const EXTRA_METRICS: Readonly<Record<string, string>> = {
  'shared executions': 'chat_shared_executions_total',
  'per-subscriber executions': 'chat_subscriber_executions_total',
  'frames sent': 'chat_shared_deliveries_total',
};

function serverTarget(kind: string, instances: Instance[], senders: string[], users: Users): Target {
  const metrics = async (inst: Instance) => (await get(`${inst.base}/metrics`)).body;
  return {
    kind,
    reference: false,
    instances,
    users,
    async prepareRooms(names) {
      await pool(names, 8, async (name) => {
        try {
          await gql(instances[0]!.base, 'mutation($n: String!) { createRoom(name: $n) { name } }', { n: name }, senders[0]);
        } catch (err) {
          if ((err as { code?: string }).code !== 'CONFLICT') throw err;
        }
      });
    },
    async send(i, room, text, k) {
      const res = await post(`${instances[i]!.base}/graphql`, JSON.stringify({ query: SEND, variables: { r: room, t: text } }), {
        authorization: `Bearer ${senders[k % senders.length]}`,
      });
      const json = JSON.parse(res.body) as { data?: { sendMessage?: { id?: string } }; errors?: unknown };
      const id = json.data?.sendMessage?.id;
      if (typeof id !== 'string') throw new Error(`sendMessage ${res.status}: ${res.body.slice(0, 200)}`);
      return id;
    },
    async counts(inst) {
      const text = await metrics(inst);
      return { sockets: metricOf(text, 'chat_open_sockets') ?? NaN, subscriptions: metricOf(text, 'chat_active_subscriptions') ?? NaN };
    },
    async heapUsed(inst) {
      return metricOf(await metrics(inst), 'chat_nodejs_heap_size_used_bytes') ?? NaN;
    },
    async extra(inst) {
      const text = await metrics(inst);
      const out: Record<string, number> = {};
      for (const [label, name] of Object.entries(EXTRA_METRICS)) {
        const v = metricOf(text, name);
        if (v !== undefined) out[label] = v;
      }
      return out;
    },
  };
}

function referenceTarget(instances: Instance[], users: Users): Target {
  const mem = async (inst: Instance) =>
    JSON.parse((await get(`${inst.base}/mem`)).body) as { heapUsed: number; sockets: number; subscriptions: number };
  return {
    kind: 'reference',
    reference: true,
    instances,
    users,
    prepareRooms: async () => {},
    async send(i, room, text) {
      const res = await post(`${instances[i]!.base}/send`, JSON.stringify({ room, text }));
      const id = (JSON.parse(res.body) as { id?: unknown }).id;
      if (res.status !== 200 || typeof id !== 'string') throw new Error(`/send ${res.status}: ${res.body.slice(0, 200)}`);
      return id;
    },
    async counts(inst) {
      const m = await mem(inst);
      return { sockets: m.sockets, subscriptions: m.subscriptions };
    },
    heapUsed: async (inst) => (await mem(inst)).heapUsed,
    extra: async () => ({}),
  };
}

const inspectArgs = () => (SETTINGS.inspect ? ['--inspect=127.0.0.1:0'] : []);

async function waitReady(label: string, proc: Proc, base: string, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`${label} exited: ${proc.output()}`);
      try {
        return (await get(`${base}/ready`, 1000)).status === 200;
      } catch {
        return false;
      }
    },
    { timeoutMs, intervalMs: 50, what: `${label} to be ready` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${proc.output().slice(-2000)}`);
  });
}

async function startServer(label: string, serverArgs: string[], prefix: string): Promise<Instance> {
  const port = await freePort();
  const proc = startProc(label, [...inspectArgs(), ...serverArgs], {
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    JWT_SECRET,
    ACCESS_TOKEN_TTL: '86400',
    MESSAGE_RATE_LIMIT: '0',
    LOGIN_RATE_LIMIT: '0',
    LOGIN_IP_RATE_LIMIT: '0',
    REGISTER_RATE_LIMIT: '0',
    CREATE_ROOM_RATE_LIMIT: '0',
    // the load client is one address holding thousands of sockets
    MAX_STREAMS_PER_USER: '100000',
    MAX_STREAMS_PER_ADDRESS: '100000',
    SHUTDOWN_TIMEOUT: '3',
  });
  const base = `http://127.0.0.1:${port}`;
  await waitReady(label, proc, base, 30_000);
  return { proc, base, wsUrl: `ws://127.0.0.1:${port}/graphql` };
}

/** Two server instances (entry `args`) on one key prefix, the senders registered on them, and `users` subscribers. */
export async function startServerTarget(kind: string, args: string[], prefix: string, users: number): Promise<Target> {
  const [a, b, tokens] = await Promise.all([startServer(`${kind} 1`, args, prefix), startServer(`${kind} 2`, args, prefix), subscriberTokens(users, prefix)]);
  // the senders are real users (production scrypt makes registering slow: only these four)
  const senders: string[] = [];
  await pool(
    Array.from({ length: 4 }, (_, i) => `bench_${TAG}_sender_${i}`),
    4,
    async (u, i) => {
      const d = await gql<{ register: { accessToken: string } }>(
        (i % 2 ? b : a).base,
        'mutation($u: String!, $p: String!) { register(username: $u, password: $p) { accessToken } }',
        { u, p: 'bench password 123456' },
      );
      senders[i] = d.register.accessToken;
    },
  );
  return serverTarget(kind, [a, b], senders, new Users(tokens));
}

async function startReference(n: number, dir: string): Promise<Instance> {
  const proc = startProc(`reference ${n}`, [...inspectArgs(), join(dir, 'reference-broadcaster.js')], {
    PORT: '0',
    REDIS_URL,
    KEY_PREFIX: PREFIX,
    NODE_ENV: 'production',
    ISO_FROM_MS_LUA,
  });
  const port = Number((await proc.waitForLine(/^listening (\d+)$/, 15_000))[1]);
  const base = `http://127.0.0.1:${port}`;
  await waitReady(`reference ${n}`, proc, base, 15_000);
  return { proc, base, wsUrl: `ws://127.0.0.1:${port}/graphql` };
}

/**
 * Two reference broadcasters (compiled into `dir`), and tokens for `users` subscribers: signed
 * like the server's (the reference checks nothing; it reads the user id for `mine`).
 */
export async function startReferenceTarget(dir: string, users: number): Promise<Target> {
  const tokens = createTokenService({ secret: new TextEncoder().encode(JWT_SECRET), accessTokenTtl: 86_400 });
  const signed = await Promise.all(Array.from({ length: users }, async (_, i) => (await tokens.issueAccess({ id: randomUUID(), username: `r${TAG}_${i}` }, randomUUID())).token));
  return referenceTarget(await Promise.all([startReference(1, dir), startReference(2, dir)]), new Users(signed));
}
