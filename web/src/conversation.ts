// The open conversation: its history (older pages loaded when the reader scrolls up), its live
// events (roomEvents: added, edited, deleted; resumed after reconnects), the read mark, and a list
// that stays at the newest message unless the reader scrolled up.
import {
  addReactionMutation,
  compareMessageIds,
  conversationHistoryQuery,
  deleteMessageMutation,
  editMessageMutation,
  markReadMutation,
  removeReactionMutation,
  roomEventsSubscription,
  type RoomEventsSubscription,
} from '../../client/index.js';
import { cancelReply, startReply } from './composer.js';
import { $, announce, background, clearChatError, codeOf, coalesced, el, showChatError, visible } from './dom.js';
import { addMessages, addNotice, cancelEdits, emptyNote, removeMessage, updateMessage, updateReactions, type MessageActions } from './messages.js';
import { loadRoomInfo, moderationNotice, onModerationEvent } from './moderation.js';
import { clearPeople, renderRoomHeader, stopTyping, watchPeople } from './people.js';
import { refreshRooms, renderRooms } from './rooms.js';
import { ROOM_KEY } from './session.js';
import { peerOf, state, type Conversation } from './state.js';

/** Messages per history page (conversationHistoryQuery's fixed page: within the result-size budget with reactions and mentions). */
const PAGE = 30;
/** Within this many pixels of the bottom, the list follows new messages. */
const STICKY_PX = 80;
/** Within this many pixels of the top, the next older page is loaded. */
const OLDER_PX = 200;

type RoomEvent = RoomEventsSubscription['roomEvents'];
const list = () => $<HTMLOListElement>('messages');

/**
 * Shows `room`: its newest page of history, then its live events from the last message of that
 * page (no gap, nothing twice). The history is read before the open conversation is left, so a
 * room that cannot be opened (unknown user, no access) leaves the page as it was, and throws.
 */
export async function openConversation(room: string) {
  const session = state.session;
  if (!session) return;
  const turn = ++state.turns;
  const { recentMessages } = await session.chat.request(conversationHistoryQuery, { room });
  if (turn !== state.turns || state.session !== session) return;

  closeConversation();
  const peer = peerOf(room, session.me);
  const conversation: Conversation = {
    room,
    ...(peer ? { peer } : {}),
    turn,
    shown: new Set(),
    oldestId: recentMessages[0]?.id,
    hasOlder: recentMessages.length === PAGE,
    loadingOlder: false,
    newestId: recentMessages.at(-1)?.id,
    atEnd: true,
    unseenBelow: 0,
    typers: new Map(),
    lastTypingSignal: 0,
    typingSent: Promise.resolve(),
    role: null,
    roles: new Map(),
    replyTo: null,
    stop: () => {},
  };
  state.conversation = conversation;
  sessionStorage.setItem(ROOM_KEY, room);
  clearChatError();
  $('chat-note').textContent = '';
  renderRoomHeader(conversation, state.rooms.get(room)?.private ?? Boolean(peer));
  renderRooms();

  list().replaceChildren(historyStart(conversation));
  if (recentMessages.length) addMessages(recentMessages, conversation.shown);
  else list().append(emptyNote());
  scrollToEnd();
  renderJump(conversation);

  const events = session.chat.subscribe(roomEventsSubscription, { room, after: conversation.newestId ?? '0-0' }, {
    next: ({ roomEvents }) => {
      if (state.conversation === conversation) applyEvent(conversation, roomEvents);
    },
    error: (err) => {
      if (state.conversation === conversation) lostAccess(conversation, err);
    },
  });
  const people = watchPeople(conversation);
  conversation.stop = () => {
    events();
    people();
  };
  background(markRead());
  background(loadRoomInfo(conversation));
  cancelReply();
  $<HTMLTextAreaElement>('message-input').focus();
  // a short first page does not fill the list, so no scrolling would ask for more
  if (conversation.hasOlder && list().scrollHeight <= list().clientHeight) background(loadOlder());
}

export function closeConversation() {
  const conversation = state.conversation;
  if (!conversation) return;
  conversation.stop();
  cancelEdits();
  clearPeople(conversation);
  state.conversation = null;
}

/** The subscription ended with an error: access is gone (left, removed, banned) or something broke. */
function lostAccess(conversation: Conversation, err: unknown) {
  if (codeOf(err) !== 'FORBIDDEN' && codeOf(err) !== 'NOT_FOUND') return showChatError(err);
  // the viewer's own leave ends its subscriptions too, racing the leave's answer: that says what happened
  if (conversation.leaving) return;
  const why = conversation.bannedBy ? `You were banned from #${conversation.room} by ${conversation.bannedBy}.` : `You no longer have access to #${conversation.room}.`;
  background(
    refreshRooms().then(() => openConversation(state.rooms.has('general') ? 'general' : ([...state.rooms.keys()][0] ?? 'general'))).then(() => {
      showChatError(new Error(why));
    }),
  );
}

function applyEvent(conversation: Conversation, event: RoomEvent) {
  conversation.newestId = event.id;
  if (event.type === 'DELETED') return removeMessage(event.messageId, conversation.shown, event.byModerator);
  if (event.type === 'REACTION_ADDED' || event.type === 'REACTION_REMOVED') return updateReactions(event.messageId, event.message?.reactions ?? []);
  if (event.target) {
    // a moderator's action on a user: a line in the list, and the roles or panel it changes
    const notice = moderationNotice(event, state.session?.me ?? '');
    if (notice) addNotice(notice);
    if (event.type === 'BANNED' && event.target.username === state.session?.me) conversation.bannedBy = event.actor.username;
    if (conversation.atEnd) scrollToEnd();
    return onModerationEvent(conversation, event);
  }
  const m = event.message;
  if (!m) return;
  if (event.type === 'EDITED') return updateMessage(m);
  if (!addMessages([m], conversation.shown)) return;
  if (conversation.atEnd || m.mine) scrollToEnd();
  else conversation.unseenBelow++;
  renderJump(conversation);
  if (!m.mine) announce(`${m.author.username}: ${m.text.length > 200 ? `${m.text.slice(0, 200)}…` : m.text}`);
  stopTyping(conversation, m.author.username); // whoever sent it has stopped typing
  if (visible() && conversation.atEnd) background(markRead());
  else background(refreshRooms()); // the tab's title counts it
}

/** The top of the list: a button for older messages, or where the conversation begins. */
function historyStart(conversation: Conversation): HTMLLIElement {
  const li = el('li', 'history-start');
  if (conversation.loadingOlder) li.append('Loading older messages…');
  else if (conversation.hasOlder) {
    const button = el('button', 'secondary', 'Load older messages');
    button.type = 'button';
    button.id = 'load-older';
    button.addEventListener('click', () => background(loadOlder()));
    li.append(button);
  } else li.append(conversation.peer ? `This is the beginning of your conversation with ${conversation.peer}.` : `This is the beginning of #${conversation.room}.`);
  return li;
}

/** The next older page of history, above what is shown, keeping what the reader looks at in place. */
export async function loadOlder() {
  const conversation = state.conversation;
  const session = state.session;
  if (!conversation || !session || !conversation.hasOlder || conversation.loadingOlder || !conversation.oldestId) return;
  conversation.loadingOlder = true;
  list().querySelector('.history-start')!.replaceWith(historyStart(conversation));
  try {
    const { recentMessages } = await session.chat.request(conversationHistoryQuery, { room: conversation.room, before: conversation.oldestId });
    if (state.conversation !== conversation) return;
    conversation.hasOlder = recentMessages.length === PAGE;
    if (recentMessages[0]) conversation.oldestId = recentMessages[0].id;
    const fromBottom = list().scrollHeight - list().scrollTop;
    addMessages(recentMessages, conversation.shown, 'start');
    list().scrollTop = list().scrollHeight - fromBottom;
  } finally {
    conversation.loadingOlder = false;
    if (state.conversation === conversation) list().querySelector('.history-start')!.replaceWith(historyStart(conversation));
  }
  if (conversation.hasOlder && list().scrollTop < OLDER_PX) background(loadOlder());
}

export const nearEnd = () => list().scrollHeight - list().scrollTop - list().clientHeight < STICKY_PX;

export function scrollToEnd() {
  list().scrollTop = list().scrollHeight;
}

/** "N new messages" over the bottom of the list while the reader is scrolled up. */
function renderJump(conversation: Conversation) {
  const jump = $<HTMLButtonElement>('jump');
  jump.hidden = conversation.unseenBelow === 0;
  jump.textContent = conversation.unseenBelow === 1 ? '1 new message ↓' : `${conversation.unseenBelow} new messages ↓`;
}

/** Moves the read mark of the open conversation to the newest event shown, while the page is in view. */
export const markRead = coalesced(async () => {
  const conversation = state.conversation;
  const session = state.session;
  const id = conversation?.newestId;
  if (!session || !conversation || !id || !visible()) return;
  const done = state.readUpTo.get(conversation.room);
  if (done && compareMessageIds(done, id) >= 0) return;
  const { markRead: marked } = await session.chat.request(markReadMutation, { room: conversation.room, id });
  state.readUpTo.set(conversation.room, id);
  const entry = state.rooms.get(marked.name);
  if (entry) entry.unread = marked.unreadCount;
  // a list read before this mark moved would show the old count: read it again
  if (refreshRooms.busy()) background(refreshRooms());
  renderRooms();
});

/** Edit, delete and react go to the open conversation's room; a reply starts in the send box. */
export const messageActions: MessageActions = {
  async edit(id, text) {
    const { chat } = state.session!;
    return (await chat.request(editMessageMutation, { room: state.conversation!.room, id, text })).editMessage;
  },
  remove: (id) => state.session!.chat.request(deleteMessageMutation, { room: state.conversation!.room, id }),
  async react(messageId, emoji, add) {
    const { chat } = state.session!;
    const room = state.conversation!.room;
    if (add) return (await chat.request(addReactionMutation, { room, messageId, emoji })).addReaction;
    return (await chat.request(removeReactionMutation, { room, messageId, emoji })).removeReaction;
  },
  reply: (message) => startReply(message),
};

export function wireConversation() {
  list().addEventListener('scroll', () => {
    const conversation = state.conversation;
    if (!conversation) return;
    conversation.atEnd = nearEnd();
    if (list().scrollTop < OLDER_PX && conversation.hasOlder) background(loadOlder());
    if (conversation.atEnd && conversation.unseenBelow) {
      conversation.unseenBelow = 0;
      renderJump(conversation);
      background(markRead());
    }
  });
  // the list got shorter (the online line wrapped, the send box grew, the window shrank): a reader
  // at the newest message stays there
  new ResizeObserver(() => {
    if (state.conversation?.atEnd) scrollToEnd();
  }).observe(list());
  $('jump').addEventListener('click', () => {
    scrollToEnd();
    $('message-input').focus();
  });
  // back in view: what arrived meanwhile in the open conversation is read now
  document.addEventListener('visibilitychange', () => {
    renderRooms();
    if (visible() && state.conversation?.atEnd) background(markRead());
  });
}
