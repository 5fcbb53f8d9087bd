// A chat client for Node and the browser: typed requests over HTTP, and a graphql-ws client that
// keeps its access token fresh and resumes `messageAdded` and `roomEvents` subscriptions after any
// reconnect.
// Depends on graphql-ws and graphql only (no Node modules): Node passes `webSocketImpl` (ws),
// browsers use their own WebSocket.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Kind, parse, print, type DocumentNode, type GraphQLFormattedError } from 'graphql';
import { createClient, type Client, type ClientOptions, type FormattedExecutionResult, type Sink, type SubscribePayload } from 'graphql-ws';
import type { LoginMutation } from './generated/graphql.js';
import { loginMutation, logoutMutation, refreshMutation, registerMutation } from './operations.js';

/** What login, register and refresh return; keep it (minus the access token, if you like) to sign in again. */
export type ChatSession = LoginMutation['login'];

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/**
 * How `credentials` sign in: `login`; `register` (a new user); `auto` = login, and register when
 * the login fails and the name is free.
 */
export type SignInMode = 'login' | 'register' | 'auto';

/** The close code the server uses for a missing, expired or revoked token (graphql-ws CloseCode.Forbidden). */
export const CLOSE_FORBIDDEN = 4403;

export interface ChatClientOptions {
  /** e.g. http://localhost:4000/graphql */
  readonly httpUrl: string;
  /** e.g. ws://localhost:4000/graphql */
  readonly wsUrl: string;
  /** A session from an earlier sign-in (login, register or refresh). */
  readonly session?: ChatSession;
  /** Signs in when there is no session, and again when the refresh token is refused. */
  readonly credentials?: Credentials;
  /** @default 'login' */
  readonly signIn?: SignInMode;
  /** WebSocket constructor; Node 20 has none built in: pass `ws`'s. @default globalThis.WebSocket */
  readonly webSocketImpl?: unknown;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * Refresh an access token this long before it expires (at most a third of its lifetime).
   * @default 30000 (ms)
   */
  readonly refreshBeforeExpiryMs?: number;
  /** Called with every new session (sign-in and each rotation, so store the new refresh token) and with undefined when it ends. */
  readonly onSession?: (session: ChatSession | undefined) => void;
  /**
   * Wait before reconnect attempt `retries` (0, 1, ...).
   * @default 300 ms doubling up to 10 s, plus up to 30 % jitter
   */
  readonly retryWait?: (retries: number) => Promise<void>;
  /**
   * How long `request()` keeps retrying an operation that declares `$clientId` (sendMessage,
   * sendDirectMessage) after SERVICE_UNAVAILABLE, a 502/503/504 from a proxy or a dropped
   * connection, with the same clientId each time (the server stores the message once). 0 = never.
   * @default 30000 (ms)
   */
  readonly retrySendsForMs?: number;
  /** Anything else for graphql-ws's createClient (its `on` listeners, keepAlive, ...). */
  readonly wsOptions?: Partial<Omit<ClientOptions, 'url' | 'connectionParams' | 'webSocketImpl'>>;
}

export interface ChatSink<T> {
  next(data: T): void;
  /** A ChatApiError (GraphQL errors), a close event of a fatal close, or a network error. */
  error?(error: unknown): void;
  complete?(): void;
}

export interface ChatClient {
  /**
   * The graphql-ws client, for urql's subscriptionExchange or Apollo's GraphQLWsLink. Its
   * `subscribe` resumes `messageAdded(room:, after: $var)` and `roomEvents(room:, after: $var)`
   * operations from the last id they delivered after every reconnect (the operation must pass
   * `after` as a variable).
   */
  readonly ws: Client;
  /** fetch that adds `Authorization: Bearer <fresh access token>`: for urql's or Apollo's HTTP transport. */
  readonly fetch: typeof fetch;
  /** The current session, if signed in. */
  session(): ChatSession | undefined;
  /** Signs in with the credentials (or refreshes the session) unless the access token is still fresh. */
  signIn(): Promise<ChatSession>;
  /** A fresh access token, refreshed first when it is near expiry. */
  accessToken(): Promise<string>;
  /**
   * A query or mutation over HTTP, signed in; GraphQL errors reject with ChatApiError. An operation
   * that declares `$clientId` gets a new one when the variables have none, and is retried with it
   * (see `retrySendsForMs`).
   */
  request<R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables?: V): Promise<R>;
  /** A subscription over graphql-ws; returns the function that ends it. */
  subscribe<R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables: V, sink: ChatSink<R>): () => void;
  /** Revokes the login (every token of it) and closes the socket. */
  logout(): Promise<void>;
  /** Closes the socket; the session stays valid. */
  dispose(): Promise<void>;
}

/** GraphQL errors of a response; `code` is the first one's `extensions.code`. */
export class ChatApiError extends Error {
  readonly code: string | undefined;
  constructor(readonly errors: readonly GraphQLFormattedError[]) {
    super(errors.map((e) => e.message).join('; ') || 'GraphQL request failed');
    this.name = 'ChatApiError';
    const code = errors[0]?.extensions?.code;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

/** Compares two message ids (`<ms>-<seq>`) by their two numbers. */
export function compareMessageIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

/** A new idempotency key for one send: a random UUID (also where randomUUID is missing: plain-http pages). */
export function newClientId(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === 'function') return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A failure after which the same send may have been stored or not, or was refused for a passing
 * reason: the server's SERVICE_UNAVAILABLE, a proxy's 502/503/504, or fetch failing (a network
 * error or a connection dropped before the answer).
 */
export function isRetriableSendFailure(err: unknown): boolean {
  if (err instanceof ChatApiError) return err.code !== undefined && ['SERVICE_UNAVAILABLE', 'HTTP_502', 'HTTP_503', 'HTTP_504'].includes(err.code);
  return err instanceof TypeError;
}

const printed = new WeakMap<DocumentNode, string>();
function source(document: DocumentNode): string {
  let text = printed.get(document);
  if (text === undefined) printed.set(document, (text = print(document)));
  return text;
}

const keyed = new WeakMap<DocumentNode, boolean>();
/** Whether the document declares `$clientId` (an idempotency key). */
function declaresClientId(document: DocumentNode): boolean {
  let found = keyed.get(document);
  if (found === undefined) {
    found = document.definitions.some(
      (d) => d.kind === Kind.OPERATION_DEFINITION && (d.variableDefinitions ?? []).some((v) => v.variable.name.value === 'clientId'),
    );
    keyed.set(document, found);
  }
  return found;
}

function operationName(document: DocumentNode): string | undefined {
  for (const d of document.definitions) if (d.kind === Kind.OPERATION_DEFINITION) return d.name?.value;
  return undefined;
}

/** One GraphQL request over HTTP; resolves with `data`, rejects with ChatApiError on GraphQL errors. */
export async function executeHttp<R, V>(
  httpUrl: string,
  document: TypedDocumentNode<R, V>,
  variables: V | undefined,
  options: { token?: string | undefined; fetch?: typeof fetch | undefined } = {},
): Promise<R> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const res = await doFetch(httpUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: JSON.stringify({ query: source(document), variables: variables ?? {}, operationName: operationName(document) }),
  });
  let body: FormattedExecutionResult<R>;
  try {
    body = (await res.json()) as FormattedExecutionResult<R>;
  } catch {
    throw new ChatApiError([{ message: `HTTP ${res.status} ${res.statusText} from ${httpUrl}`, extensions: { code: `HTTP_${res.status}` } }]);
  }
  if (body.errors?.length) throw new ChatApiError(body.errors);
  if (!body.data) throw new ChatApiError([{ message: `HTTP ${res.status}: no data`, extensions: { code: `HTTP_${res.status}` } }]);
  return body.data;
}

/** Logs in, registers, or (`auto`) logs in and registers the name when it is free. */
export async function signIn(httpUrl: string, credentials: Credentials, mode: SignInMode = 'login', fetchImpl?: typeof fetch): Promise<ChatSession> {
  const vars = { username: credentials.username, password: credentials.password };
  const opts = { fetch: fetchImpl };
  if (mode === 'register') return (await executeHttp(httpUrl, registerMutation, vars, opts)).register;
  try {
    return (await executeHttp(httpUrl, loginMutation, vars, opts)).login;
  } catch (loginError) {
    // one message for unknown user and wrong password: registering tells the two apart
    if (mode !== 'auto' || !(loginError instanceof ChatApiError) || loginError.code !== 'UNAUTHENTICATED') throw loginError;
    try {
      return (await executeHttp(httpUrl, registerMutation, vars, opts)).register;
    } catch (registerError) {
      if (registerError instanceof ChatApiError && registerError.code === 'CONFLICT') throw loginError; // the user exists: wrong password
      throw registerError;
    }
  }
}

/** Seconds since the epoch at which a JWT was issued, if it can be read. */
function issuedAt(token: string): number | undefined {
  try {
    const part = token.split('.')[1] ?? '';
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const iat = (JSON.parse(json) as { iat?: unknown }).iat;
    return typeof iat === 'number' ? iat * 1000 : undefined;
  } catch {
    return undefined;
  }
}

const isAuthFailure = (err: unknown) => err instanceof ChatApiError && err.code === 'UNAUTHENTICATED';
/** How far this machine's clock may be ahead of the server's when a subscription has no cursor yet. */
const CLOCK_TOLERANCE_MS = 2000;
const RETRIABLE_SUBSCRIPTION_CODES = new Set(['RATE_LIMITED', 'SERVICE_UNAVAILABLE']);

/**
 * The subscription fields that take `after` and deliver objects whose `id` is a strictly increasing
 * stream id of the room's log: a message id (messageAdded) or an event id (roomEvents).
 */
const RESUMABLE_FIELDS = new Set(['messageAdded', 'roomEvents']);

/** Where a subscription operation takes a resumable field's `after`, or null when it cannot be resumed. */
interface ResumePoint {
  /** The response key of the resumable field (its alias, if any). */
  readonly field: string;
  /** The variable passed as `after`. */
  readonly variable: string;
}

const resumePoints = new Map<string, ResumePoint | null>();
function resumePoint(payload: SubscribePayload): ResumePoint | null {
  const key = `${payload.operationName ?? ''}\n${payload.query}`;
  if (resumePoints.has(key)) return resumePoints.get(key)!;
  let point: ResumePoint | null = null;
  try {
    const doc = parse(payload.query, { noLocation: true });
    const ops = doc.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    const op = ops.find((d) => !payload.operationName || d.name?.value === payload.operationName);
    if (op?.operation === 'subscription') {
      for (const sel of op.selectionSet.selections) {
        if (sel.kind !== Kind.FIELD || !RESUMABLE_FIELDS.has(sel.name.value)) continue;
        const after = sel.arguments?.find((a) => a.name.value === 'after');
        if (after?.value.kind === Kind.VARIABLE) point = { field: sel.alias?.value ?? sel.name.value, variable: after.value.name.value };
      }
    }
  } catch {
    point = null; // not ours to judge: the server answers with the syntax error
  }
  if (resumePoints.size > 200) resumePoints.clear();
  resumePoints.set(key, point);
  return point;
}

const defaultRetryWait = (retries: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, Math.min(10_000, 300 * 2 ** retries) * (1 + Math.random() * 0.3)));

export function createChatClient(options: ChatClientOptions): ChatClient {
  const { httpUrl, wsUrl, credentials } = options;
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const refreshBefore = options.refreshBeforeExpiryMs ?? 30_000;
  const mode = options.signIn ?? 'login';
  const retrySendsFor = options.retrySendsForMs ?? 30_000;

  let current: ChatSession | undefined;
  let issued = 0; // ms: when the current access token was issued
  let mustRefresh = false; // the server closed the socket with 4403
  let renewing: Promise<ChatSession> | undefined;

  const adopt = (session: ChatSession) => {
    current = session;
    issued = issuedAt(session.accessToken) ?? Date.now();
    mustRefresh = false;
    options.onSession?.(session);
    return session;
  };
  if (options.session) adopt(options.session);

  const stale = (session: ChatSession) => {
    const expires = Date.parse(session.accessTokenExpiresAt);
    const margin = Math.min(refreshBefore, Math.max(0, expires - issued) / 3);
    return Date.now() >= expires - margin;
  };

  /** Refresh (or sign in) once at a time: a refresh token is single use, so two refreshes would revoke the login. */
  const renew = (): Promise<ChatSession> =>
    (renewing ??= (async () => {
      try {
        if (current) {
          try {
            return adopt((await executeHttp(httpUrl, refreshMutation, { refreshToken: current.refreshToken }, { fetch: fetchImpl })).refresh);
          } catch (err) {
            if (!isAuthFailure(err) || !credentials) {
              if (isAuthFailure(err)) {
                current = undefined;
                options.onSession?.(undefined);
              }
              throw err;
            }
          }
        }
        if (!credentials) throw new ChatApiError([{ message: 'Not signed in.', extensions: { code: 'UNAUTHENTICATED' } }]);
        return adopt(await signIn(httpUrl, credentials, mode, fetchImpl));
      } finally {
        renewing = undefined;
      }
    })());

  const fresh = async (): Promise<ChatSession> => (current && !mustRefresh && !stale(current) ? current : renew());

  const ws = createClient({
    url: wsUrl,
    webSocketImpl: options.webSocketImpl,
    lazy: true,
    // keep the socket a moment after the last subscription ends: switching rooms reuses it
    lazyCloseTimeout: 3000,
    retryAttempts: Number.POSITIVE_INFINITY,
    // also after network errors and restarts; fatal closes (4400, 4005 ...) still end subscriptions
    shouldRetry: () => true,
    retryWait: options.retryWait ?? defaultRetryWait,
    ...options.wsOptions,
    connectionParams: async () => {
      try {
        return { authorization: `Bearer ${(await fresh()).accessToken}` };
      } catch (err) {
        // the login is over (refresh refused, no credentials): fail for good (4005 ends the subscriptions)
        if (isAuthFailure(err) || !current) throw err;
        // anything else (server restarting, network) is passing: the stale token gets 4403 and a retry
        return { authorization: `Bearer ${current.accessToken}` };
      }
    },
    on: {
      ...options.wsOptions?.on,
      closed: (event) => {
        if ((event as { code?: number }).code === CLOSE_FORBIDDEN) mustRefresh = true;
        options.wsOptions?.on?.closed?.(event);
      },
    },
  });

  /** ws.subscribe, resuming messageAdded and roomEvents from the last id they delivered after every reconnect. */
  function subscribe<Data = Record<string, unknown>, Ext = unknown>(
    payload: SubscribePayload,
    sink: Sink<FormattedExecutionResult<Data, Ext>>,
  ): () => void {
    const point = resumePoint(payload);
    if (!point) return ws.subscribe(payload, sink);
    let lastId = (payload.variables?.[point.variable] as string | null | undefined) ?? undefined;
    // Without a cursor and before the first message, a resubscribe starts from when this one did
    // (by this machine's clock, less a tolerance): no gap, at worst a few older messages.
    const since = `${Date.now() - CLOCK_TOLERANCE_MS}-0`;
    let frames = 0;
    let frame: Record<string, unknown> | undefined;
    // graphql-ws serialises the payload again for every (re)subscribe: the getter makes each resume
    // from lastId. One frame reads it more than once (validation, then JSON.stringify, in one
    // synchronous step): every read of a frame gets the same value, and only later frames are resumes.
    const tracked: SubscribePayload = {
      query: payload.query,
      operationName: payload.operationName,
      extensions: payload.extensions,
      get variables() {
        if (!frame) {
          frame = { ...payload.variables, [point.variable]: lastId ?? (frames++ > 0 ? since : null) };
          queueMicrotask(() => {
            frame = undefined;
          });
        }
        return frame;
      },
    };
    let stop: (() => void) | undefined;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let ended = false;
    const start = () => {
      stop = ws.subscribe<Data, Ext>(tracked, {
        next(result) {
          const message = (result.data as Record<string, { id?: unknown } | null> | null | undefined)?.[point.field];
          const id = typeof message?.id === 'string' ? message.id : undefined;
          if (id !== undefined) {
            if (lastId !== undefined && compareMessageIds(id, lastId) <= 0) return; // seen already
            lastId = id;
          }
          sink.next(result);
        },
        error(err) {
          // a subscriber that fell behind (or a Redis hiccup) is ended by the server: resubscribe from lastId
          const errors = Array.isArray(err) ? (err as GraphQLFormattedError[]) : [];
          const code = errors[0]?.extensions?.code;
          if (!ended && typeof code === 'string' && RETRIABLE_SUBSCRIPTION_CODES.has(code)) {
            const retryAfter = Number(errors[0]?.extensions?.retryAfter ?? 1);
            retryTimer = setTimeout(start, Math.max(0.2, Math.min(retryAfter, 30)) * 1000);
            return;
          }
          ended = true;
          sink.error(err);
        },
        complete() {
          sink.complete();
        },
      });
    };
    start();
    return () => {
      ended = true;
      clearTimeout(retryTimer);
      stop?.();
    };
  }

  function iterate<Data = Record<string, unknown>, Ext = unknown>(payload: SubscribePayload): AsyncIterableIterator<FormattedExecutionResult<Data, Ext>> {
    const queue: FormattedExecutionResult<Data, Ext>[] = [];
    let wake = () => {};
    let done = false;
    let failure: unknown;
    const dispose = subscribe<Data, Ext>(payload, {
      next: (value) => {
        queue.push(value);
        wake();
      },
      error: (err) => {
        failure = err;
        done = true;
        wake();
      },
      complete: () => {
        done = true;
        wake();
      },
    });
    const iterator: AsyncIterableIterator<FormattedExecutionResult<Data, Ext>> = {
      [Symbol.asyncIterator]: () => iterator,
      async next() {
        while (!queue.length && !done) await new Promise<void>((resolve) => (wake = resolve));
        if (queue.length) return { value: queue.shift()!, done: false };
        if (failure !== undefined) throw failure;
        return { value: undefined, done: true };
      },
      async return() {
        done = true;
        dispose();
        wake();
        return { value: undefined, done: true };
      },
    };
    return iterator;
  }

  const resuming: Client = { on: ws.on, subscribe, iterate, terminate: ws.terminate, dispose: ws.dispose };

  /** One request with a fresh token; a token refused before its time is renewed once and the request sent again. */
  async function signedIn<R, V>(document: TypedDocumentNode<R, V>, variables: V | undefined): Promise<R> {
    try {
      return await executeHttp(httpUrl, document, variables, { token: (await fresh()).accessToken, fetch: fetchImpl });
    } catch (err) {
      if (!isAuthFailure(err) || !current) throw err;
      // the token was refused before its time (clock skew, a new server key): renew once and retry
      mustRefresh = true;
      return executeHttp(httpUrl, document, variables, { token: (await fresh()).accessToken, fetch: fetchImpl });
    }
  }

  const authFetch: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    if (current || credentials) headers.set('authorization', `Bearer ${(await fresh()).accessToken}`);
    return fetchImpl(input, { ...init, headers });
  };

  return {
    ws: resuming,
    fetch: authFetch,
    session: () => current,
    signIn: fresh,
    accessToken: async () => (await fresh()).accessToken,
    async request<R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables?: V): Promise<R> {
      if (!declaresClientId(document)) return signedIn(document, variables);
      // one key for every attempt of this send: however many reach the server, one message is stored
      const keyedVariables = (variables?.clientId == null ? { ...variables, clientId: newClientId() } : variables) as V;
      const deadline = Date.now() + retrySendsFor;
      for (let attempt = 0; ; attempt++) {
        try {
          return await signedIn(document, keyedVariables);
        } catch (err) {
          if (!isRetriableSendFailure(err) || Date.now() >= deadline) throw err;
          await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** attempt, Math.max(0, deadline - Date.now()))));
        }
      }
    },
    subscribe<R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables: V, sink: ChatSink<R>) {
      return subscribe<R>(
        { query: source(document), variables, operationName: operationName(document) },
        {
          next: (result) => {
            if (result.errors?.length) sink.error?.(new ChatApiError(result.errors));
            else if (result.data) sink.next(result.data);
          },
          error: (err) => sink.error?.(Array.isArray(err) ? new ChatApiError(err as GraphQLFormattedError[]) : err),
          complete: () => sink.complete?.(),
        },
      );
    },
    async logout() {
      const session = current;
      current = undefined;
      options.onSession?.(undefined);
      await ws.dispose();
      if (session) await executeHttp(httpUrl, logoutMutation, { refreshToken: session.refreshToken }, { fetch: fetchImpl }).catch(() => undefined);
    },
    dispose: async () => ws.dispose(),
  };
}
