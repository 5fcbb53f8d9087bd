// The session: signing in and out, the one chat client (HTTP requests and graphql-ws, fresh tokens,
// resumed subscriptions), and the connection state the page shows ("reconnecting", "session ended").
import { createChatClient, signIn, type ChatClient, type ChatSession } from '../../client/index.js';
import { $, codeOf, describe } from './dom.js';
import { state, type ConnectionState } from './state.js';

// same origin: the server serves this page at / and the API at /graphql
export const httpUrl = new URL('graphql', document.baseURI).toString();
const wsUrl = httpUrl.replace(/^http/, 'ws');

/** One session per tab: a refresh token is single use, so two tabs must not share one. */
const SESSION_KEY = 'chat.session';
export const ROOM_KEY = 'chat.room';

export function storedSession(): ChatSession | undefined {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') ?? undefined;
  } catch {
    return undefined;
  }
}

function storeSession(session: ChatSession | undefined) {
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(SESSION_KEY);
}

export interface SessionHooks {
  /** The socket is up again after a drop: refresh what subscriptions cannot resume. */
  onReconnected(): void;
  /** The login is over (refresh refused, revoked elsewhere): back to the sign-in form. */
  onEnded(): void;
}

/** The chat client for a session; the caller keeps it in state.session. */
export function connect(session: ChatSession, hooks: SessionHooks): ChatClient {
  // closes in a row without a connection in between: a socket that never opens is worth explaining
  let failures = 0;
  // why the connection went: the refused attempts that follow a restart do not change it
  let reason = '';
  const client: ChatClient = createChatClient({
    httpUrl,
    wsUrl,
    session,
    onSession: (s) => {
      storeSession(s);
      // after the client has finished with the refusal (it is still inside graphql-ws's connect)
      if (!s && state.session?.chat === client) setTimeout(hooks.onEnded);
    },
    wsOptions: {
      on: {
        connected: (_socket, _payload, wasRetry) => {
          if (state.session?.chat !== client) return;
          failures = 0;
          reason = '';
          setConnection('live');
          if (wasRetry) hooks.onReconnected();
        },
        closed: (event) => {
          if (state.session?.chat !== client) return;
          failures++;
          reason = closeReason(event) || reason;
          setConnection('reconnecting', failures >= 3 ? `${reason} ${refusedHint}`.trim() : reason);
        },
      },
    },
  });
  return client;
}

const refusedHint = `The live connection to ${wsUrl} keeps failing: is the server running, and does it accept this page's origin (${location.origin}; see ALLOWED_ORIGINS)?`;

/** Why the socket closed, in words, when it says more than "the network dropped". */
function closeReason(event: unknown): string {
  const { code, reason } = (event ?? {}) as { code?: number; reason?: string };
  if (code === 4403) return ''; // the token expired: refreshed and back at once
  if (code === 1001) return 'The server is restarting.';
  if (code === 1006 && !navigator.onLine) return 'You are offline.';
  return reason ? `The server closed the connection: ${reason}` : '';
}

/** The connection pill in the header and, while it is down, a banner over the conversation. */
export function setConnection(connection: ConnectionState, detail = '') {
  state.connection = connection;
  const pill = $('status');
  pill.dataset.state = connection;
  pill.textContent = connection;
  const banner = $('banner');
  banner.hidden = connection !== 'reconnecting';
  if (connection === 'reconnecting') {
    $('banner-text').textContent = `Reconnecting… ${detail ? `${detail} ` : ''}Messages sent meanwhile will show up when the connection is back.`;
  }
}

/** Signs in (or up) from the form; the session is stored for this tab. */
export async function signInFromForm(mode: 'login' | 'register', username: string, password: string): Promise<ChatSession> {
  try {
    return await signIn(httpUrl, { username, password }, mode);
  } catch (err) {
    const code = codeOf(err);
    if (code === 'CONFLICT') throw new Error('That name is taken. Log in instead, or pick another.');
    if (code === 'UNAUTHENTICATED') throw new Error('Wrong username or password.');
    if (err instanceof TypeError) throw new Error(`Cannot reach the server at ${httpUrl} (${describe(err)}).`);
    throw err;
  }
}

/** The sign-in view, with a message (why the last session ended) when there is one. */
export function showAuthView(message = '') {
  $('chat-view').hidden = true;
  $('whoami').hidden = true;
  $('banner').hidden = true;
  $('auth-view').hidden = false;
  const notice = $('auth-notice');
  notice.textContent = message;
  notice.hidden = !message;
  $('auth-error').textContent = '';
  $<HTMLInputElement>('username').focus();
}

export function showChatView(me: string) {
  $('whoami-name').textContent = me;
  $('auth-view').hidden = true;
  $('whoami').hidden = false;
  $('chat-view').hidden = false;
  setConnection('connecting');
}
