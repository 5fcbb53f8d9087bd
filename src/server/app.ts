import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLiveLogins, withLiveLogins } from '../auth/live-logins.js';
import { createPasswordHasher, DEFAULT_SCRYPT, type ScryptParams } from '../auth/passwords.js';
import { createTokenService } from '../auth/tokens.js';
import type { Config } from '../config/index.js';
import type { Services } from '../resolvers/context.js';
import { createRevocations } from '../resolvers/revocations.js';
import { ensureDefaultRooms } from '../resolvers/rooms.js';
import { schema } from '../schema/index.js';
import { createBackends, type Backends } from './backends.js';
import { addressKey, createClientAddress } from './client-address.js';
import { createHttpServer } from './http.js';
import { createLivePath } from './live.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { createOriginPolicy } from './origins.js';
import { beforeDeadline, drainHttp } from './shutdown.js';
import { createStreamLimits } from './stream-limits.js';
import { createWsTransport } from './ws.js';
import { createChatYoga } from './yoga.js';

export interface ChatServerOptions {
  readonly logger?: Logger;
  /** Cheaper scrypt settings for tests; production uses OWASP's. */
  readonly scrypt?: ScryptParams;
  /** Backends made by the caller (tests wrap them to inject faults); by default made from the config. */
  readonly backends?: Backends;
  /** The built web page served at /; null = none. @default web/dist of the repository */
  readonly webRoot?: string | null;
}

export interface ChatServer {
  readonly backends: Backends;
  readonly logger: Logger;
  /** Listens on config.port (0 = a free one); resolves with the bound port. */
  start(): Promise<{ port: number; url: string }>;
  /**
   * Graceful stop, bounded by config.shutdownTimeout: /ready turns 503, new connections are
   * refused, sockets are closed with 1001 and SSE streams ended (their clients reconnect
   * elsewhere and resume with `after`), in-flight requests finish (what is left at the
   * deadline is cut), then the backends close. Calling it again returns the same promise.
   */
  stop(): Promise<void>;
}

/** The composition root: builds every part from the config and hands each what it needs. */
export async function createChatServer(config: Config, options: ChatServerOptions = {}): Promise<ChatServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const backends = options.backends ?? (await createBackends(config));
  const metrics = createMetrics();
  // a token of a revoked login is refused everywhere (HTTP, SSE, a new WebSocket), not only once it expires
  const liveLogins = createLiveLogins({
    isLoginLive: (familyId) => backends.store.isLoginLive(familyId),
    revokedTtlMs: config.accessTokenTtl * 1000,
    onStoreError: (err) => logger.warn({ err }, 'login check: the store did not answer; the token is let through'),
  });
  const tokens = withLiveLogins(createTokenService({ secret: config.jwtSecret, accessTokenTtl: config.accessTokenTtl }), liveLogins);
  const origins = createOriginPolicy(config.allowedOrigins);
  const streams = createStreamLimits({ perUser: config.maxStreamsPerUser, perAddress: config.maxStreamsPerAddress });
  let stopping = false;

  const services: Services = {
    settings: {
      refreshTokenTtl: config.refreshTokenTtl,
      defaultRooms: config.defaultRooms,
      subscriberQueueLimit: 1000,
      roomAdmins: config.roomAdmins,
      reactionsPerMessage: config.reactionsPerMessage,
      mentionsPerMessage: config.mentionsPerMessage,
    },
    store: backends.store,
    engine: backends.engine,
    tokens,
    passwords: createPasswordHasher(config.maxConcurrentHashes, options.scrypt ?? DEFAULT_SCRYPT, config.maxQueuedHashes, config.maxHashesPerAddress),
    limits: backends.limits,
    hooks: metrics.hooks,
    revocations: createRevocations(),
    now: Date.now,
  };
  const exactAddress = createClientAddress(config.trustedProxies);
  // what per-address limits count (an IPv6 client by its /64); /metrics judges the exact address
  const clientAddress = (req: IncomingMessage) => addressKey(exactAddress(req));
  // GraphiQL's inlined assets are megabytes, and a development dependency: loaded only where
  // GraphiQL is served, and where it is not installed yoga's page takes them from a CDN instead
  const renderGraphiQL = config.production
    ? undefined
    : await import('@graphql-yoga/render-graphiql').then((m) => m.renderGraphiQL, () => undefined);
  const live = createLivePath({ schema, logger, metrics, pendingLimit: services.settings.subscriberQueueLimit });
  const yoga = createChatYoga({
    renderGraphiQL,
    schema,
    services,
    logger,
    production: config.production,
    clientAddress,
    origins,
    streams,
    livePlugin: live.plugin,
  });
  const ws = createWsTransport({
    yoga,
    live,
    tokens,
    logger,
    metrics,
    clientAddress,
    pingIntervalMs: config.wsPingInterval * 1000,
    maxSubscriptions: config.wsMaxSubscriptions,
    maxBufferedBytes: config.wsMaxBacklogBytes,
    origins,
    streams,
  });
  const ready = async () => !stopping && (await backends.store.ping()) && (await backends.engine.ping());
  const http = createHttpServer({
    yoga,
    ws,
    metrics,
    logger,
    ready,
    clientAddress: exactAddress,
    metricsAllow: config.metricsAllow,
    limits: { headersTimeoutMs: config.httpHeadersTimeout * 1000, requestTimeoutMs: config.httpRequestTimeout * 1000, maxConnections: config.httpMaxConnections },
    sourceMaps: !config.production,
    ...(options.webRoot !== undefined ? { webRoot: options.webRoot } : {}),
  });
  const drain = drainHttp(http);
  let stopped: Promise<void> | undefined;

  return {
    backends,
    logger,
    async start() {
      await ensureDefaultRooms(services);
      // revocations decided on any instance take effect on this one
      await backends.engine.control.subscribe((event) => {
        if (event.type === 'login-revoked') {
          liveLogins.revoked(event.familyId);
          services.revocations.loginRevoked(event.familyId);
          ws.closeLogin(event.familyId);
        } else services.revocations.memberRemoved(event.room, event.userId);
      });
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.port, config.host, () => resolve());
      });
      const { port } = http.address() as AddressInfo;
      const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
      const url = `http://${host}:${port}`;
      logger.info(
        { port, engine: backends.kind, production: config.production },
        backends.kind === 'memory'
          ? `chat server on ${url}/graphql, in-memory engine (one instance, nothing kept across restarts)`
          : backends.kind === 'cluster'
            ? `chat server on ${url}/graphql, Redis Cluster engine (shared with every instance on the same cluster)`
            : `chat server on ${url}/graphql, Redis engine (shared with every instance on the same Redis)`,
      );
      return { port, url };
    },
    stop() {
      stopped ??= (async () => {
        stopping = true; // /ready answers 503 from here on
        const startedAt = Date.now();
        const budget = config.shutdownTimeout * 1000;
        // connections get the budget but a little, kept for closing Redis
        const deadline = startedAt + budget - Math.min(1000, budget / 4);
        logger.info(
          { sockets: ws.size, requests: drain.inFlight, timeoutSeconds: config.shutdownTimeout },
          'draining: /ready answers 503, new connections refused, sockets closed with 1001',
        );
        drain.stopAccepting();
        // 1001 Going Away: graphql-ws clients reconnect (to another instance) and resume with `after`
        let clean = await beforeDeadline(ws.close(), deadline);
        drain.closeIdle();
        clean = clean && (await beforeDeadline(drain.drained(), deadline));
        if (!clean) logger.warn({ cut: drain.destroyAll(), timeoutSeconds: config.shutdownTimeout }, 'shutdown timeout: cut the connections still open');
        drain.dispose();
        if (!(await beforeDeadline(backends.close(), startedAt + budget))) logger.warn('shutdown timeout: Redis did not close in time');
        logger.info({ ms: Date.now() - startedAt }, 'stopped');
      })();
      return stopped;
    },
  };
}
