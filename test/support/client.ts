import { createClient as createSseClient } from 'graphql-sse';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

/**
 * The default type of a response's `data` in tests: a result's shape is checked by the test's
 * assertions (and a wrong field fails them), so tests read it without declaring each type.
 */
// biome-ignore lint/suspicious/noExplicitAny: GraphQL responses in tests are checked by assertions, not types
export type Json = any;

export interface GraphQLResponse<T = Record<string, unknown>> {
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** One GraphQL request over HTTP POST. */
export async function gql<T = Json>(httpUrl: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<GraphQLResponse<T>> {
  const res = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GraphQLResponse<T>;
}

/** The first error code of a response. */
export const codeOf = (r: GraphQLResponse<unknown>) => r.errors?.[0]?.extensions?.code;

export interface Session {
  readonly username: string;
  readonly password: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly userId: string;
}

let counter = 0;
/** Registers a fresh user (unique name) and returns its tokens. */
export async function signUp(httpUrl: string, prefix = 'user'): Promise<Session> {
  const username = `${prefix}_${process.pid % 10000}_${Date.now() % 1e6}_${counter++}`.slice(0, 32);
  const password = 'correct horse battery';
  const r = await gql(httpUrl, 'mutation($u:String!,$p:String!){ register(username:$u,password:$p){ accessToken refreshToken user{ id } } }', { u: username, p: password });
  if (!r.data) throw new Error(`register failed: ${JSON.stringify(r.errors)}`);
  const p = r.data.register;
  return { username, password, accessToken: p.accessToken, refreshToken: p.refreshToken, userId: p.user.id };
}

/** A graphql-ws client signed in with `token` (a function to refresh on reconnect). */
export function wsClient(wsUrl: string, token: string | (() => string | Promise<string>), extra: Partial<Parameters<typeof createClient>[0]> = {}): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: async () => ({ authorization: `Bearer ${typeof token === 'function' ? await token() : token}` }),
    ...extra,
  });
}

interface Sink<T> {
  next(result: FormattedExecutionResult<T, unknown>): void;
  error(error: unknown): void;
  complete(): void;
}

/** Collects a graphql-ws subscription's results; `next(n)` waits until n have arrived. */
export function collect<T = Json>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  return collectFrom<T>((sink) => client.subscribe<T>({ query, variables }, sink));
}

/** The same over SSE (graphql-sse, one connection per operation), signed in with `token`. */
export function sseCollect<T = Json>(httpUrl: string, token: string, query: string, variables: Record<string, unknown> = {}) {
  const client = createSseClient({ url: httpUrl, headers: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  return collectFrom<T>((sink) => {
    const dispose = client.subscribe<T>({ query, variables }, sink as Parameters<typeof client.subscribe<T>>[1]);
    return () => {
      dispose();
      client.dispose();
    };
  });
}

/** A subscription's results as they come; `next(n)` waits until n have arrived. */
export function collectFrom<T = Json>(subscribe: (sink: Sink<T>) => () => void) {
  const results: FormattedExecutionResult<T, unknown>[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let error: unknown = null;
  let completed = false;
  const flush = () => {
    for (const w of [...waiters]) if (results.length >= w.n || error || completed) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const dispose = subscribe({
    next: (r) => {
      results.push(r);
      flush();
    },
    error: (e) => {
      error = e;
      flush();
    },
    complete: () => {
      completed = true;
      flush();
    },
  });
  return {
    results,
    get error() {
      return error;
    },
    get completed() {
      return completed;
    },
    /** Resolves once `n` results arrived (or the subscription ended); rejects after `timeoutMs`. */
    async next(n: number, timeoutMs = 10_000) {
      if (results.length >= n || error || completed) return results;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`only ${results.length} of ${n} results after ${timeoutMs} ms; error=${JSON.stringify(error)}`)), timeoutMs);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        });
      });
      return results;
    },
    dispose,
  };
}
