// Who is in the open conversation: the header (title, who is online, the members panel of a
// private room: invite, remove, leave) and the typing line.
import {
  inviteToRoomMutation,
  leaveRoomMutation,
  onlineMembersQuery,
  presenceChangedSubscription,
  removeFromRoomMutation,
  typingSubscription,
  type TypingSubscription,
} from '../../client/index.js';
import { $, background, coalesced, el, showChatError, showChatNote } from './dom.js';
import { refreshMembers } from './moderation.js';
import { refreshRooms } from './rooms.js';
import { state, type Conversation } from './state.js';

type TypingEvent = TypingSubscription['typing'];

/** Title, online line and the room's buttons; the members panel only for private rooms (not direct conversations). */
export function renderRoomHeader(conversation: Conversation, isPrivate: boolean) {
  $('room-title').textContent = conversation.peer ? `@ ${conversation.peer}` : `# ${conversation.room}`;
  $<HTMLTextAreaElement>('message-input').placeholder = conversation.peer ? `Message ${conversation.peer}` : `Message #${conversation.room}`;
  // until the viewer's role is known (moderation.ts renderRoomTools): the members of private rooms
  const members = isPrivate && !conversation.peer;
  $('room-actions').hidden = !members;
  $('leave-room').hidden = !members;
  $('my-role').hidden = true;
  $('members').hidden = true;
  $('members-toggle').setAttribute('aria-expanded', 'false');
  $('leave-confirm').hidden = true;
  $('online').replaceChildren();
}

/** Typing and presence of the conversation; returns the function that ends both. */
export function watchPeople(conversation: Conversation): () => void {
  const { chat } = state.session!;
  const room = conversation.room;
  const typing = chat.subscribe(typingSubscription, { room }, {
    next: ({ typing: event }) => {
      if (state.conversation === conversation) showTyping(conversation, event);
    },
  });
  const presence = chat.subscribe(presenceChangedSubscription, { room }, {
    next: () => {
      if (state.conversation === conversation) background(refreshOnline());
    },
  });
  background(refreshOnline());
  return () => {
    typing();
    presence();
  };
}

export function clearPeople(conversation: Conversation) {
  for (const timer of conversation.typers.values()) clearTimeout(timer);
  conversation.typers.clear();
  renderTyping(conversation);
  $('online').replaceChildren();
}

/** Who is in the conversation now (onlineMembers), read again at every presence change and reconnect. */
export const refreshOnline = coalesced(async () => {
  const conversation = state.conversation;
  const session = state.session;
  if (!conversation || !session) return;
  const { onlineMembers } = await session.chat.request(onlineMembersQuery, { room: conversation.room });
  if (state.conversation === conversation) renderOnline(onlineMembers.map((u) => u.username), session.me);
});

function renderOnline(usernames: string[], me: string) {
  // the viewer is here whether or not the server has seen the subscription yet
  const names = [...new Set([...usernames, me])].sort((a, b) => (a === me ? 1 : b === me ? -1 : a.localeCompare(b)));
  const dot = el('span', 'dot');
  dot.setAttribute('aria-hidden', 'true');
  const people = names.flatMap((name, i) => {
    const span = el('span', name === me ? 'person you' : 'person', name === me ? `${name} (you)` : name);
    return i < names.length - 1 ? [span, ', '] : [span];
  });
  $('online').replaceChildren(dot, el('span', 'label', `${names.length} online:`), ' ', ...people);
}

function showTyping(conversation: Conversation, event: TypingEvent) {
  const who = event.user.username;
  clearTimeout(conversation.typers.get(who));
  // until expiresAt by the server's clock; bounded, so a skewed clock neither hides it at once nor keeps it
  const ms = Math.min(Math.max(Date.parse(event.expiresAt) - Date.now(), 1000), 6000);
  conversation.typers.set(
    who,
    setTimeout(() => stopTyping(conversation, who), ms),
  );
  renderTyping(conversation);
}

export function stopTyping(conversation: Conversation, who: string) {
  if (!conversation.typers.has(who)) return;
  clearTimeout(conversation.typers.get(who));
  conversation.typers.delete(who);
  renderTyping(conversation);
}

function renderTyping(conversation: Conversation) {
  const names = [...conversation.typers.keys()];
  const line = $('typing');
  if (!names.length) return line.replaceChildren();
  const text =
    names.length === 1
      ? `${names[0]} is typing…`
      : names.length === 2
        ? `${names[0]} and ${names[1]} are typing…`
        : `${names[0]}, ${names[1]} and ${names.length - 2} more are typing…`;
  const dots = el('span', 'dots', el('i'), el('i'), el('i'));
  dots.setAttribute('aria-hidden', 'true');
  line.replaceChildren(dots, el('span', '', text));
}

/** Runs a members action on the open room; its note on success, the server's message otherwise. */
async function membersAction(run: (room: string) => Promise<string>) {
  const conversation = state.conversation;
  if (!conversation) return;
  try {
    showChatNote(await run(conversation.room));
  } catch (err) {
    showChatError(err);
  }
}

export function wirePeople(onLeft: () => Promise<void>) {
  $('members-toggle').addEventListener('click', () => {
    const panel = $('members');
    panel.hidden = !panel.hidden;
    $('members-toggle').setAttribute('aria-expanded', String(!panel.hidden));
    if (panel.hidden) return;
    background(refreshMembers());
    (panel.querySelector<HTMLInputElement>('.member-tools:not([hidden]) input') ?? $('members-toggle')).focus();
  });
  $<HTMLFormElement>('invite-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $<HTMLInputElement>('invite-user');
    const username = input.value.trim().toLowerCase();
    void membersAction(async (room) => {
      await state.session!.chat.request(inviteToRoomMutation, { room, username });
      input.value = '';
      background(refreshMembers());
      return `${username} can now read and write in #${room}.`;
    });
  });
  $<HTMLFormElement>('remove-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $<HTMLInputElement>('remove-user');
    const username = input.value.trim().toLowerCase();
    void membersAction(async (room) => {
      await state.session!.chat.request(removeFromRoomMutation, { room, username });
      input.value = '';
      background(refreshOnline());
      background(refreshMembers());
      return `${username} was removed from #${room}.`;
    });
  });
  $('leave-room').addEventListener('click', () => {
    $('leave-confirm').hidden = false;
    $('leave-yes').focus();
  });
  $('leave-no').addEventListener('click', () => {
    $('leave-confirm').hidden = true;
    $('leave-room').focus();
  });
  $('leave-yes').addEventListener('click', () => {
    $('leave-confirm').hidden = true;
    const conversation = state.conversation;
    void membersAction(async (room) => {
      if (conversation) conversation.leaving = true;
      try {
        await state.session!.chat.request(leaveRoomMutation, { name: room });
      } catch (err) {
        if (conversation) conversation.leaving = false;
        throw err;
      }
      await refreshRooms();
      await onLeft();
      return `You left #${room}.`;
    });
  });
}
