/** HTTP from the orchestrator: keep-alive POSTs (the senders), GETs, GraphQL requests, and a bounded pool. */
import { Agent, request as httpRequest } from 'node:http';

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export function post(url: string, body: string, headers: Record<string, string> = {}, timeoutMs = 15_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`POST ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export async function get(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}

/** A GraphQL request; its errors throw (with `code` = the first error's extensions.code). */
export async function gql<T>(base: string, query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
  const res = await post(`${base}/graphql`, JSON.stringify({ query, variables }), token ? { authorization: `Bearer ${token}` } : {});
  const json = JSON.parse(res.body) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  if (!json.data || json.errors?.length) {
    const err = new Error(`GraphQL ${res.status}: ${JSON.stringify(json.errors ?? json).slice(0, 300)}`) as Error & { code?: string };
    err.code = json.errors?.[0]?.extensions?.code;
    throw err;
  }
  return json.data;
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/** Closes the kept-alive connections. */
export const closeHttp = () => agent.destroy();
