// The web chat page: urql for queries and mutations over HTTP and for subscriptions over graphql-ws,
// both through the typed chat client (fresh access tokens, resume after reconnects).
//
// The open room follows roomEvents (messages added, edited and deleted), typing and
// presenceChanged; every other room of the list is watched with a light messageAdded subscription
// so its unread badge is refreshed when something arrives there.
import { Client as UrqlClient, fetchExchange, subscriptionExchange, type AnyVariables, type OperationResult, type TypedDocumentNode } from '@urql/core';
import {
  ChatApiError,
  compareMessageIds,
  createChatClient,
  createRoomMutation,
  deleteMessageMutation,
  editMessageMutation,
  joinRoomMutation,
  markReadMutation,
  onlineMembersQuery,
  presenceChangedSubscription,
  recentMessagesQuery,
  roomActivitySubscription,
  roomEventsSubscription,
  roomsQuery,
  sendMessageMutation,
  signIn,
  startTypingMutation,
  typingSubscription,
  type ChatClient,
  type ChatSession,
  type RoomEventsSubscription,
  type RoomsQuery,
  type TypingSubscription,
} from '../../client/index.js';

/** What the page shows of a message (history, live events and mutation results all have it). */
interface Message {
  readonly id: string;
  readonly text: string;
  readonly createdAt: string;
  readonly editedAt?: string | null;
  readonly mine: boolean;
  readonly author: { readonly username: string };
}
type RoomEvent = RoomEventsSubscription['roomEvents'];
type TypingEvent = TypingSubscription['typing'];
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
const codeOf = (err: unknown) => (err instanceof ChatApiError ? err.code : undefined);
const visible = () => document.visibilityState === 'visible';

/** Typing signals sent at most this often while the user types. */
const TYPING_EVERY_MS = 3000;
/** Rooms watched for unread badges at most (the server allows 100 subscriptions per socket). */
const WATCH_LIMIT = 80;
/** Resume a new watcher this far back (client and server clocks may differ): nothing sent after the rooms list was read is missed. */
const CLOCK_TOLERANCE_MS = 2000;

// ---------------------------------------------------------------- signed-in state

let chat: ChatClient | undefined;
let urql: UrqlClient | undefined;
let me = '';
let currentRoom = '';
/** Bumped by every openRoom: work of an earlier opening checks it and stops. */
let opening = 0;
let stopRoom: (() => void) | undefined;
/** Message ids shown (or deleted) in the open room. */
const shown = new Set<string>();
/** The newest event id of the open room seen so far: what markRead marks. */
let lastSeenId: string | undefined;
/** Per room, the id its read mark was last moved to by this page. */
const readUpTo = new Map<string, string>();
/** Per room, unread messages as the server last said. */
const unread = new Map<string, number>();
const roomItems = new Map<string, HTMLLIElement>();
/** Per watched room, the function that ends its watcher. */
const watchers = new Map<string, () => void>();
/** Who is typing in the open room, with the timer that hides each. */
const typers = new Map<string, ReturnType<typeof setTimeout>>();
let lastTypingSignal = 0;
/** The typing signal being sent: a message waits for it, so the signal never lands after the message. */
let typingSent: Promise<unknown> = Promise.resolve();

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
  client.ws.on('connected', (_socket, _payload, wasRetry) => {
    setStatus('live');
    // subscriptions that cannot resume (presence, typing) may have missed something meanwhile
    if (wasRetry && chat === client) {
      background(refreshRooms());
      background(refreshOnline());
    }
  });
  client.ws.on('closed', () => setStatus('reconnecting'));
  chat = client;
  me = session.user.username;
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

/**
 * `task` run one at a time: asked again while it runs, it runs once more afterwards (however often
 * it was asked), so the last run always starts after the last request. The promise settles with
 * the run that serves the request.
 */
function coalesced(task: () => Promise<void>) {
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const request = (): Promise<void> => {
    if (!running) {
      running = task().finally(() => {
        running = undefined;
      });
      return running;
    }
    queued ??= running
      .catch(() => {})
      .then(() => {
        queued = undefined;
        return request();
      });
    return queued;
  };
  return Object.assign(request, { busy: () => running !== undefined });
}

/** Work nobody waits for (badges, presence, read marks): a failure is logged, not shown. */
function background(work: Promise<unknown>) {
  work.catch((err) => console.warn(describe(err)));
}

function setStatus(state: 'connecting' | 'live' | 'reconnecting') {
  const el = $('status');
  el.dataset.state = state;
  el.textContent = state;
}

// ---------------------------------------------------------------- views

function showAuth(message = '') {
  leaveRoom();
  for (const stop of watchers.values()) stop();
  watchers.clear();
  unread.clear();
  readUpTo.clear();
  roomItems.clear();
  $('room-list').replaceChildren();
  currentRoom = '';
  updateTitle();
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
  await refreshRooms();
  const wanted = sessionStorage.getItem(ROOM_KEY);
  await openRoom(wanted && roomItems.has(wanted) ? wanted : 'general');
}

// ---------------------------------------------------------------- room list and unread badges

/** Reads the rooms with their unread counts, redraws the list and watches every room in it. */
const refreshRooms = coalesced(async () => {
  if (!urql) return;
  const since = `${Date.now() - CLOCK_TOLERANCE_MS}-0`;
  const { rooms } = await run('query', roomsQuery, {});
  if (!urql) return;
  renderRooms(rooms.filter((r) => !r.name.startsWith('dm:')));
  watchRooms([...roomItems.keys()], since);
});

function renderRooms(rooms: Room[]) {
  const names = new Set(rooms.map((r) => r.name));
  for (const name of [...roomItems.keys()]) if (!names.has(name)) roomItems.delete(name);
  const items = rooms.map((room) => {
    unread.set(room.name, room.unreadCount);
    let li = roomItems.get(room.name);
    if (!li) {
      li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'room';
      button.dataset.room = room.name;
      const label = document.createElement('span');
      label.className = 'room-name';
      label.textContent = `# ${room.name}`;
      button.append(label);
      if (room.private) {
        const badge = document.createElement('span');
        badge.className = 'badge';
        badge.textContent = 'private';
        button.append(badge);
      }
      button.addEventListener('click', () => void openRoom(room.name).catch(showChatError));
      li.append(button);
      roomItems.set(room.name, li);
    }
    return li;
  });
  $('room-list').replaceChildren(...items);
  renderBadges();
}

/** Unread counts on the room buttons; none on the open room while the page is in view (it is being read). */
function renderBadges() {
  for (const [name, li] of roomItems) {
    const button = li.querySelector<HTMLButtonElement>('.room')!;
    button.setAttribute('aria-current', String(name === currentRoom));
    const count = shownUnread(name);
    let badge = button.querySelector<HTMLElement>('.unread');
    button.classList.toggle('has-unread', count > 0);
    if (!count) {
      badge?.remove();
      continue;
    }
    if (!badge) {
      badge = document.createElement('span');
      badge.className = 'unread';
      button.append(badge);
    }
    badge.textContent = count > 99 ? '99+' : String(count);
    badge.setAttribute('aria-label', `${count} unread`);
  }
  updateTitle();
}

const shownUnread = (room: string) => (room === currentRoom && visible() ? 0 : (unread.get(room) ?? 0));

function updateTitle() {
  let total = 0;
  for (const name of roomItems.keys()) total += shownUnread(name);
  document.title = total ? `(${total}) Chat` : 'Chat';
}

/**
 * Watches each room for new messages (a light messageAdded subscription, resumed after reconnects
 * like the others) and refreshes the counts when one arrives in a room not being read. New
 * watchers start from `since` (just before the rooms list was read): no message falls between.
 */
function watchRooms(names: string[], since: string) {
  const wanted = new Set(names.slice(0, WATCH_LIMIT));
  for (const [name, stop] of watchers) {
    if (wanted.has(name)) continue;
    stop();
    watchers.delete(name);
  }
  for (const name of wanted) {
    if (watchers.has(name)) continue;
    const sub = urql!.subscription(roomActivitySubscription, { room: name, after: since }).subscribe((result) => {
      // a room that became inaccessible drops out of the list at the next refresh
      if (result.error || !result.data) return;
      if (name === currentRoom && visible()) return; // the open room is marked read as it is shown
      background(refreshRooms());
    });
    watchers.set(name, () => sub.unsubscribe());
  }
}

/** Moves the read mark of the open room to the newest event shown, while the page is in view. */
const markRead = coalesced(async () => {
  const room = currentRoom;
  const id = lastSeenId;
  if (!urql || !room || !id || !visible()) return;
  const done = readUpTo.get(room);
  if (done && compareMessageIds(done, id) >= 0) return;
  const { markRead: marked } = await run('mutation', markReadMutation, { room, id });
  readUpTo.set(room, id);
  unread.set(marked.name, marked.unreadCount);
  // a list read before this mark moved would show the old count: read it again
  if (refreshRooms.busy()) background(refreshRooms());
  renderBadges();
});

// ---------------------------------------------------------------- the open room

function leaveRoom() {
  stopRoom?.();
  stopRoom = undefined;
  for (const timer of typers.values()) clearTimeout(timer);
  typers.clear();
  renderTyping();
  $('online').replaceChildren();
}

async function openRoom(name: string) {
  const turn = ++opening;
  leaveRoom();
  currentRoom = name;
  lastSeenId = undefined;
  lastTypingSignal = 0;
  sessionStorage.setItem(ROOM_KEY, name);
  renderBadges();
  $('room-title').textContent = `# ${name}`;
  $<HTMLInputElement>('message-input').placeholder = `Message #${name}`;
  $('chat-error').textContent = '';
  const list = $('messages');
  list.replaceChildren();
  shown.clear();

  const { recentMessages } = await run('query', recentMessagesQuery, { room: name, limit: 100 });
  if (turn !== opening) return;
  if (!recentMessages.length) list.append(emptyNote());
  for (const m of recentMessages) appendMessage(m);
  scrollToEnd(true);
  lastSeenId = recentMessages.at(-1)?.id;

  // roomEvents from the last message of the history: no gap between the two, and the client
  // resumes from the last event shown after any reconnect
  const events = urql!.subscription(roomEventsSubscription, { room: name, after: lastSeenId ?? '0-0' }).subscribe((result) => {
    if (turn !== opening) return;
    if (result.error) return showChatError(result.error);
    if (result.data) applyEvent(result.data.roomEvents);
  });
  const typing = urql!.subscription(typingSubscription, { room: name }).subscribe((result) => {
    if (turn === opening && result.data) showTyping(result.data.typing);
  });
  const presence = urql!.subscription(presenceChangedSubscription, { room: name }).subscribe((result) => {
    if (turn === opening && result.data) background(refreshOnline());
  });
  stopRoom = () => {
    events.unsubscribe();
    typing.unsubscribe();
    presence.unsubscribe();
  };
  background(refreshOnline());
  background(markRead());
  $<HTMLInputElement>('message-input').focus();
}

function applyEvent(event: RoomEvent) {
  lastSeenId = event.id;
  if (event.type === 'DELETED') return removeMessage(event.messageId);
  const m = event.message;
  if (!m) return;
  if (event.type === 'EDITED') return updateMessage(m);
  const atEnd = nearEnd();
  appendMessage(m);
  scrollToEnd(atEnd || m.mine);
  // whoever sent it has stopped typing
  if (typers.has(m.author.username)) {
    clearTimeout(typers.get(m.author.username));
    typers.delete(m.author.username);
    renderTyping();
  }
  if (visible()) background(markRead());
  else background(refreshRooms()); // the tab's title counts it
}

/** Who is in the room now (onlineMembers), read again at every presence change. */
const refreshOnline = coalesced(async () => {
  const room = currentRoom;
  if (!urql || !room) return;
  const { onlineMembers } = await run('query', onlineMembersQuery, { room });
  if (room === currentRoom) renderOnline(onlineMembers.map((u) => u.username));
});

function renderOnline(usernames: string[]) {
  // the viewer is here whether or not the server has seen the subscription yet
  const names = [...new Set([...usernames, me])].sort((a, b) => (a === me ? 1 : b === me ? -1 : a.localeCompare(b)));
  const dot = document.createElement('span');
  dot.className = 'dot';
  dot.setAttribute('aria-hidden', 'true');
  const label = document.createElement('span');
  label.className = 'label';
  label.textContent = `${names.length} online:`;
  const people = names.map((name, i) => {
    const span = document.createElement('span');
    span.className = name === me ? 'person you' : 'person';
    span.textContent = name === me ? `${name} (you)` : name;
    return i < names.length - 1 ? [span, ', '] : [span];
  });
  $('online').replaceChildren(dot, label, ' ', ...people.flat());
}

function showTyping(event: TypingEvent) {
  const who = event.user.username;
  clearTimeout(typers.get(who));
  // until expiresAt by the server's clock; bounded, so a skewed clock neither hides it at once nor keeps it
  const ms = Math.min(Math.max(Date.parse(event.expiresAt) - Date.now(), 1000), 6000);
  typers.set(
    who,
    setTimeout(() => {
      typers.delete(who);
      renderTyping();
    }, ms),
  );
  renderTyping();
}

function renderTyping() {
  const names = [...typers.keys()];
  const el = $('typing');
  if (!names.length) return el.replaceChildren();
  const text =
    names.length === 1
      ? `${names[0]} is typing…`
      : names.length === 2
        ? `${names[0]} and ${names[1]} are typing…`
        : `${names[0]}, ${names[1]} and ${names.length - 2} more are typing…`;
  const dots = document.createElement('span');
  dots.className = 'dots';
  dots.setAttribute('aria-hidden', 'true');
  dots.append(document.createElement('i'), document.createElement('i'), document.createElement('i'));
  const label = document.createElement('span');
  label.textContent = text;
  el.replaceChildren(dots, label);
}

/** Tells the room that the user is typing, at most every TYPING_EVERY_MS. */
function signalTyping() {
  const room = currentRoom;
  if (!urql || !room || !$<HTMLInputElement>('message-input').value.trim()) return;
  const now = Date.now();
  if (now - lastTypingSignal < TYPING_EVERY_MS) return;
  lastTypingSignal = now;
  typingSent = run('mutation', startTypingMutation, { room }).catch((err) => {
    if (codeOf(err) !== 'RATE_LIMITED' && room === currentRoom) showChatError(err);
  });
}

// ---------------------------------------------------------------- messages

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

const messageItem = (id: string) => $('messages').querySelector<HTMLLIElement>(`li.message[data-id="${CSS.escape(id)}"]`);

/** Consecutive messages of one author within 5 minutes share a header. */
function regroup(li: HTMLElement) {
  const previous = li.previousElementSibling as HTMLElement | null;
  const continued = previous?.dataset.author === li.dataset.author && Number(li.dataset.at) - Number(previous?.dataset.at) < 5 * 60_000;
  li.classList.toggle('continued', continued);
}

function appendMessage(m: Message) {
  if (shown.has(m.id)) return;
  shown.add(m.id);
  const list = $('messages');
  list.querySelector('.empty')?.remove();
  const li = document.createElement('li');
  li.className = `message${m.mine ? ' mine' : ''}`;
  li.dataset.id = m.id;
  li.dataset.author = m.author.username;
  li.dataset.at = String(Date.parse(m.createdAt));

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
  body.append(head, text);
  li.append(avatar, body);
  if (m.mine) li.append(messageActions());
  renderText(li, m);
  list.append(li);
  regroup(li);
}

/** The text (never HTML) and, once edited, "(edited)". */
function renderText(li: HTMLElement, m: Pick<Message, 'text' | 'editedAt'>) {
  const text = li.querySelector<HTMLElement>('.text')!;
  text.replaceChildren(m.text);
  if (m.editedAt) {
    li.dataset.editedAt = m.editedAt;
    const mark = document.createElement('span');
    mark.className = 'edited';
    mark.title = `edited ${new Date(m.editedAt).toLocaleString()}`;
    mark.textContent = '(edited)';
    text.append(' ', mark);
  }
}

function updateMessage(m: Message) {
  const li = messageItem(m.id);
  if (!li) return; // older than the history shown
  // an edit answered after a later one's event must not bring back the older text
  const known = li.dataset.editedAt;
  if (known && m.editedAt && Date.parse(m.editedAt) < Date.parse(known)) return;
  renderText(li, m);
}

function removeMessage(id: string) {
  shown.add(id); // deleted: never shown again
  const li = messageItem(id);
  if (!li) return;
  const next = li.nextElementSibling as HTMLElement | null;
  li.remove();
  if (next) regroup(next);
  const list = $('messages');
  if (!list.querySelector('li.message')) list.append(emptyNote());
}

/** Edit and delete, on the viewer's own messages (shown on hover and keyboard focus). */
function messageActions() {
  const actions = document.createElement('div');
  actions.className = 'actions';
  const button = (action: string, label: string, title: string) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.action = action;
    b.className = action;
    b.textContent = label;
    b.title = title;
    return b;
  };
  const idle = document.createElement('span');
  idle.className = 'idle';
  idle.append(button('edit', 'Edit', 'Edit this message'), button('delete', 'Delete', 'Delete this message'));
  const confirm = document.createElement('span');
  confirm.className = 'confirm';
  const question = document.createElement('span');
  question.textContent = 'Delete this message?';
  confirm.append(question, button('confirm-delete', 'Delete', 'Delete it for everyone'), button('cancel-delete', 'Keep', 'Keep the message'));
  actions.append(idle, confirm);
  return actions;
}

function startEdit(li: HTMLElement) {
  if (li.classList.contains('editing')) return;
  cancelEdits();
  const id = li.dataset.id!;
  const original = li.querySelector('.text')!.firstChild?.textContent ?? '';
  const form = document.createElement('form');
  form.className = 'edit-form';
  const input = document.createElement('textarea');
  input.className = 'edit-input';
  input.maxLength = 4000;
  input.rows = Math.min(6, original.split('\n').length);
  input.value = original;
  input.setAttribute('aria-label', 'Edit message');
  const save = document.createElement('button');
  save.type = 'submit';
  save.textContent = 'Save';
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'secondary';
  cancel.textContent = 'Cancel';
  const hint = document.createElement('span');
  hint.className = 'edit-hint';
  hint.textContent = 'Enter to save, Esc to cancel';
  form.append(input, save, cancel, hint);
  const close = () => {
    form.remove();
    li.classList.remove('editing');
  };
  cancel.addEventListener('click', close);
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
    else if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = input.value;
    if (text === original) return close();
    if (!text.trim()) return showChatError(new Error('A message cannot be empty: delete it instead.'));
    save.disabled = true;
    try {
      const { editMessage } = await run('mutation', editMessageMutation, { room: currentRoom, id, text });
      close();
      updateMessage(editMessage);
      $('chat-error').textContent = '';
    } catch (err) {
      showChatError(err);
    } finally {
      save.disabled = false;
    }
  });
  li.classList.add('editing');
  li.querySelector('.body')!.append(form);
  input.focus();
  input.setSelectionRange(original.length, original.length);
}

function cancelEdits() {
  for (const li of $('messages').querySelectorAll<HTMLElement>('li.editing')) {
    li.querySelector('.edit-form')?.remove();
    li.classList.remove('editing');
  }
}

async function deleteMessage(li: HTMLElement) {
  const id = li.dataset.id!;
  li.classList.remove('confirming');
  try {
    await run('mutation', deleteMessageMutation, { room: currentRoom, id });
    removeMessage(id);
    $('chat-error').textContent = '';
  } catch (err) {
    if (codeOf(err) === 'NOT_FOUND') removeMessage(id); // gone already
    else showChatError(err);
  }
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
    const code = codeOf(err);
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
  const room = currentRoom;
  try {
    // others stop showing "typing" when the message arrives: a signal arriving after it would bring it back
    await typingSent;
    await run('mutation', sendMessageMutation, { room, text });
    // the message ended the typing line on the others' pages: the next keystroke says so again
    lastTypingSignal = 0;
    $('chat-error').textContent = '';
  } catch (err) {
    input.value = text; // not sent: keep it
    showChatError(err);
  }
});

$('message-input').addEventListener('input', signalTyping);

$('messages').addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]');
  const li = button?.closest<HTMLElement>('li.message');
  if (!button || !li) return;
  switch (button.dataset.action) {
    case 'edit':
      return startEdit(li);
    case 'delete':
      li.classList.add('confirming');
      return li.querySelector<HTMLButtonElement>('button.confirm-delete')?.focus();
    case 'cancel-delete':
      return li.classList.remove('confirming');
    case 'confirm-delete':
      return void deleteMessage(li);
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
      if (codeOf(err) !== 'NOT_FOUND') throw err;
      await run('mutation', createRoomMutation, { name, private: isPrivate });
    }
    $<HTMLInputElement>('room-name').value = '';
    $<HTMLInputElement>('room-private').checked = false;
    await refreshRooms();
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

// back in view: what arrived meanwhile in the open room is read now
document.addEventListener('visibilitychange', () => {
  renderBadges();
  if (visible() && urql) background(markRead());
});

// ---------------------------------------------------------------- start

const saved = storedSession();
if (saved) showChat(connect(saved)).catch(() => showAuth());
else showAuth();
