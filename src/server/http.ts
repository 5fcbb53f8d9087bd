import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
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
}

const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** One port: /graphql (HTTP, SSE, WebSocket upgrade), /health, /ready, /metrics, and the web page's files. */
export function createHttpServer(options: HttpOptions): Server {
  const { yoga, ws, metrics, logger, ready } = options;
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const webRoot = options.webRoot === undefined ? DEFAULT_WEB_ROOT : options.webRoot;

  const server = createServer(async (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/health' && req.method === 'GET') return text(res, 200, 'ok');
      if (path === '/ready' && req.method === 'GET') return (await ready()) ? text(res, 200, 'ready') : text(res, 503, 'not ready');
      if (path === '/metrics' && req.method === 'GET') {
        res.setHeader('content-type', metrics.registry.contentType);
        return res.end(await metrics.registry.metrics());
      }
      if (path !== '/graphql') {
        if (webRoot && (req.method === 'GET' || req.method === 'HEAD') && (await serveFile(req, res, webRoot, path ?? '/'))) return;
        return text(res, 404, 'not found: the API is at /graphql');
      }
      if (req.method === 'POST') {
        const body = await readBody(req, maxBodyBytes);
        if (body === null) {
          res.setHeader('connection', 'close');
          return json(res, 413, { errors: [{ message: `Request body over ${maxBodyBytes} bytes.`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
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
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
  return server;
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
