// The web chat page: urql for queries and mutations over HTTP and for messageAdded over graphql-ws,
// both through the typed chat client (fresh access tokens, resume after reconnects).
import { Client as UrqlClient, fetchExchange, subscriptionExchange, type AnyVariables, type OperationResult, type TypedDocumentNode } from '@urql/core';
import {
  ChatApiError,
  createChatClient,
  createRoomMutation,
  joinRoomMutation,
  messageAddedSubscription,
  recentMessagesQuery,
  roomsQuery,
  sendMessageMutation,
  signIn,
  type ChatClient,
  type ChatSession,
  type MessageAddedSubscription,
  type RoomsQuery,
} from '../../client/index.js';

type Message = MessageAddedSubscription['messageAdded'];
type Room = RoomsQuery['rooms'][number];

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

// same origin: the server serves this page at / and the API at /graphql
const httpUrl = new URL('graphql', document.baseURI).toString();
const wsUrl = httpUrl.replace(/^http/, 'ws');

/** One session per tab: a refresh token is single use, so two tabs must not share one. */
const SESSION_KEY = 'chat.session';
const ROOM_KEY = 'chat.room';
const storedSession = (): ChatSession | undefined => {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') ?? undefined;
  } catch {
    return undefined;
  }
};
const storeSession = (session: ChatSession | undefined) =>
  session ? sessionStorage.setItem(SESSION_KEY, JSON.stringify(session)) : sessionStorage.removeItem(SESSION_KEY);

const describe = (err: unknown) => (err instanceof ChatApiError ? err.message : err instanceof Error ? err.message : String(err));

// ---------------------------------------------------------------- signed-in state

let chat: ChatClient | undefined;
let urql: UrqlClient | undefined;
let currentRoom = '';
let stopRoom: (() => void) | undefined;
const shown = new Set<string>();

function connect(session: ChatSession) {
  const client = createChatClient({
    httpUrl,
    wsUrl,
    session,
    onSession: (s) => {
      storeSession(s);
      if (!s && chat === client) showAuth('Your session ended. Please log in again.');
    },
  });
  client.ws.on('connected', () => setStatus('live'));
  client.ws.on('closed', () => setStatus('reconnecting'));
  chat = client;
  urql = new UrqlClient({
    url: httpUrl,
    fetch: client.fetch,
    requestPolicy: 'network-only',
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: client.ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });
  return client;
}

/** A query or mutation through urql; GraphQL and network errors throw. */
async function run<R, V extends AnyVariables>(kind: 'query' | 'mutation', doc: TypedDocumentNode<R, V>, variables: V): Promise<R> {
  const result: OperationResult<R, V> = await (kind === 'query' ? urql!.query(doc, variables) : urql!.mutation(doc, variables)).toPromise();
  if (result.error) {
    const first = result.error.graphQLErrors[0];
    throw first ? new ChatApiError(result.error.graphQLErrors.map((e) => ({ message: e.message, extensions: e.extensions }))) : result.error;
  }
  return result.data!;
}

function setStatus(state: 'connecting' | 'live' | 'reconnecting') {
  const el = $('status');
  el.dataset.state = state;
  el.textContent = state;
}

// ---------------------------------------------------------------- views

function showAuth(message = '') {
  stopRoom?.();
  stopRoom = undefined;
  void chat?.dispose();
  chat = undefined;
  urql = undefined;
  $('chat-view').hidden = true;
  $('whoami').hidden = true;
  $('auth-view').hidden = false;
  $('auth-error').textContent = message;
  $<HTMLInputElement>('username').focus();
}

async function showChat(client: ChatClient) {
  const session = client.session()!;
  $('whoami-name').textContent = session.user.username;
  $('auth-view').hidden = true;
  $('whoami').hidden = false;
  $('chat-view').hidden = false;
  setStatus('connecting');
  const rooms = await loadRooms();
  const wanted = sessionStorage.getItem(ROOM_KEY);
  await openRoom(rooms.some((r) => r.name === wanted) ? wanted! : 'general');
}

async function loadRooms(): Promise<Room[]> {
  const { rooms } = await run('query', roomsQuery, {});
  const list = $('room-list');
  list.replaceChildren(
    ...rooms
      .filter((r) => !r.name.startsWith('dm:'))
      .map((room) => {
        const li = document.createElement('li');
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'room';
        button.dataset.room = room.name;
        button.textContent = `# ${room.name}`;
        if (room.private) {
          const badge = document.createElement('span');
          badge.className = 'badge';
          badge.textContent = 'private';
          button.append(badge);
        }
        button.addEventListener('click', () => void openRoom(room.name).catch(showChatError));
        li.append(button);
        return li;
      }),
  );
  markCurrentRoom();
  return rooms;
}

function markCurrentRoom() {
  for (const b of document.querySelectorAll<HTMLButtonElement>('#room-list .room')) b.setAttribute('aria-current', String(b.dataset.room === currentRoom));
}

async function openRoom(name: string) {
  stopRoom?.();
  currentRoom = name;
  sessionStorage.setItem(ROOM_KEY, name);
  markCurrentRoom();
  $('room-title').textContent = `# ${name}`;
  $<HTMLInputElement>('message-input').placeholder = `Message #${name}`;
  $('chat-error').textContent = '';
  const list = $('messages');
  list.replaceChildren();
  shown.clear();

  const { recentMessages } = await run('query', recentMessagesQuery, { room: name, limit: 100 });
  if (currentRoom !== name) return;
  if (!recentMessages.length) list.append(emptyNote());
  for (const m of recentMessages) appendMessage(m);
  scrollToEnd(true);

  // from the last message of the history: no gap between the two, and the client resumes from the
  // last one shown after any reconnect
  const sub = urql!
    .subscription(messageAddedSubscription, { room: name, after: recentMessages.at(-1)?.id ?? '0-0' })
    .subscribe((result) => {
      if (result.error) return showChatError(result.error);
      const m = result.data?.messageAdded;
      if (m && m.room === currentRoom) {
        const atEnd = nearEnd();
        appendMessage(m);
        scrollToEnd(atEnd || m.mine);
      }
    });
  stopRoom = () => sub.unsubscribe();
  $<HTMLInputElement>('message-input').focus();
}

function emptyNote() {
  const li = document.createElement('li');
  li.className = 'empty';
  li.textContent = 'No messages yet. Say hello!';
  return li;
}

/** A stable, pleasant colour per user. */
function hue(name: string) {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}

function appendMessage(m: Message) {
  if (shown.has(m.id)) return;
  shown.add(m.id);
  const list = $('messages');
  list.querySelector('.empty')?.remove();
  const previous = list.lastElementChild as HTMLElement | null;
  const li = document.createElement('li');
  li.className = `message${m.mine ? ' mine' : ''}`;
  li.dataset.id = m.id;
  li.dataset.author = m.author.username;
  // consecutive messages of one author within 5 minutes share a header
  const continued = previous?.dataset.author === m.author.username && Date.parse(m.createdAt) - Number(previous.dataset.at) < 5 * 60_000;
  li.dataset.at = String(Date.parse(m.createdAt));
  if (continued) li.classList.add('continued');

  const avatar = document.createElement('span');
  avatar.className = 'avatar';
  avatar.style.setProperty('--hue', String(hue(m.author.username)));
  avatar.textContent = m.author.username.slice(0, 1).toUpperCase();
  avatar.setAttribute('aria-hidden', 'true');

  const body = document.createElement('div');
  body.className = 'body';
  const head = document.createElement('div');
  head.className = 'meta';
  const author = document.createElement('span');
  author.className = 'author';
  author.textContent = m.author.username;
  const when = document.createElement('time');
  when.dateTime = m.createdAt;
  when.title = new Date(m.createdAt).toLocaleString();
  when.textContent = new Date(m.createdAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  head.append(author, when);
  const text = document.createElement('p');
  text.className = 'text';
  text.textContent = m.text; // text, never HTML
  body.append(head, text);
  li.append(avatar, body);
  list.append(li);
}

function nearEnd() {
  const list = $('messages');
  return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
}
function scrollToEnd(force: boolean) {
  if (force) $('messages').scrollTop = $('messages').scrollHeight;
}

function showChatError(err: unknown) {
  $('chat-error').textContent = describe(err);
}

// ---------------------------------------------------------------- events

$<HTMLFormElement>('auth-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const mode = ((event as SubmitEvent).submitter as HTMLButtonElement | null)?.value === 'register' ? 'register' : 'login';
  const username = $<HTMLInputElement>('username').value.trim().toLowerCase();
  const password = $<HTMLInputElement>('password').value;
  const buttons = document.querySelectorAll<HTMLButtonElement>('#auth-form button');
  for (const b of buttons) b.disabled = true;
  $('auth-error').textContent = '';
  try {
    const session = await signIn(httpUrl, { username, password }, mode);
    $<HTMLInputElement>('password').value = '';
    await showChat(connect(session));
  } catch (err) {
    const code = err instanceof ChatApiError ? err.code : undefined;
    $('auth-error').textContent =
      code === 'CONFLICT' ? 'That name is taken. Log in instead, or pick another.' : code === 'UNAUTHENTICATED' ? 'Wrong username or password.' : describe(err);
  } finally {
    for (const b of buttons) b.disabled = false;
  }
});

$<HTMLFormElement>('send-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>('message-input');
  const text = input.value;
  if (!text.trim()) return;
  input.value = '';
  try {
    await run('mutation', sendMessageMutation, { room: currentRoom, text });
    $('chat-error').textContent = '';
  } catch (err) {
    input.value = text; // not sent: keep it
    showChatError(err);
  }
});

$<HTMLFormElement>('room-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = $<HTMLInputElement>('room-name').value.trim().toLowerCase();
  const isPrivate = $<HTMLInputElement>('room-private').checked;
  try {
    try {
      await run('mutation', joinRoomMutation, { name });
    } catch (err) {
      if (!(err instanceof ChatApiError) || err.code !== 'NOT_FOUND') throw err;
      await run('mutation', createRoomMutation, { name, private: isPrivate });
    }
    $<HTMLInputElement>('room-name').value = '';
    $<HTMLInputElement>('room-private').checked = false;
    await loadRooms();
    await openRoom(name);
  } catch (err) {
    showChatError(err);
  }
});

$('logout').addEventListener('click', async () => {
  const client = chat;
  chat = undefined;
  await client?.logout();
  sessionStorage.removeItem(ROOM_KEY);
  showAuth();
});

// ---------------------------------------------------------------- start

const saved = storedSession();
if (saved) showChat(connect(saved)).catch(() => showAuth());
else showAuth();
