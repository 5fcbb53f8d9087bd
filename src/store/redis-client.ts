import { Cluster, Redis } from 'ioredis';
import { BackendUnavailableError } from '../errors.js';

/** A single Redis or a Redis Cluster: the commands, scripts and events the store and engines use are the same. */
export type RedisClient = Redis | Cluster;

export interface RedisClientOptions {
  /** A command not answered within this many ms fails (the caller answers with an error instead of hanging). */
  readonly commandTimeoutMs: number;
  /** CLIENT SETNAME, to tell the connections apart in CLIENT LIST. */
  readonly name: string;
  /** Called with every connection error; they are never left unhandled. */
  readonly onError?: (err: Error) => void;
}

/** Longest pause between reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * A client that fails fast while Redis is away and reconnects forever. Commands are never queued
 * for later and never resent after a reconnect: a command that was answered with an error must not
 * run afterwards ("an answer is the truth").
 */
export function createRedisClient(url: string, options: RedisClientOptions): Redis {
  const client = new Redis(url, {
    connectionName: options.name,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: Math.max(1000, options.commandTimeoutMs),
    // during an outage a command fails at once instead of waiting in a queue for a reconnect
    enableOfflineQueue: false,
    // a command in flight when the connection drops fails now rather than after N reconnects...
    maxRetriesPerRequest: 0,
    // ...and is not sent again once reconnected (its caller has been answered already)
    autoResendUnfulfilledCommands: false,
    // the engine's subscriber subscribes again itself after a reconnect, and waits for Redis to
    // confirm it (src/pubsub/redis/channels.ts): ioredis' resubscription reports neither
    autoResubscribe: false,
    enableReadyCheck: true,
    lazyConnect: false,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), MAX_RECONNECT_DELAY_MS),
  });
  client.on('error', (err: Error) => options.onError?.(err));
  return client;
}

/**
 * A Redis Cluster client made in the same spirit as createRedisClient: fails fast while a shard is
 * away, never sends a command again once its connection closed (it may have run), follows MOVED,
 * ASK, TRYAGAIN and CLUSTERDOWN (the node did not run the command), and refreshes the slot map
 * every second so that a failover or a slot move is noticed without waiting for an error.
 * Sharded pub/sub (SSUBSCRIBE) goes through ioredis' sharded subscribers, one connection per master;
 * the engine confirms its subscriptions itself (src/pubsub/cluster/sharded.ts).
 *
 * @param seeds `host:port` of some nodes of the cluster (the rest is discovered).
 */
export function createRedisCluster(seeds: readonly string[], options: RedisClientOptions): Cluster {
  const nodes = seeds.map((seed) => {
    const at = seed.lastIndexOf(':');
    return { host: seed.slice(0, at), port: Number(seed.slice(at + 1)) };
  });
  const cluster = new Cluster(nodes, {
    redisOptions: {
      connectionName: options.name,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: Math.max(1000, options.commandTimeoutMs),
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
    },
    enableOfflineQueue: false,
    enableReadyCheck: true,
    // "Connection is closed" may come after the node ran the command: fail it, do not send it again
    retryDelayOnFailover: 0,
    // without a periodic refresh a failover or slot move is only noticed through errors, and sharded
    // subscribers on a demoted master stay silent (about 11 s measured; about 1 s with this)
    slotsRefreshInterval: 1000,
    shardedSubscribers: true,
    clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), MAX_RECONNECT_DELAY_MS),
  });
  cluster.on('error', (err: Error) => options.onError?.(err));
  // ioredis connects to a node on its first command, and with the offline queue off it refuses the
  // commands that meet the connection on its way: connect to every node as soon as it is known
  cluster.on('+node', (node: Redis) => {
    if (node.status === 'wait') node.connect().catch(() => {});
  });
  return cluster;
}

/** Resolves when the client is ready (a cluster: and its masters' connections); rejects with BackendUnavailableError after `timeoutMs`. */
export async function waitUntilReady(client: RedisClient, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  await untilReady(client, timeoutMs);
  if (!(client instanceof Cluster)) return;
  const masters = client.nodes('master');
  await Promise.all(masters.map((node) => untilReady(node, Math.max(0, until - Date.now()))));
}

function untilReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    const onEnd = () => done(new BackendUnavailableError('Redis connection ended before it was ready'));
    const timer = setTimeout(() => done(new BackendUnavailableError(`Redis not ready within ${timeoutMs} ms`)), timeoutMs);
    client.on('ready', onReady);
    client.on('end', onEnd);
  });
}

/** Reply errors that mean "Redis cannot serve right now", as opposed to a bad command. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|OOM)\b/;

/**
 * Maps a failed Redis call to BackendUnavailableError: connection lost, command timed out, offline,
 * or a transient reply. Other reply errors (a bug such as WRONGTYPE) are rethrown as they are.
 */
export function toBackendError(err: unknown, what: string): Error {
  if (err instanceof BackendUnavailableError) return err;
  if (err instanceof Error && err.name === 'ReplyError' && !TRANSIENT_REPLY.test(err.message)) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new BackendUnavailableError(`Redis ${what} failed: ${reason}`, { cause: err });
}

/** Runs a Redis call, converting its failure with toBackendError. */
export async function guarded<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toBackendError(err, what);
  }
}

/** PING within `timeoutMs` (never longer, whatever the command timeout): false on any failure. */
export async function pingWithin(client: RedisClient, timeoutMs = 1000): Promise<boolean> {
  if (client.status !== 'ready') return false;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([client.ping().then((r) => r === 'PONG', () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** QUIT (or a hard disconnect when Redis does not answer it in time); resolves once the connection is closed, never throws. */
export async function quitClient(client: RedisClient, timeoutMs = 1000): Promise<void> {
  if (client.status === 'end') return;
  let ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  // a cluster whose nodes are all gone may never report 'end': bound the wait
  if (client instanceof Cluster) ended = Promise.race([ended, new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  if (client.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([client.quit().then(() => ended, () => undefined), late]);
    clearTimeout(timer);
  }
  // not connected, QUIT failed or unanswered: close the socket and stop reconnecting
  if ((client.status as string) !== 'end') {
    const between = client.status === 'reconnecting';
    client.disconnect();
    // between two attempts there is no socket to close and ioredis never emits 'end' (its #1247,
    // #1830): disconnect() cleared the retry timer, so nothing is left to wait for
    if (!between) await ended;
  }
}

/** A Lua script registered with defineCommand: sent by EVALSHA (ioredis EVALs once per connection to load it). */
export type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/** Registers `lua` on `client` under `name`; the first argument of each call is the number of keys. */
export function defineScript(client: RedisClient, name: string, lua: string): ScriptCall {
  client.defineCommand(name, { lua });
  const fn: unknown = (client as unknown as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new Error(`defineCommand did not register ${name}`);
  return (...args) => (fn as (...a: (string | number)[]) => Promise<unknown>).apply(client, args);
}
