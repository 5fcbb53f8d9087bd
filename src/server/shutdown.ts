import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

/**
 * Draining of one HTTP server (graceful shutdown), on Node's own connection tracking
 * (closeIdleConnections) plus a set of every socket, so that streams and sockets can be cut
 * at the deadline. Upgraded (WebSocket) sockets are counted until they close.
 */
export interface HttpDrain {
  /** True once stopAccepting() ran. */
  readonly draining: boolean;
  /** Open TCP connections (HTTP keep-alive, in-flight requests, WebSockets). */
  readonly connections: number;
  /** Requests whose response has not finished. */
  readonly inFlight: number;
  /**
   * Stops listening (new connections are refused, so a proxy tries another instance), answers
   * every later request on an open connection with `Connection: close`, and ends the responses
   * that never end by themselves (SSE and multipart subscription streams, also ones that start
   * streaming later), so their clients reconnect elsewhere and resume with `after`. Open
   * keep-alive connections stay until closeIdle(): a request racing in on one is answered.
   */
  stopAccepting(): void;
  /** Closes idle keep-alive connections now and each connection whose last response finishes. */
  closeIdle(): void;
  /** Resolves when no connection is open. */
  drained(): Promise<void>;
  /** Destroys every connection still open; returns how many there were. */
  destroyAll(): number;
  /** Releases what draining holds (timers, the server's connection-check interval). */
  dispose(): void;
}

const STREAMING = /text\/event-stream|multipart\/mixed/i;
const SWEEP_MS = 100;

export function drainHttp(server: Server): HttpDrain {
  const sockets = new Set<Socket>();
  const responses = new Set<ServerResponse>();
  const waiters = new Set<() => void>();
  let draining = false;
  let closingIdle = false;
  let sweep: NodeJS.Timeout | undefined;

  const settle = () => {
    if (sockets.size > 0) return;
    for (const resolve of waiters) resolve();
    waiters.clear();
  };

  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      settle();
    });
  });

  // first in line, so that the header is set before the app's handler answers
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    responses.add(res);
    res.once('close', () => {
      responses.delete(res);
      // the connection may have turned idle: under keep-alive it would wait for keepAliveTimeout
      if (closingIdle) setImmediate(() => server.closeIdleConnections());
    });
    if (draining) res.setHeader('connection', 'close');
    (res as ServerResponse & { chatRequest?: IncomingMessage }).chatRequest = req;
  });

  const cutStreams = () => {
    for (const res of responses) {
      if (!res.headersSent || res.writableEnded) continue;
      const req = (res as ServerResponse & { chatRequest?: IncomingMessage }).chatRequest;
      const type = `${res.getHeader('content-type') ?? ''} ${req?.headers.accept ?? ''}`;
      // no `complete` event: to the client the stream broke, so it retries (elsewhere) and resumes
      if (STREAMING.test(type)) res.destroy();
    }
  };

  return {
    get draining() {
      return draining;
    },
    get connections() {
      return sockets.size;
    },
    get inFlight() {
      return responses.size;
    },
    stopAccepting() {
      if (draining) return;
      draining = true;
      // net.Server's close, not http.Server's: the latter also drops idle keep-alive connections at once
      if (server.listening) NetServer.prototype.close.call(server);
      for (const res of responses) if (!res.headersSent) res.setHeader('connection', 'close');
      cutStreams();
      sweep = setInterval(cutStreams, SWEEP_MS);
      sweep.unref();
    },
    closeIdle() {
      closingIdle = true;
      server.closeIdleConnections();
    },
    drained() {
      if (sockets.size === 0) return Promise.resolve();
      return new Promise((resolve) => waiters.add(resolve));
    },
    destroyAll() {
      const n = sockets.size;
      for (const socket of sockets) socket.destroy();
      return n;
    },
    dispose() {
      clearInterval(sweep);
      // http.Server's close also clears its connection-check interval; the listener is closed already
      server.close(() => {});
    },
  };
}

/** Resolves true when `work` settles before `deadline` (epoch ms), false when the deadline comes first. */
export async function beforeDeadline(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
