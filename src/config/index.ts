import { availableParallelism } from 'node:os';
import proxyAddr from 'proxy-addr';
import { cleanEnv, makeValidator, num, str, url } from 'envalid';

/** `COUNT/SECONDS`, or null when the limit is turned off with `0`. */
export interface RateLimit {
  readonly count: number;
  readonly seconds: number;
}

export interface Config {
  /** HTTP + WebSocket port. @default 4000 (0 picks a free one) */
  readonly port: number;
  /** Bind address. @default 0.0.0.0 */
  readonly host: string;
  /** `production` turns off GraphiQL and introspection and requires JWT_SECRET. */
  readonly production: boolean;
  /** redis:// URL of one Redis; undefined = embedded in-memory engine (or a cluster). */
  readonly redisUrl: string | undefined;
  /** `host:port` seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES); undefined = no cluster. Never set together with redisUrl. */
  readonly redisClusterNodes: readonly string[] | undefined;
  /** Prefix of every Redis key and channel. @default `chat:` */
  readonly redisKeyPrefix: string;
  /** Milliseconds a Redis command may take before it fails. @default 2000 */
  readonly redisCommandTimeoutMs: number;
  /** HS256 key bytes. */
  readonly jwtSecret: Uint8Array;
  /** True when JWT_SECRET was unset and a random key was made (development only). */
  readonly jwtSecretGenerated: boolean;
  /** Access-token lifetime, seconds. @default 900 */
  readonly accessTokenTtl: number;
  /** Refresh-token lifetime, seconds. @default 2592000 (30 days) */
  readonly refreshTokenTtl: number;
  /** Sends per user per window; null = off. @default 30/10 */
  readonly messageRateLimit: RateLimit | null;
  /** Failed logins per username per window; null = off. @default 10/60 */
  readonly loginRateLimit: RateLimit | null;
  /** Public rooms that always exist. @default ['general'] */
  readonly defaultRooms: readonly string[];
  /** Messages kept per room. @default 1000 */
  readonly historyLimit: number;
  /** Seconds a message is kept. @default 604800 (7 days) */
  readonly historyTtl: number;
  /** pino level. @default info */
  readonly logLevel: string;
  /**
   * Password hashes computed at once; more wait in line. @default the number of CPUs, at most 4:
   * more hashes than cores at once only make each slower (a login waits behind longer ones)
   */
  readonly maxConcurrentHashes: number;
  /** Password hashes that may wait in line; past that login and register answer RATE_LIMITED. @default 256 */
  readonly maxQueuedHashes: number;
  /** Seconds between WebSocket pings; a socket silent for two intervals is dropped. @default 30 */
  readonly wsPingInterval: number;
  /** Seconds SIGTERM waits for in-flight work before exiting. @default 10 */
  readonly shutdownTimeout: number;
  /** Typing signals per user per window; null = off. @default 10/10 */
  readonly typingRateLimit: RateLimit | null;
  /** Seconds a user stays present after their instance stops refreshing it (a crash). @default 30 */
  readonly presenceTtl: number;
  /** Failed logins per client address per window; null = off. @default 50/60 */
  readonly loginIpRateLimit: RateLimit | null;
  /**
   * Proxies whose X-Forwarded-For is believed (proxy-addr syntax: `loopback`, `10.0.0.0/8`, an address).
   * @default [] (the socket's address is the client's)
   */
  readonly trustedProxies: readonly string[];
  /**
   * Origins whose browsers may open a WebSocket. Empty: only clients without Origin (non-browser)
   * and same-origin pages; `*`: any. @default []
   */
  readonly allowedOrigins: readonly string[];
  /** Active subscriptions one socket may hold. @default 100 */
  readonly wsMaxSubscriptions: number;
  /** Bytes waiting to be sent to one socket before it is closed as a slow consumer. @default 1048576 */
  readonly wsMaxBacklogBytes: number;
  /** Registrations (every attempt, taken names included) per client address per window; null = off. @default 10/60 */
  readonly registerRateLimit: RateLimit | null;
  /** Rooms one user may create per window; null = off. @default 10/60 */
  readonly createRoomRateLimit: RateLimit | null;
  /** Password hashes one client address may have running or waiting at once; more get RATE_LIMITED. @default 8 */
  readonly maxHashesPerAddress: number;
  /** WebSockets and SSE streams one user may hold open on one instance. @default 16 */
  readonly maxStreamsPerUser: number;
  /** WebSockets and SSE streams one client address may hold open on one instance. @default 128 */
  readonly maxStreamsPerAddress: number;
  /** Seconds a client has to send a request's headers. @default 10 */
  readonly httpHeadersTimeout: number;
  /** Seconds a client has to send a whole request (headers and body; not the response, so SSE is unaffected). @default 30 */
  readonly httpRequestTimeout: number;
  /** TCP connections (HTTP and WebSocket) open at once on one instance; more are dropped. @default 10000 */
  readonly httpMaxConnections: number;
  /** Client addresses (proxy-addr syntax, trusted proxies considered) that may read /metrics. @default ['loopback'] */
  readonly metricsAllow: readonly string[];
  /** Usernames that moderate every default room (their owners: they name its moderators). @default [] */
  readonly roomAdmins: readonly string[];
  /** Reactions added or removed per user per window; null = off. @default 30/10 */
  readonly reactionRateLimit: RateLimit | null;
  /** Moderators' actions (mutes, bans, lifts, roles, deletions of others' messages) per user per window; null = off. @default 60/60 */
  readonly moderationRateLimit: RateLimit | null;
  /** Blocks and unblocks per user per window; null = off. @default 20/60 */
  readonly blockRateLimit: RateLimit | null;
  /** Different emoji one message can carry; one more is refused. @default 20 */
  readonly reactionsPerMessage: number;
  /** Different users one message can mention (further @names stay plain text). @default 20 */
  readonly mentionsPerMessage: number;
}

// envalid treats a null result as missing, so "off" travels as false until loadConfig maps it
const rateLimit = makeValidator<RateLimit | false>((input) => {
  if (input.trim() === '0') return false;
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(input);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new Error('expected COUNT/SECONDS (e.g. 30/10) or 0');
  return { count: Number(m[1]), seconds: Number(m[2]) };
});

const positiveInt = (min: number) =>
  makeValidator<number>((input) => {
    if (!/^\s*\d+\s*$/.test(input) || Number(input) < min) throw new Error(`expected a whole number of at least ${min}`);
    return Number(input);
  });

const roomList = makeValidator<string[]>((input) => {
  const names = input.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const n of names) {
    if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(n)) throw new Error(`"${n}" is not a room name (a-z, 0-9, _ and -, 1-64 characters)`);
  }
  return names;
});

const list = makeValidator<string[]>((input) => input.split(',').map((s) => s.trim()).filter(Boolean));

const nodeList = makeValidator<string[]>((input) => {
  const nodes = input.split(',').map((s) => s.trim()).filter(Boolean);
  if (nodes.length === 0) throw new Error('expected host:port of at least one cluster node, comma-separated');
  for (const n of nodes) {
    const m = /^([^\s:/,]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(n);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error(`"${n}" is not host:port (e.g. 10.0.0.5:6379), comma-separated`);
  }
  return nodes;
});

const usernameList = makeValidator<string[]>((input) => {
  const names = input.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const n of names) if (!/^[a-z0-9_]{3,32}$/.test(n)) throw new Error(`"${n}" is not a username (3-32 characters of a-z, 0-9 and _)`);
  return names;
});

// envalid's port() refuses 0, which tests use to get a free port
const portNumber = makeValidator<number>((input) => {
  if (!/^\s*\d{1,5}\s*$/.test(input) || Number(input) > 65535) throw new Error('expected a port number (0-65535)');
  return Number(input);
});

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Thrown for a malformed environment; its message is one line naming the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The only reader of the environment: validates it into one frozen Config, or throws
 * a ConfigError whose message names the first bad variable and what it accepts.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, randomBytes: (n: number) => Uint8Array = defaultRandom): Config {
  // an empty REDIS_URL or REDIS_CLUSTER_NODES (as an env file leaves it) is unset
  const given = { ...env };
  for (const name of ['REDIS_URL', 'REDIS_CLUSTER_NODES']) if (given[name]?.trim() === '') delete given[name];
  const e = cleanEnv(
    given,
    {
      NODE_ENV: str({ default: 'development' }),
      PORT: portNumber({ default: 4000 }),
      HOST: str({ default: '0.0.0.0' }),
      REDIS_URL: url({ default: undefined }),
      REDIS_CLUSTER_NODES: nodeList({ default: undefined }),
      REDIS_KEY_PREFIX: str({ default: 'chat:' }),
      REDIS_COMMAND_TIMEOUT: positiveInt(1)({ default: 2000 }),
      JWT_SECRET: str({ default: undefined }),
      ACCESS_TOKEN_TTL: positiveInt(1)({ default: 900 }),
      REFRESH_TOKEN_TTL: positiveInt(1)({ default: 2_592_000 }),
      MESSAGE_RATE_LIMIT: rateLimit({ default: { count: 30, seconds: 10 } }),
      LOGIN_RATE_LIMIT: rateLimit({ default: { count: 10, seconds: 60 } }),
      DEFAULT_ROOMS: roomList({ default: ['general'] }),
      HISTORY_LIMIT: positiveInt(1)({ default: 1000 }),
      HISTORY_TTL: positiveInt(1)({ default: 604_800 }),
      LOG_LEVEL: str({ choices: LOG_LEVELS, default: 'info' }),
      MAX_CONCURRENT_HASHES: positiveInt(1)({ default: Math.min(4, availableParallelism()) }),
      MAX_QUEUED_HASHES: positiveInt(0)({ default: 256 }),
      WS_PING_INTERVAL: positiveInt(1)({ default: 30 }),
      SHUTDOWN_TIMEOUT: num({ default: 10 }),
      LOGIN_IP_RATE_LIMIT: rateLimit({ default: { count: 50, seconds: 60 } }),
      TYPING_RATE_LIMIT: rateLimit({ default: { count: 10, seconds: 10 } }),
      PRESENCE_TTL: positiveInt(2)({ default: 30 }),
      TRUSTED_PROXIES: list({ default: [] }),
      ALLOWED_ORIGINS: list({ default: [] }),
      WS_MAX_SUBSCRIPTIONS: positiveInt(1)({ default: 100 }),
      WS_MAX_BACKLOG: positiveInt(1024)({ default: 1024 * 1024 }),
      REGISTER_RATE_LIMIT: rateLimit({ default: { count: 10, seconds: 60 } }),
      CREATE_ROOM_RATE_LIMIT: rateLimit({ default: { count: 10, seconds: 60 } }),
      MAX_HASHES_PER_ADDRESS: positiveInt(1)({ default: 8 }),
      MAX_STREAMS_PER_USER: positiveInt(1)({ default: 16 }),
      MAX_STREAMS_PER_ADDRESS: positiveInt(1)({ default: 128 }),
      HTTP_HEADERS_TIMEOUT: positiveInt(1)({ default: 10 }),
      HTTP_REQUEST_TIMEOUT: positiveInt(1)({ default: 30 }),
      HTTP_MAX_CONNECTIONS: positiveInt(1)({ default: 10_000 }),
      METRICS_ALLOW: list({ default: ['loopback'] }),
      ROOM_ADMINS: usernameList({ default: [] }),
      REACTION_RATE_LIMIT: rateLimit({ default: { count: 30, seconds: 10 } }),
      MODERATION_RATE_LIMIT: rateLimit({ default: { count: 60, seconds: 60 } }),
      BLOCK_RATE_LIMIT: rateLimit({ default: { count: 20, seconds: 60 } }),
      REACTIONS_PER_MESSAGE: positiveInt(1)({ default: 20 }),
      MENTIONS_PER_MESSAGE: positiveInt(1)({ default: 20 }),
    },
    { reporter: oneLineReporter },
  );
  if (e.REDIS_URL !== undefined && !/^rediss?:\/\//.test(e.REDIS_URL)) {
    throw new ConfigError('REDIS_URL: expected a redis:// or rediss:// URL');
  }
  if (e.REDIS_URL !== undefined && e.REDIS_CLUSTER_NODES !== undefined) {
    throw new ConfigError('REDIS_CLUSTER_NODES: set either REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster), not both');
  }
  if (e.REDIS_CLUSTER_NODES !== undefined && /[{}]/.test(e.REDIS_KEY_PREFIX)) {
    throw new ConfigError('REDIS_KEY_PREFIX: no braces with REDIS_CLUSTER_NODES (a hash tag in the prefix would put every key in one slot)');
  }
  for (const name of ['TRUSTED_PROXIES', 'METRICS_ALLOW'] as const) {
    try {
      proxyAddr.compile([...e[name]]);
    } catch {
      throw new ConfigError(`${name}: expected addresses, CIDR ranges or loopback/linklocal/uniquelocal, comma-separated`);
    }
  }
  for (const origin of e.ALLOWED_ORIGINS) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(`ALLOWED_ORIGINS: "${origin}" is not an origin like https://app.example.com (or *)`);
    }
  }
  if (e.HTTP_HEADERS_TIMEOUT > e.HTTP_REQUEST_TIMEOUT) {
    throw new ConfigError('HTTP_HEADERS_TIMEOUT: expected at most HTTP_REQUEST_TIMEOUT (the headers are part of the request)');
  }
  if (e.SHUTDOWN_TIMEOUT <= 0) throw new ConfigError('SHUTDOWN_TIMEOUT: expected a positive number of seconds');
  const production = e.NODE_ENV === 'production';
  let jwtSecret: Uint8Array;
  let jwtSecretGenerated = false;
  if (e.JWT_SECRET === undefined || e.JWT_SECRET === '') {
    if (production) throw new ConfigError('JWT_SECRET: required when NODE_ENV=production (at least 32 bytes)');
    jwtSecret = randomBytes(32);
    jwtSecretGenerated = true;
  } else {
    jwtSecret = new TextEncoder().encode(e.JWT_SECRET);
    if (jwtSecret.byteLength < 32) throw new ConfigError('JWT_SECRET: expected at least 32 bytes');
  }
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    production,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES ? Object.freeze([...e.REDIS_CLUSTER_NODES]) : undefined,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT,
    jwtSecret,
    jwtSecretGenerated,
    accessTokenTtl: e.ACCESS_TOKEN_TTL,
    refreshTokenTtl: e.REFRESH_TOKEN_TTL,
    messageRateLimit: e.MESSAGE_RATE_LIMIT || null,
    loginRateLimit: e.LOGIN_RATE_LIMIT || null,
    defaultRooms: Object.freeze([...e.DEFAULT_ROOMS]),
    historyLimit: e.HISTORY_LIMIT,
    historyTtl: e.HISTORY_TTL,
    logLevel: e.LOG_LEVEL,
    maxConcurrentHashes: e.MAX_CONCURRENT_HASHES,
    maxQueuedHashes: e.MAX_QUEUED_HASHES,
    wsPingInterval: e.WS_PING_INTERVAL,
    shutdownTimeout: e.SHUTDOWN_TIMEOUT,
    loginIpRateLimit: e.LOGIN_IP_RATE_LIMIT || null,
    typingRateLimit: e.TYPING_RATE_LIMIT || null,
    presenceTtl: e.PRESENCE_TTL,
    trustedProxies: Object.freeze([...e.TRUSTED_PROXIES]),
    allowedOrigins: Object.freeze([...e.ALLOWED_ORIGINS]),
    wsMaxSubscriptions: e.WS_MAX_SUBSCRIPTIONS,
    wsMaxBacklogBytes: e.WS_MAX_BACKLOG,
    registerRateLimit: e.REGISTER_RATE_LIMIT || null,
    createRoomRateLimit: e.CREATE_ROOM_RATE_LIMIT || null,
    maxHashesPerAddress: e.MAX_HASHES_PER_ADDRESS,
    maxStreamsPerUser: e.MAX_STREAMS_PER_USER,
    maxStreamsPerAddress: e.MAX_STREAMS_PER_ADDRESS,
    httpHeadersTimeout: e.HTTP_HEADERS_TIMEOUT,
    httpRequestTimeout: e.HTTP_REQUEST_TIMEOUT,
    httpMaxConnections: e.HTTP_MAX_CONNECTIONS,
    metricsAllow: Object.freeze([...e.METRICS_ALLOW]),
    roomAdmins: Object.freeze([...e.ROOM_ADMINS]),
    reactionRateLimit: e.REACTION_RATE_LIMIT || null,
    moderationRateLimit: e.MODERATION_RATE_LIMIT || null,
    blockRateLimit: e.BLOCK_RATE_LIMIT || null,
    reactionsPerMessage: e.REACTIONS_PER_MESSAGE,
    mentionsPerMessage: e.MENTIONS_PER_MESSAGE,
  });
}

function oneLineReporter({ errors }: { errors: Partial<Record<string, Error>> }): void {
  const [name, err] = Object.entries(errors)[0] ?? [];
  if (name === undefined) return;
  const reason = err?.message && !/^Invalid/.test(err.message) ? err.message : describe(name);
  throw new ConfigError(`${name}: ${reason}`);
}

function describe(name: string): string {
  if (name === 'REDIS_URL') return 'expected a redis:// URL';
  if (name === 'LOG_LEVEL') return `expected one of ${LOG_LEVELS.join(', ')}`;
  if (name === 'SHUTDOWN_TIMEOUT') return 'expected a number of seconds';
  return 'malformed value';
}

function defaultRandom(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}
