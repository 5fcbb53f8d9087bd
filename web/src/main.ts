// The web chat page: one state object (state.ts) and modules that each render a part of it and
// talk to the server through the one typed chat client (fresh access tokens, resumed subscriptions):
//   session.ts       signing in and out, the connection state ("reconnecting", "session ended")
//   rooms.ts         the sidebar: rooms and direct conversations, unread counts, live
//   conversation.ts  the open conversation: history, older pages, live events, read mark
//   people.ts        who is online and typing; invite, remove, leave
//   moderation.ts    roles and badges, the members panel, moderators' actions
//   messages.ts      one message on screen: reply quote, mentions, edit and delete
//   reactions.ts     reactions under a message
//   composer.ts      the send box, and the message a reply answers
import type { ChatSession } from '../../client/index.js';
import { composerFocus, wireComposer } from './composer.js';
import { closeConversation, messageActions, openConversation, wireConversation } from './conversation.js';
import { $, background, codeOf, describe } from './dom.js';
import { wireMessageActions } from './messages.js';
import { wireModeration } from './moderation.js';
import { refreshOnline, wirePeople } from './people.js';
import { neighbour, open, refreshRooms, stopWatching, watchRoomList, wireSidebar } from './rooms.js';
import { connect, ROOM_KEY, showAuthView, showChatView, signInFromForm, storedSession } from './session.js';
import { state } from './state.js';

/** Signs the page in with `session`: the client, the sidebar, then the last room of this tab (or general). */
async function startSession(session: ChatSession) {
  const chat = connect(session, {
    onReconnected: () => {
      // what cannot resume (the counts, who is online) may have changed meanwhile
      background(refreshRooms());
      background(refreshOnline());
    },
    onEnded: () => endSession('Your session ended (signed out elsewhere, or it expired). Please log in again.'),
  });
  state.session = { chat, me: session.user.username, stop: () => {} };
  showChatView(session.user.username);
  state.session.stop = watchRoomList();
  await refreshRooms();
  const wanted = sessionStorage.getItem(ROOM_KEY);
  await openConversation(wanted && state.rooms.has(wanted) ? wanted : 'general');
}

/** Back to the sign-in form; `message` says why (a session that ended by itself). */
function endSession(message = '') {
  const session = state.session;
  closeConversation();
  stopWatching();
  session?.stop();
  state.session = null;
  void session?.chat.dispose();
  showAuthView(message);
}

$<HTMLFormElement>('auth-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const mode = (event.submitter as HTMLButtonElement | null)?.value === 'register' ? 'register' : 'login';
  const username = $<HTMLInputElement>('username').value.trim().toLowerCase();
  const password = $<HTMLInputElement>('password').value;
  const buttons = document.querySelectorAll<HTMLButtonElement>('#auth-form button');
  for (const b of buttons) b.disabled = true;
  $('auth-error').textContent = '';
  try {
    const session = await signInFromForm(mode, username, password);
    $<HTMLInputElement>('password').value = '';
    await startSession(session);
  } catch (err) {
    if (state.session) endSession();
    $('auth-error').textContent = describe(err);
  } finally {
    for (const b of buttons) b.disabled = false;
  }
});

$('logout').addEventListener('click', async () => {
  const session = state.session;
  if (!session) return;
  state.session = null; // the client's "session ended" callback is not for this
  sessionStorage.removeItem(ROOM_KEY);
  await session.chat.logout();
  state.session = session;
  endSession();
});

// keyboard: Alt+Up / Alt+Down move between conversations, Escape goes back to the send box
document.addEventListener('keydown', (event) => {
  if (!state.session) return;
  if (event.altKey && (event.key === 'ArrowUp' || event.key === 'ArrowDown')) {
    const room = neighbour(event.key === 'ArrowUp' ? -1 : 1);
    if (room) {
      event.preventDefault();
      open(room);
    }
  } else if (event.key === 'Escape' && !(event.target as HTMLElement).closest('.edit-form')) composerFocus();
});

wireSidebar();
wireConversation();
wireMessageActions(messageActions, () => state.conversation?.shown);
wirePeople(() => openConversation('general'));
wireModeration();
wireComposer(messageActions);

const saved = storedSession();
if (saved) {
  startSession(saved).catch((err: unknown) =>
    endSession(codeOf(err) === 'UNAUTHENTICATED' ? 'Your session ended. Please log in again.' : `Could not open the chat: ${describe(err)}`),
  );
}
else showAuthView();
