import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, handleProtocols, makeServer, type ExecutionResult } from 'graphql-ws';
import { type DocumentNode, GraphQLError, type ExecutionArgs } from 'graphql';
import { WebSocket, WebSocketServer } from 'ws';
import { bearerToken, type TokenService, type Viewer } from '../auth/tokens.js';
import { chatError, ErrorCode } from '../errors.js';
import type { LivePath } from './live.js';
import type { Logger } from './logger.js';
import type { ChatMetrics } from './metrics.js';
import { createOriginPolicy, type OriginPolicy } from './origins.js';
import { createStreamLimits, type StreamLimits } from './stream-limits.js';
import { withoutHttp, type ChatYoga } from './yoga.js';

/** Close codes this server uses beyond graphql-ws's own (CloseCode.*). */
export const WsCloseCode = {
  /** The access token is missing, bad, expired, or its login was revoked: reconnect with a fresh one. */
  Forbidden: CloseCode.Forbidden,
  /**
   * Try Again Later: the client read too slowly and its send buffer passed the bound (reconnect and
   * resume with `after`), or its user holds as many live connections as allowed (the reason says which).
   */
  SlowConsumer: 1013,
  TooManyConnections: 1013,
  /** The server is shutting down: reconnect (to another instance) and resume with `after`. */
  GoingAway: 1001,
} as const;

export interface WsTransportOptions {
  readonly yoga: ChatYoga;
  /** Where subscription results go out (src/server/live.ts). */
  readonly live: LivePath;
  readonly tokens: TokenService;
  readonly logger: Logger;
  readonly metrics: ChatMetrics;
  /** Largest frame accepted; a larger one closes the socket with 1009. @default 65536 */
  readonly maxPayload?: number;
  /** Milliseconds between pings; a socket that has not answered by the next ping is dropped. @default 30000 */
  readonly pingIntervalMs?: number;
  /** Bytes queued for one socket before it is closed as a slow consumer. @default 1 MiB */
  readonly maxBufferedBytes?: number;
  /** Milliseconds a client has to send connection_init. @default 3000 */
  readonly connectionInitWaitTimeoutMs?: number;
  /** Active subscriptions per socket; one more gets an error and the socket stays. @default 100 */
  readonly maxSubscriptions?: number;
  /** Which browser origins may connect (src/server/origins.ts). @default ALLOWED_ORIGINS unset: loopback pages and clients without Origin */
  readonly origins?: OriginPolicy;
  /** Caps on live connections per user and per address, shared with SSE. @default 16 per user, 128 per address */
  readonly streams?: StreamLimits;
  /**
   * Milliseconds a socket the server closes has to finish the close handshake before its TCP
   * connection is destroyed: a peer that does not read (a slow consumer) never answers, and ws
   * would otherwise hold it (and its kernel buffers) for 30 s. @default 1000
   */
  readonly closeGraceMs?: number;
  /** The client's address from the upgrade request (trusted proxies considered). */
  readonly clientAddress?: (req: IncomingMessage) => string | null;
}

/** What graphql-ws keeps per socket: not the upgrade request, which would stay in memory as long as the socket. */
interface SocketExtra {
  readonly socket: WebSocket;
  readonly clientAddress: string | null;
  viewer?: Viewer;
}

export interface WsTransport {
  /** Hands an HTTP upgrade on /graphql to graphql-ws. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every socket of a login (logout, refresh-token reuse) with 4403. */
  closeLogin(familyId: string): void;
  /** Closes every socket with 1001 and stops accepting new ones. */
  close(): Promise<void>;
  readonly size: number;
}

/** GraphQL over WebSocket (graphql-transport-ws), executed through yoga's envelop pipeline. */
export function createWsTransport(options: WsTransportOptions): WsTransport {
  const { yoga, tokens, logger, metrics } = options;
  const pingIntervalMs = options.pingIntervalMs ?? 30_000;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 64 * 1024, handleProtocols });
  const byLogin = new Map<string, Set<WebSocket>>();
  const maxSubscriptions = options.maxSubscriptions ?? 100;
  const origins = options.origins ?? createOriginPolicy([]);
  const streams = options.streams ?? createStreamLimits();
  const closeSocket = closer(options.closeGraceMs ?? 1000);

  const server = makeServer<Record<string, unknown> | undefined, SocketExtra>({
    connectionInitWaitTimeout: options.connectionInitWaitTimeoutMs ?? 3000,
    onConnect: async (ctx) => {
      const token = bearerToken(ctx.connectionParams?.authorization);
      const verified = token ? await tokens.verifyAccess(token) : null;
      if (!verified?.ok) return false; // graphql-ws closes with 4403
      const { viewer } = verified;
      const { socket } = ctx.extra;
      const slot = streams.forUser(viewer.id);
      if (!slot) {
        closeSocket(socket, WsCloseCode.TooManyConnections, 'Too many connections for this user: close one first');
        return false;
      }
      ctx.extra.viewer = viewer;
      // the socket lives no longer than its token: the client reconnects and refreshes in connectionParams
      const expiry = setTimeout(
        () => closeSocket(socket, WsCloseCode.Forbidden, 'Forbidden: access token expired'),
        Math.min(Math.max(0, viewer.expiresAt * 1000 - Date.now()), 2 ** 31 - 1),
      );
      let sockets = byLogin.get(viewer.familyId);
      if (!sockets) byLogin.set(viewer.familyId, (sockets = new Set()));
      sockets.add(socket);
      socket.once('close', () => {
        clearTimeout(expiry);
        slot();
        sockets.delete(socket);
        if (sockets.size === 0 && byLogin.get(viewer.familyId) === sockets) byLogin.delete(viewer.familyId);
      });
      return true;
    },
    onSubscribe: async (ctx, id, payload) => {
      // graphql-ws has already registered this id, so the count includes it
      if (Object.keys(ctx.subscriptions).length > maxSubscriptions) {
        return [chatError(ErrorCode.RateLimited, `At most ${maxSubscriptions} subscriptions per socket.`, { retryAfter: 1 })];
      }
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        viewer: ctx.extra.viewer ?? null,
        clientAddress: ctx.extra.clientAddress,
        params: payload,
      } as never);
      let document: DocumentNode;
      try {
        document = parse(payload.query);
      } catch (err) {
        return [err instanceof GraphQLError ? err : new GraphQLError('Syntax error.')];
      }
      const errors = validate(schema, document);
      if (errors.length > 0) return errors;
      const args: ExecutionArgs = {
        schema,
        document,
        operationName: payload.operationName,
        variableValues: payload.variables,
        contextValue: await contextFactory(),
        rootValue: { execute, subscribe },
      };
      // a subscription's results go out through the live path, frame by frame to this socket
      options.live.route(args, { id, send: (frame) => transmit(ctx.extra.socket, frame) });
      return args;
    },
    execute: (args) => (args.rootValue as Enveloped).execute(args) as ExecutionResult,
    subscribe: async (args) => options.live.operation(args, await (args.rootValue as Enveloped).subscribe(args)) as ExecutionResult,
    // a query's or mutation's result (a subscription's events go out through the live path)
    onNext: (_ctx, _id, _payload, _args, result) =>
      result.errors?.some((e) => e.extensions && 'http' in e.extensions) ? { ...result, errors: result.errors.map((e) => withoutHttp('toJSON' in e ? e.toJSON() : e)) } : undefined,
    // errors that end an operation (its source failed, access lost), masked as over HTTP
    onError: (_ctx, _id, _payload, errors) => options.live.errors(errors),
  });

  /**
   * Frames go out without waiting for the network, so a slow reader's backlog accumulates in one
   * place, ws's send buffer, where it is counted in bytes and bounded.
   *
   * The frames one socket gets in one turn of the event loop (live events that arrived together)
   * leave in one write: its TCP socket is corked at the first and uncorked after this turn's I/O (setImmediate).
   */
  const transmit = (socket: WebSocket, data: string) => {
    if (socket.readyState !== WebSocket.OPEN) return;
    if (socket.bufferedAmount + data.length > maxBufferedBytes) {
      logger.warn({ buffered: socket.bufferedAmount }, 'closing a slow consumer');
      metrics.slowConsumers.inc();
      closeSocket(socket, WsCloseCode.SlowConsumer, 'Slow consumer: reconnect and resume with after');
      return;
    }
    const raw = tcpOf.get(socket);
    if (raw && !corked.has(raw)) {
      if (corked.size === 0) setImmediate(uncorkAll);
      corked.add(raw);
      raw.cork();
    }
    socket.send(data);
  };
  /** The TCP socket under each WebSocket (ours: the upgrade handed it over), for corking. */
  const tcpOf = new WeakMap<WebSocket, Duplex>();
  const corked = new Set<Duplex>();
  const uncorkAll = () => {
    for (const raw of corked) raw.uncork();
    corked.clear();
  };

  // one timer pings every socket (not one per socket): a socket that has not answered the previous
  // ping by the next round is dropped, so a dead peer goes within two intervals
  const unanswered = new WeakSet<WebSocket>();
  const pinger = setInterval(() => {
    for (const socket of wss.clients) {
      if (unanswered.has(socket)) {
        socket.terminate();
        continue;
      }
      unanswered.add(socket);
      socket.ping();
    }
  }, pingIntervalMs);
  pinger.unref();

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    metrics.openSockets.inc();
    tcpOf.set(socket, request.socket);
    socket.on('pong', () => unanswered.delete(socket));
    socket.on('error', (err) => logger.debug({ err }, 'socket error'));

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => transmit(socket, data),
        close: (code, reason) => closeSocket(socket, code ?? 1000, reason ?? ''),
        onMessage: (cb) =>
          // not an async function: graphql-ws's handler of a subscribe message lasts as long as the
          // subscription, and an awaiting frame here would keep the message's buffer that long too
          socket.on('message', (data) => {
            cb(data.toString()).catch((err: unknown) => {
              logger.error({ err }, 'graphql-ws message handling failed');
              closeSocket(socket, CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      { socket, clientAddress: options.clientAddress?.(request) ?? null },
    );
    socket.once('close', (code, reason) => {
      metrics.openSockets.dec();
      void closed(code, reason.toString());
    });
  });

  return {
    handleUpgrade(request, socket, head) {
      if (!origins.allows(request.headers.origin, request.headers.host)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      // counted from the handshake (before any token is seen) until the TCP connection closes
      const slot = streams.forAddress(options.clientAddress?.(request) ?? null);
      if (!slot) {
        socket.end('HTTP/1.1 429 Too Many Requests\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      socket.once('close', slot);
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
    },
    closeLogin(familyId) {
      for (const socket of byLogin.get(familyId) ?? []) closeSocket(socket, WsCloseCode.Forbidden, 'Forbidden: login revoked');
    },
    async close() {
      clearInterval(pinger);
      for (const socket of wss.clients) closeSocket(socket, WsCloseCode.GoingAway, 'Server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
    get size() {
      return wss.clients.size;
    },
  };
}

/**
 * Closes a socket with `code`, and destroys its TCP connection when the peer has not completed
 * the close handshake within `graceMs` (a peer that does not read never will).
 */
function closer(graceMs: number): (socket: WebSocket, code: number, reason: string) => void {
  return (socket, code, reason) => {
    if (socket.readyState === WebSocket.CLOSED) return;
    socket.close(code, reason);
    const timer = setTimeout(() => socket.terminate(), graceMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
}

interface Enveloped {
  execute(args: ExecutionArgs): unknown;
  subscribe(args: ExecutionArgs): unknown;
}
