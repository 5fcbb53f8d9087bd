// The sidebar: rooms and direct conversations with their unread counts, kept live. Each one is
// watched with a light messageAdded subscription (roomActivity) that refreshes the counts when a
// message arrives where the reader is not reading; directMessageAdded brings new conversations in.
import {
  createRoomMutation,
  directMessageAddedSubscription,
  joinRoomMutation,
  mentionedSubscription,
  roomActivitySubscription,
  roomsQuery,
} from '../../client/index.js';
import { openConversation } from './conversation.js';
import { $, announce, background, codeOf, coalesced, describe, el, showChatError, visible } from './dom.js';
import { dmRoom, peerOf, state, type RoomEntry } from './state.js';

/** Rooms watched for unread badges at most (the server allows 100 subscriptions per socket). */
const WATCH_LIMIT = 80;
/** The rooms list is read again this often: invitations have no event of their own. */
const ROOMS_POLL_MS = 60_000;
/** Resume a new watcher this far back (client and server clocks may differ): nothing sent after the rooms list was read is missed. */
const CLOCK_TOLERANCE_MS = 2000;

/** Reads the rooms with their unread counts, redraws the sidebar and watches every room in it. */
export const refreshRooms = coalesced(async () => {
  const session = state.session;
  if (!session) return;
  const since = `${Date.now() - CLOCK_TOLERANCE_MS}-0`;
  const { rooms } = await session.chat.request(roomsQuery, {});
  if (state.session !== session) return;
  state.rooms.clear();
  for (const room of rooms) {
    const peer = peerOf(room.name, session.me);
    state.rooms.set(room.name, { name: room.name, private: room.private, unread: room.unreadCount, mentions: room.mentionCount, ...(peer ? { peer } : {}) });
  }
  renderRooms();
  watchRooms(since);
});

/** Unread messages the page shows for a room: none for the open one while the page is in view (it is being read). */
export const shownUnread = (room: string) => (room === state.conversation?.room && visible() ? 0 : (state.rooms.get(room)?.unread ?? 0));

/** Both lists of the sidebar, from state.rooms; buttons are kept (and so keyboard focus). */
export function renderRooms() {
  const entries = [...state.rooms.values()];
  const rooms = entries.filter((r) => !r.peer).sort((a, b) => a.name.localeCompare(b.name));
  const dms = entries.filter((r) => r.peer).sort((a, b) => a.peer!.localeCompare(b.peer!));
  $('room-list').replaceChildren(...rooms.map(roomItem));
  $('dm-list').replaceChildren(...dms.map(roomItem));
  $('dm-empty').hidden = dms.length > 0;
  // a conversation being opened that the list does not know yet still shows as current
  let total = 0;
  for (const name of state.rooms.keys()) total += shownUnread(name);
  document.title = total ? `(${total}) Chat` : 'Chat';
}

function roomItem(room: RoomEntry): HTMLLIElement {
  let button = document.querySelector<HTMLButtonElement>(`.sidebar button.room[data-room="${CSS.escape(room.name)}"]`);
  if (!button) {
    button = el('button', 'room', el('span', 'room-name', room.peer ? `@ ${room.peer}` : `# ${room.name}`));
    button.type = 'button';
    button.dataset.room = room.name;
    if (room.private && !room.peer) button.append(el('span', 'badge', 'private'));
  }
  const current = room.name === state.conversation?.room;
  if (current) button.setAttribute('aria-current', 'true');
  else button.removeAttribute('aria-current');
  const count = shownUnread(room.name);
  button.classList.toggle('has-unread', count > 0);
  // mentions of the viewer among the unread: "@N" before the count
  const mentions = count ? (room.mentions ?? 0) : 0;
  let at = button.querySelector<HTMLElement>('.mentions');
  if (!mentions) {
    at?.remove();
    at = null;
  } else {
    at ??= button.appendChild(el('span', 'mentions'));
    at.textContent = `@${mentions > 99 ? '99+' : mentions}`;
    at.setAttribute('aria-label', `${mentions} mentioning you`);
  }
  let badge = button.querySelector<HTMLElement>('.unread');
  if (!count) badge?.remove();
  else {
    badge ??= button.appendChild(el('span', 'unread'));
    if (at && badge.previousElementSibling !== at) button.insertBefore(at, badge);
    badge.textContent = count > 99 ? '99+' : String(count);
    badge.setAttribute('aria-label', `${count} unread`);
  }
  return el('li', '', button);
}

/**
 * Watches each room for new messages (resumed after reconnects like the others) and refreshes the
 * counts when one arrives in a room not being read. New watchers start from `since` (just before
 * the rooms list was read): no message falls between.
 */
function watchRooms(since: string) {
  const session = state.session!;
  const wanted = new Set([...state.rooms.keys()].slice(0, WATCH_LIMIT));
  for (const [name, stop] of state.watchers) {
    if (wanted.has(name)) continue;
    stop();
    state.watchers.delete(name);
  }
  for (const name of wanted) {
    if (state.watchers.has(name)) continue;
    const stop = session.chat.subscribe(
      roomActivitySubscription,
      { room: name, after: since },
      {
        next: () => {
          if (name === state.conversation?.room && visible()) return; // the open room is marked read as it is shown
          background(refreshRooms());
        },
        // a room that became inaccessible (left, removed) drops out of the list at the refresh;
        // anything else is logged (a watcher started again at once could fail again at once)
        error: (err) => {
          state.watchers.delete(name);
          if (codeOf(err) === 'FORBIDDEN' || codeOf(err) === 'NOT_FOUND') background(refreshRooms());
          else console.warn(`unread counts of ${name}:`, describe(err));
        },
      },
    );
    state.watchers.set(name, stop);
  }
}

export function stopWatching() {
  for (const stop of state.watchers.values()) stop();
  state.watchers.clear();
  state.rooms.clear();
  state.readUpTo.clear();
  $('room-list').replaceChildren();
  $('dm-list').replaceChildren();
  document.title = 'Chat';
}

/**
 * Keeps the sidebar current where no subscription tells: direct messages to the viewer bring a new
 * conversation in at once; an invitation to a private room shows at the next read of the list
 * (every ROOMS_POLL_MS, and when the window gets focus). Returns the function that stops it.
 */
export function watchRoomList(): () => void {
  const session = state.session!;
  const poll = setInterval(() => background(refreshRooms()), ROOMS_POLL_MS);
  const onFocus = () => background(refreshRooms());
  window.addEventListener('focus', onFocus);
  const direct = session.chat.subscribe(directMessageAddedSubscription, {}, {
    next: ({ directMessageAdded: m }) => {
      if (state.session !== session) return;
      if (!state.rooms.has(m.room)) {
        announce(`New direct message from ${m.author.username}`);
        background(refreshRooms());
      }
    },
    error: (err) => console.warn('direct messages:', err),
  });
  // a mention in a room not being read: said out loud, and counted in the sidebar
  const mentions = session.chat.subscribe(mentionedSubscription, {}, {
    next: ({ mentioned: m }) => {
      if (state.session !== session || (m.room === state.conversation?.room && visible())) return;
      announce(`${m.author.username} mentioned you in ${m.room.startsWith('dm:') ? 'a direct message' : `#${m.room}`}`);
      background(refreshRooms());
    },
    error: (err) => console.warn('mentions:', err),
  });
  return () => {
    clearInterval(poll);
    window.removeEventListener('focus', onFocus);
    direct();
    mentions();
  };
}

/** Opens a conversation and says what went wrong in the conversation's error line. */
export function open(room: string) {
  openConversation(room).catch(showChatError);
}

export function wireSidebar() {
  $('chat-view').addEventListener('click', (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('.sidebar button.room');
    if (button?.dataset.room) open(button.dataset.room);
  });

  $<HTMLFormElement>('room-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const session = state.session;
    if (!session) return;
    const input = $<HTMLInputElement>('room-name');
    const name = input.value.trim().toLowerCase();
    const isPrivate = $<HTMLInputElement>('room-private').checked;
    try {
      try {
        await session.chat.request(joinRoomMutation, { name });
      } catch (err) {
        if (codeOf(err) !== 'NOT_FOUND') throw err;
        await session.chat.request(createRoomMutation, { name, private: isPrivate });
      }
      input.value = '';
      $<HTMLInputElement>('room-private').checked = false;
      await refreshRooms();
      await openConversation(name);
    } catch (err) {
      showChatError(err);
    }
  });

  $<HTMLFormElement>('dm-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const session = state.session;
    if (!session) return;
    const input = $<HTMLInputElement>('dm-user');
    const username = input.value.trim().toLowerCase();
    if (username === session.me) return showChatError(new Error('That is you: pick someone else to write to.'));
    try {
      // the server makes the conversation on first use, and says NOT_FOUND for an unknown name
      await openConversation(dmRoom(session.me, username));
      input.value = '';
      background(refreshRooms());
    } catch (err) {
      showChatError(codeOf(err) === 'NOT_FOUND' ? new Error(`There is no user named "${username}".`) : err);
    }
  });
}

/** The conversation above or below the open one in the sidebar (Alt+Up, Alt+Down). */
export function neighbour(step: 1 | -1): string | undefined {
  const buttons = [...document.querySelectorAll<HTMLButtonElement>('.sidebar button.room')];
  const at = buttons.findIndex((b) => b.dataset.room === state.conversation?.room);
  return buttons[(at + step + buttons.length) % buttons.length]?.dataset.room;
}
