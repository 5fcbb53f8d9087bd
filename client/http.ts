// One GraphQL request over HTTP, signing in, and the idempotency key of a send: the typed client's
// HTTP side (no Node modules: fetch is the browser's or Node's).
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Kind, print, type DocumentNode, type GraphQLFormattedError } from 'graphql';
import type { FormattedExecutionResult } from 'graphql-ws';
import type { LoginMutation } from './generated/graphql.js';
import { loginMutation, registerMutation } from './operations.js';

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
export function source(document: DocumentNode): string {
  let text = printed.get(document);
  if (text === undefined) printed.set(document, (text = print(document)));
  return text;
}

const keyed = new WeakMap<DocumentNode, boolean>();
/** Whether the document declares `$clientId` (an idempotency key). */
export function declaresClientId(document: DocumentNode): boolean {
  let found = keyed.get(document);
  if (found === undefined) {
    found = document.definitions.some(
      (d) => d.kind === Kind.OPERATION_DEFINITION && (d.variableDefinitions ?? []).some((v) => v.variable.name.value === 'clientId'),
    );
    keyed.set(document, found);
  }
  return found;
}

export function operationName(document: DocumentNode): string | undefined {
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

