/**
 * The REFERENCE broadcaster of the benchmark: what fan-out costs without GraphQL. Plain `ws` +
 * `ioredis`, graphql-transport-ws spoken by hand (connection_init/ack, subscribe, next, complete,
 * ping/pong), one Redis SUBSCRIBE per room per process shared by all its sockets, and for each
 * published message one JSON.parse and, per document the bench sends (told apart by its
 * operationName), one hand-built JSON of what the server would answer, reused for every
 * subscriber: only the subscription id differs per frame, and `mine` (true for the author, whose
 * id it reads from the token without checking it) picks one of two.
 *
 * Sending goes through the same kind of Lua script as the server (XADD + trim + PUBLISH of the
 * message JSON, createdAt from the id), so the publish path costs Redis the same.
 *
 * It checks nothing about the caller (no JWT, no rooms, no rate limits): a lower bound, not a product.
 *
 * Env: PORT (0 = any; the bound port is printed as `listening <port>` on stdout), REDIS_URL, KEY_PREFIX,
 * ISO_FROM_MS_LUA (src/pubsub's Lua date helper).
 * HTTP: POST /send {room,text} -> the message JSON; GET /ready; GET /mem -> process.memoryUsage() and counts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { WebSocket, WebSocketServer } from 'ws';
import { dataOf, SHAPES, type Shape, type Stored } from './reference-frames.js';

const PROTOCOL = 'graphql-transport-ws';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `${process.env.KEY_PREFIX ?? 'bench:'}ref:`;
const MAX_BACKLOG = 1024 * 1024;
const PING_MS = 30_000;

// createdAt from the id's milliseconds with the server's own Lua helper (Redis' Lua has no date
// library), which the orchestrator hands over from src/pubsub: this process loads nothing of the server
const ISO_FROM_MS_LUA = process.env.ISO_FROM_MS_LUA;
if (!ISO_FROM_MS_LUA?.includes('function iso_from_ms')) throw new Error('ISO_FROM_MS_LUA: the Lua date helper of src/pubsub is required');
const APPEND = `${ISO_FROM_MS_LUA}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'text', ARGV[4], 'authorId', ARGV[5], 'authorName', ARGV[6])
redis.call('XTRIM', KEYS[1], 'MINID', '~', tostring(now - tonumber(ARGV[2])))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local ms = tonumber(string.match(id, '^(%d+)-'))
local json = cjson.encode({ id = id, room = ARGV[3], text = ARGV[4], authorId = ARGV[5], authorName = ARGV[6], createdAt = iso_from_ms(ms) })
redis.call('PUBLISH', ARGV[7], json)
return json
`;



interface Sub {
  readonly socket: WebSocket;
  /** The subscription id, already JSON-encoded. */
  readonly idJson: string;
  readonly room: Room;
  readonly shape: Shape;
  /** The socket's user (the token's `sub`, unchecked), for `mine`. */
  readonly userId: string | null;
}

interface Room {
  readonly channel: string;
  readonly subs: Set<Sub>;
  /** Resolves once Redis confirmed the SUBSCRIBE. */
  ready: Promise<unknown>;
}

const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
const subscriber = new Redis(redisUrl, { lazyConnect: true });
client.defineCommand('refAppend', { numberOfKeys: 1, lua: APPEND });
const append = (client as unknown as { refAppend(...args: (string | number)[]): Promise<string> }).refAppend.bind(client);

const rooms = new Map<string, Room>();
const byChannel = new Map<string, Room>();
let sockets = 0;
let subscriptions = 0;

subscriber.on('message', (channel: string, json: string) => {
  const room = byChannel.get(channel);
  if (!room || room.subs.size === 0) return;
  let m: Stored;
  try {
    m = JSON.parse(json) as Stored;
  } catch {
    return;
  }
  // each document's selection, in its order, built once for every subscriber of that document
  const tails = new Map<string, string>();
  const tailOf = (shape: Shape, mine: boolean) => {
    const key = `${shape}${mine}`;
    let tail = tails.get(key);
    if (tail === undefined) tails.set(key, (tail = `,"type":"next","payload":{"data":${dataOf(shape, m, mine)}}}`));
    return tail;
  };
  for (const sub of room.subs) {
    const { socket } = sub;
    if (sub.shape === 'held' || socket.readyState !== WebSocket.OPEN) continue;
    const frame = `{"id":${sub.idJson}${tailOf(sub.shape, m.authorId === sub.userId)}`;
    if (socket.bufferedAmount + frame.length > MAX_BACKLOG) {
      socket.close(1013, 'Slow consumer');
      continue;
    }
    socket.send(frame);
  }
});


/** The `sub` claim of a JWT, read without checking anything (this is not a product). */
function userOf(authorization: string): string | null {
  try {
    const payload = authorization.replace(/^Bearer\s+/i, '').split('.')[1] ?? '';
    const sub = (JSON.parse(Buffer.from(payload, 'base64url').toString()) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : null;
  } catch {
    return null;
  }
}

function joinRoom(name: string, sub: Omit<Sub, 'room'>): Sub {
  let room = rooms.get(name);
  if (!room) {
    const channel = `${prefix}room:{${name}}`;
    room = { channel, subs: new Set(), ready: subscriber.subscribe(channel) };
    room.ready.catch(() => {});
    rooms.set(name, room);
    byChannel.set(channel, room);
  }
  const full: Sub = { ...sub, room };
  room.subs.add(full);
  subscriptions++;
  return full;
}

function leaveRoom(sub: Sub): void {
  const { room } = sub;
  if (!room.subs.delete(sub)) return;
  subscriptions--;
  if (room.subs.size === 0) {
    for (const [name, r] of rooms) if (r === room) rooms.delete(name);
    byChannel.delete(room.channel);
    subscriber.unsubscribe(room.channel).catch(() => {});
  }
}

const wss = new WebSocketServer({
  noServer: true,
  maxPayload: 64 * 1024,
  handleProtocols: (protocols) => (protocols.has(PROTOCOL) ? PROTOCOL : false),
});

wss.on('connection', (socket: WebSocket) => {
  sockets++;
  let acked = false;
  let userId: string | null = null;
  const subs = new Map<string, Sub>();
  const initTimer = setTimeout(() => {
    if (!acked) socket.close(4408, 'Connection initialisation timeout');
  }, 3000);
  socket.on('error', () => {});
  socket.on('pong', () => awaitingPong.delete(socket));
  socket.on('message', (data, isBinary) => {
    if (isBinary) return socket.close(4400, 'Binary frames are not accepted');
    let msg: { type?: unknown; id?: unknown; payload?: unknown };
    try {
      msg = JSON.parse(data.toString()) as typeof msg;
    } catch {
      return socket.close(4400, 'Invalid message received');
    }
    switch (msg.type) {
      case 'connection_init': {
        if (acked) return socket.close(4429, 'Too many initialisation requests');
        const params = msg.payload as { authorization?: unknown } | null | undefined;
        if (typeof params?.authorization !== 'string') return socket.close(4403, 'Forbidden');
        userId = userOf(params.authorization);
        acked = true;
        clearTimeout(initTimer);
        return socket.send('{"type":"connection_ack"}');
      }
      case 'ping':
        return socket.send('{"type":"pong"}');
      case 'pong':
        return;
      case 'subscribe': {
        if (!acked) return socket.close(4401, 'Unauthorized');
        if (typeof msg.id !== 'string' || msg.id === '') return socket.close(4400, 'Invalid message received');
        if (subs.has(msg.id)) return socket.close(4409, `Subscriber for ${msg.id} already exists`);
        const payload = msg.payload as { variables?: { room?: unknown }; operationName?: unknown } | undefined;
        const room = payload?.variables?.room;
        if (typeof room !== 'string' || room === '') {
          return socket.send(JSON.stringify({ id: msg.id, type: 'error', payload: [{ message: 'Variable "$room" is required.' }] }));
        }
        const shape = (typeof payload?.operationName === 'string' && SHAPES[payload.operationName]) || 'basic';
        subs.set(msg.id, joinRoom(room, { socket, idJson: JSON.stringify(msg.id), shape, userId }));
        return;
      }
      case 'complete': {
        if (typeof msg.id !== 'string') return;
        const sub = subs.get(msg.id);
        if (sub) {
          subs.delete(msg.id);
          leaveRoom(sub);
        }
        return;
      }
      default:
        return socket.close(4400, 'Invalid message received');
    }
  });
  socket.once('close', () => {
    sockets--;
    clearTimeout(initTimer);
    for (const sub of subs.values()) leaveRoom(sub);
    subs.clear();
  });
});

// one timer for every socket: ws-level ping; a socket that did not answer the previous one is dropped
const awaitingPong = new WeakSet<WebSocket>();
const pinger = setInterval(() => {
  for (const socket of wss.clients) {
    if (awaitingPong.has(socket)) {
      socket.terminate();
      continue;
    }
    awaitingPong.add(socket);
    socket.ping();
  }
}, PING_MS);
pinger.unref();

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body: string, type = 'application/json') {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
}

const http = createServer(async (req, res) => {
  try {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/send' && req.method === 'POST') {
      const body = JSON.parse(await readBody(req)) as { room?: unknown; text?: unknown };
      if (typeof body.room !== 'string' || typeof body.text !== 'string') return reply(res, 400, '{"error":"room and text required"}');
      const json = await append(
        `${prefix}room:{${body.room}}:log`,
        1000,
        604_800_000,
        body.room,
        body.text,
        'reference-author-0000000000000000',
        'reference',
        `${prefix}room:{${body.room}}`,
      );
      return reply(res, 200, json);
    }
    if (path === '/ready' && req.method === 'GET') {
      const ok = client.status === 'ready' && subscriber.status === 'ready';
      return reply(res, ok ? 200 : 503, ok ? 'ready' : 'not ready', 'text/plain');
    }
    if (path === '/mem' && req.method === 'GET') {
      return reply(res, 200, JSON.stringify({ ...process.memoryUsage(), sockets, subscriptions, rooms: rooms.size }));
    }
    return reply(res, 404, 'not found', 'text/plain');
  } catch (err) {
    if (!res.headersSent) reply(res, 500, JSON.stringify({ error: String(err) }));
    else res.destroy();
  }
});

http.on('upgrade', (req, socket, head) => {
  if ((req.url ?? '').split('?')[0] !== '/graphql') return socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});

const shutdown = () => {
  for (const socket of wss.clients) socket.terminate();
  http.close();
  client.disconnect();
  subscriber.disconnect();
  setTimeout(() => process.exit(0), 100).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

await Promise.all([client.connect(), subscriber.connect()]);
http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${(http.address() as AddressInfo).port}\n`);
});
