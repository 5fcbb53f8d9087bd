import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import proxyAddr from 'proxy-addr';
import type { ChatMetrics } from './metrics.js';
import type { Logger } from './logger.js';
import type { WsTransport } from './ws.js';
import type { ChatYoga } from './yoga.js';

export interface HttpOptions {
  readonly yoga: ChatYoga;
  readonly ws: WsTransport;
  readonly metrics: ChatMetrics;
  readonly logger: Logger;
  /** True when the instance can serve (backends answer, not shutting down). */
  readonly ready: () => Promise<boolean>;
  /** Largest request body; a larger one gets 413. @default 65536 */
  readonly maxBodyBytes?: number;
  /**
   * The built web chat page (`npm run web:build`), served at / while the folder exists; null = none.
   * @default web/dist of the repository
   */
  readonly webRoot?: string | null;
  /** Serve the page's source maps (*.map) too; off in production, where they would publish the sources. @default true */
  readonly sourceMaps?: boolean;
  /** The client's address (trusted proxies considered); who may read /metrics is decided on it. @default the socket's address */
  readonly clientAddress?: (req: IncomingMessage) => string | null;
  /** Client addresses that may read /metrics (proxy-addr syntax). @default ['loopback'] */
  readonly metricsAllow?: readonly string[];
  /** Timeouts and the connection cap. @default see ConnectionLimits */
  readonly limits?: ConnectionLimits;
}

/** How long a client may take to send a request, and how many connections it may hold. */
export interface ConnectionLimits {
  /** Milliseconds to send the request's headers. @default 10000 */
  readonly headersTimeoutMs?: number;
  /** Milliseconds to send the whole request, body included (not the response: SSE streams are unaffected). @default 30000 */
  readonly requestTimeoutMs?: number;
  /** TCP connections open at once, WebSockets included; more are dropped as they come. @default 10000 */
  readonly maxConnections?: number;
}

const PAGE_NOT_BUILT =
  'The web chat page is not built: run `npm run web:build` (or `npm start`, which builds it), then reload.\nThe API is at /graphql.\n';

const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** One port: /graphql (HTTP, SSE, WebSocket upgrade), /health, /ready, /metrics, and the web page's files. */
export function createHttpServer(options: HttpOptions): Server {
  const { yoga, ws, metrics, logger, ready } = options;
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const webRoot = options.webRoot === undefined ? DEFAULT_WEB_ROOT : options.webRoot;
  const metricsReader = metricsAccess(options.metricsAllow ?? ['loopback'], options.clientAddress);
  const sourceMaps = options.sourceMaps ?? true;

  const server = createServer(connectionOptions(options.limits ?? {}), async (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/health' && req.method === 'GET') return text(res, 200, 'ok');
      if (path === '/ready' && req.method === 'GET') return (await ready()) ? text(res, 200, 'ready') : text(res, 503, 'not ready');
      if (path === '/metrics' && req.method === 'GET') {
        if (!metricsReader(req)) return text(res, 403, 'forbidden: /metrics is served to METRICS_ALLOW addresses only');
        res.setHeader('content-type', metrics.registry.contentType);
        return res.end(await metrics.registry.metrics());
      }
      if (path !== '/graphql') {
        const get = req.method === 'GET' || req.method === 'HEAD';
        const file = path ?? '/';
        if (webRoot && get && (sourceMaps || !file.endsWith('.map')) && (await serveFile(req, res, webRoot, file))) return;
        if (get && (file === '/' || file === '/index.html')) return text(res, 404, PAGE_NOT_BUILT);
        return text(res, 404, 'not found: the API is at /graphql');
      }
      if (req.method === 'POST') {
        const body = await readBody(req, maxBodyBytes);
        if (body === null) {
          res.setHeader('connection', 'close');
          return json(res, 413, { errors: [{ message: `Request body over ${maxBodyBytes} bytes.`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
        }
        // read first (within the size bound), so that a client still sending it reads the answer
        if (!isJsonBody(req)) {
          return json(res, 415, { errors: [{ message: 'A POST body must be JSON (Content-Type: application/json).', extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' } }] });
        }
        // @whatwg-node/server takes a pre-read body from req.body
        (req as IncomingMessage & { body?: Buffer }).body = body;
      }
      await yoga(req, res);
    } catch (err) {
      logger.error({ err }, 'http request failed');
      if (!res.headersSent) json(res, 500, { errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else res.destroy();
    }
  });

  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').split('?')[0] !== '/graphql') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    ws.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return;
    // Node's own answer to a request that took longer than headersTimeout/requestTimeout
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
    else socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
  server.maxConnections = options.limits?.maxConnections ?? 10_000;
  return server;
}

/** Node's request timeouts; Node checks them every connectionsCheckingInterval, so that is kept well under them. */
function connectionOptions(limits: ConnectionLimits) {
  const headersTimeout = limits.headersTimeoutMs ?? 10_000;
  const requestTimeout = limits.requestTimeoutMs ?? 30_000;
  return { headersTimeout, requestTimeout, connectionsCheckingInterval: Math.min(1000, Math.ceil(headersTimeout / 4)) };
}

/**
 * Who may read /metrics: the client's address (behind TRUSTED_PROXIES, the forwarded one, so a
 * request relayed by a local proxy is not mistaken for a local scraper) within `allow`.
 */
function metricsAccess(allow: readonly string[], clientAddress?: (req: IncomingMessage) => string | null): (req: IncomingMessage) => boolean {
  const trusted = proxyAddr.compile([...allow]);
  return (req) => {
    const address = clientAddress ? clientAddress(req) : (req.socket.remoteAddress ?? null);
    return address !== null && trusted(address, 0);
  };
}

/**
 * GraphQL over HTTP takes JSON bodies only. A form-encoded, multipart or text/plain POST is what
 * another site's page can send without a CORS preflight (CSRF): refused before anything runs.
 */
function isJsonBody(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json';
}

/** The body, or null when it passes `limit` (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    req.resume();
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        req.removeAllListeners('data');
        req.resume();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Sends the file of `root` that `path` names (`/` is index.html); false when there is none. */
async function serveFile(req: IncomingMessage, res: ServerResponse, root: string, path: string): Promise<boolean> {
  let rel: string;
  try {
    rel = decodeURIComponent(path);
  } catch {
    return false;
  }
  if (rel.endsWith('/')) rel += 'index.html';
  const file = normalize(join(root, rel));
  if (!file.startsWith(normalize(root) + sep)) return false; // .. out of the folder
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) return false;
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': info.size,
    // Vite names everything under assets/ by its content hash; index.html is checked on every load
    'cache-control': rel.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  if (req.method === 'HEAD') res.end();
  else await pipeline(createReadStream(file), res).catch(() => res.destroy()); // the browser went away
  return true;
}

function text(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}
