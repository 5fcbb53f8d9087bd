// What a browser gets outside /graphql's API: the web page (or how to build it), no source maps in
// production, and GraphiQL's page compressed, while GraphQL results and SSE streams stay as they are.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signUp } from './support/client.js';
import { startServer, type RunningServer } from './support/server.js';

const servers: RunningServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function serve(env: Record<string, string>, webRoot: string | null) {
  const server = await startServer({ MESSAGE_RATE_LIMIT: '0', ...env }, { webRoot });
  servers.push(server);
  return server;
}

/** A built page: index.html, a script and its source map. */
function page(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-page-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Chat</title>');
  writeFileSync(join(dir, 'assets/index-abc.js'), 'console.log(1)\n//# sourceMappingURL=index-abc.js.map');
  writeFileSync(join(dir, 'assets/index-abc.js.map'), '{"version":3,"sources":["../src/main.ts"]}');
  return dir;
}

/** A raw GET (fetch would inflate the body): status, headers, and the bytes on the wire. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bytes: number }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => {
        bytes += d.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
    }).on('error', reject);
  });
}

describe('the web page at /', () => {
  it('says how to build the page when it is not built, instead of a bare 404', async () => {
    const server = await serve({}, join(tmpdir(), 'no-such-web-dist'));
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/^The web chat page is not built: run `npm run web:build`.*\nThe API is at \/graphql\.\n$/);
    expect(await (await fetch(`${server.url}/elsewhere`)).text()).toBe('not found: the API is at /graphql');
  });

  it('serves source maps in development only', async () => {
    const root = page();
    const dev = await serve({ NODE_ENV: 'development' }, root);
    const prod = await serve({ NODE_ENV: 'production' }, root);
    expect((await fetch(`${dev.url}/assets/index-abc.js.map`)).status).toBe(200);
    expect((await fetch(`${prod.url}/assets/index-abc.js.map`)).status).toBe(404);
    expect((await fetch(`${prod.url}/assets/index-abc.js`)).status).toBe(200);
    expect((await fetch(`${prod.url}/`)).status).toBe(200);
  });
});

describe('compression', () => {
  it('sends GraphiQL\'s page gzipped to a browser that accepts it', async () => {
    const server = await serve({ NODE_ENV: 'development' }, null);
    const plain = await rawGet(server.httpUrl, { accept: 'text/html' });
    const gzipped = await rawGet(server.httpUrl, { accept: 'text/html', 'accept-encoding': 'gzip, deflate, br, zstd' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(gzipped.status).toBe(200);
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.bytes).toBeLessThan(plain.bytes / 3);
    // and it is the same page
    const inflated = await (await fetch(server.httpUrl, { headers: { accept: 'text/html', 'accept-encoding': 'gzip' } })).text();
    expect(Buffer.byteLength(inflated)).toBe(plain.bytes);
  });

  it('leaves GraphQL results and SSE streams uncompressed', async () => {
    const server = await serve({}, null);
    const user = await signUp(server.httpUrl, 'gz');
    const json = await rawGet(`${server.httpUrl}?query=${encodeURIComponent('{ me { username } }')}`, {
      accept: 'application/json',
      'accept-encoding': 'gzip',
      authorization: `Bearer ${user.accessToken}`,
    });
    expect(json.status).toBe(200);
    expect(json.headers['content-encoding']).toBeUndefined();

    const sse = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
      const req = get(
        `${server.httpUrl}?query=${encodeURIComponent('subscription { messageAdded(room: "general") { id } }')}`,
        { headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip', authorization: `Bearer ${user.accessToken}` } },
        (res) => {
          resolve(res.headers);
          req.destroy();
        },
      );
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    });
    expect(sse['content-type']).toMatch(/^text\/event-stream/);
    // yoga marks its streams `Content-Encoding: none` (for proxies): no compressor in between
    expect(sse['content-encoding']).toBe('none');
  });
});
