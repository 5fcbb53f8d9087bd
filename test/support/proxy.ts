import { createServer, connect, type Socket } from 'node:net';

/**
 * A TCP proxy in front of Redis, to fail the network between one client and Redis (never Redis
 * itself): cut a client's connections and refuse new ones for a while, or let its commands through
 * while dropping what Redis answers (a reply cut off after Redis ran the command).
 *
 * A connection is told apart by what its client sends first: ioredis sends CLIENT SETNAME with the
 * connection's name (createRedisClient's `name`), so `match` is a name such as 'chat-sub'.
 */
export interface TcpProxy {
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** Destroys the connections whose first bytes contain `match` (every one without it) and refuses such new ones until `restore`. */
  cut(match?: string): void;
  /** Keeps forwarding what matching clients send, and drops what Redis answers them, until `cut` or `restore`. */
  mute(match?: string): void;
  /** Back to forwarding everything (muted connections stay muted: cut them). */
  restore(): void;
  /** Connections refused or destroyed by `cut` so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** The first bytes the client sent (up to 1 KiB), which name the connection. */
  label: string;
  muted: boolean;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let cutRule: string | null = null;
  let muteRule: string | null = null;
  let cuts = 0;
  const matches = (rule: string | null, pair: Pair) => rule !== null && (rule === '' || pair.label.includes(rule));
  const destroy = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  };
  const apply = (pair: Pair) => {
    if (matches(cutRule, pair)) {
      cuts++;
      destroy(pair);
      return;
    }
    if (matches(muteRule, pair)) pair.muted = true;
  };

  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    const pair: Pair = { client, upstream, label: '', muted: false };
    pairs.add(pair);
    if (cutRule === '') {
      cuts++;
      destroy(pair);
      return;
    }
    client.on('data', (chunk: Buffer) => {
      if (pair.label.length < 1024) {
        pair.label += chunk.toString('latin1');
        apply(pair);
        if (!pairs.has(pair)) return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!pair.muted) client.write(chunk);
    });
    const close = () => destroy(pair);
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    cut(match = '') {
      cutRule = match;
      for (const pair of [...pairs]) apply(pair);
    },
    mute(match = '') {
      muteRule = match;
      for (const pair of pairs) apply(pair);
    },
    restore() {
      cutRule = null;
      muteRule = null;
    },
    get cuts() {
      return cuts;
    },
    async close() {
      for (const pair of [...pairs]) destroy(pair);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
