// A chat client for Node and the browser: typed requests over HTTP, and a graphql-ws client that
// keeps its access token fresh and resumes `messageAdded` and `roomEvents` subscriptions after any
// reconnect.
// Depends on graphql-ws and graphql only (no Node modules): Node passes `webSocketImpl` (ws),
// browsers use their own WebSocket.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { GraphQLFormattedError } from 'graphql';
import { createClient, type Client, type ClientOptions } from 'graphql-ws';
import { ChatApiError, declaresClientId, executeHttp, isRetriableSendFailure, newClientId, operationName, signIn, source, type ChatSession, type Credentials, type SignInMode } from './http.js';
import { logoutMutation, refreshMutation } from './operations.js';
import { resumingClient } from './resume.js';

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

  const resuming: Client = resumingClient(ws);

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
      return resuming.subscribe<R>(
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
      await resuming.dispose();
      if (session) await executeHttp(httpUrl, logoutMutation, { refreshToken: session.refreshToken }, { fetch: fetchImpl }).catch(() => undefined);
    },
    dispose: async () => resuming.dispose(),
  };
}
