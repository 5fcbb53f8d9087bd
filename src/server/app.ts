import type { AddressInfo } from 'node:net';
import { createPasswordHasher, DEFAULT_SCRYPT, type ScryptParams } from '../auth/passwords.js';
import { createTokenService } from '../auth/tokens.js';
import type { Config } from '../config/index.js';
import type { Services } from '../resolvers/context.js';
import { ensureDefaultRooms } from '../resolvers/rooms.js';
import { schema } from '../schema/index.js';
import { createBackends, type Backends } from './backends.js';
import { createHttpServer } from './http.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { createWsTransport } from './ws.js';
import { createChatYoga } from './yoga.js';

export interface ChatServerOptions {
  readonly logger?: Logger;
  /** Cheaper scrypt settings for tests; production uses OWASP's. */
  readonly scrypt?: ScryptParams;
}

export interface ChatServer {
  readonly backends: Backends;
  readonly logger: Logger;
  /** Listens on config.port (0 = a free one); resolves with the bound port. */
  start(): Promise<{ port: number; url: string }>;
  /**
   * Graceful stop: /ready turns 503, no new connections, sockets closed with 1001,
   * in-flight requests finished (cut after config.shutdownTimeout), backends closed.
   */
  stop(): Promise<void>;
}

/** The composition root: builds every part from the config and hands each what it needs. */
export async function createChatServer(config: Config, options: ChatServerOptions = {}): Promise<ChatServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const backends = await createBackends(config);
  const metrics = createMetrics();
  const tokens = createTokenService({ secret: config.jwtSecret, accessTokenTtl: config.accessTokenTtl });
  let stopping = false;
  // the WebSocket transport needs the services' hooks and the hooks need the transport: late-bound
  let closeLogin: (familyId: string) => void = () => {};

  const services: Services = {
    settings: { refreshTokenTtl: config.refreshTokenTtl, defaultRooms: config.defaultRooms, subscriberQueueLimit: 1000 },
    store: backends.store,
    engine: backends.engine,
    tokens,
    passwords: createPasswordHasher(config.maxConcurrentHashes, options.scrypt ?? DEFAULT_SCRYPT),
    limits: backends.limits,
    hooks: metrics.hooksFor((familyId) => closeLogin(familyId)),
    now: Date.now,
  };
  const yoga = createChatYoga({ schema, services, logger, production: config.production });
  const ws = createWsTransport({ yoga, tokens, logger, metrics, pingIntervalMs: config.wsPingInterval * 1000 });
  closeLogin = (familyId) => ws.closeLogin(familyId);
  const ready = async () => !stopping && (await backends.store.ping()) && (await backends.engine.ping());
  const http = createHttpServer({ yoga, ws, metrics, logger, ready });

  return {
    backends,
    logger,
    async start() {
      await ensureDefaultRooms(services);
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
          : `chat server on ${url}/graphql, Redis engine (shared with every instance on the same Redis)`,
      );
      return { port, url };
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      await ws.close();
      http.closeIdleConnections();
      const cut = setTimeout(() => http.closeAllConnections(), config.shutdownTimeout * 1000);
      await closed;
      clearTimeout(cut);
      await backends.close();
    },
  };
}
