// The send box: Enter sends (Shift+Enter for a new line), Up in an empty box edits the last own
// message, typing tells the others; "Replying to ..." above it when the message answers another. Every send carries a new clientId and is retried with it after
// SERVICE_UNAVAILABLE or a dropped connection (the typed client's request()), so a retry never
// shows a message twice.
import { sendDirectMessageMutation, sendMessageMutation, startTypingMutation } from '../../client/index.js';
import { scrollToEnd } from './conversation.js';
import { $, clearChatError, codeOf, el, showChatError } from './dom.js';
import { editLastOwn, type MessageActions } from './messages.js';
import { state } from './state.js';

/** Typing signals sent at most this often while the user types. */
const TYPING_EVERY_MS = 3000;

const input = () => $<HTMLTextAreaElement>('message-input');

/** The box grows with its text, up to the height its style allows, then scrolls. */
function fitHeight() {
  const box = input();
  box.style.height = 'auto';
  box.style.height = `${box.scrollHeight + 2}px`;
}

/** Tells the conversation that the user is typing, at most every TYPING_EVERY_MS. */
function signalTyping() {
  const conversation = state.conversation;
  const session = state.session;
  if (!conversation || !session || !input().value.trim()) return;
  const now = Date.now();
  if (now - conversation.lastTypingSignal < TYPING_EVERY_MS) return;
  conversation.lastTypingSignal = now;
  conversation.typingSent = session.chat.request(startTypingMutation, { room: conversation.room }).catch((err) => {
    if (codeOf(err) !== 'RATE_LIMITED' && state.conversation === conversation) showChatError(err);
  });
}

/** The next message answers `message`: shown above the send box until sent or cancelled (Escape). */
export function startReply(message: { id: string; author: string; firstLine: string }) {
  const conversation = state.conversation;
  if (!conversation) return;
  conversation.replyTo = message;
  renderReply();
  input().focus();
}

export function cancelReply() {
  if (state.conversation) state.conversation.replyTo = null;
  renderReply();
}

function renderReply() {
  const bar = $('reply-bar');
  const reply = state.conversation?.replyTo;
  bar.hidden = !reply;
  if (!reply) return bar.replaceChildren();
  const cancel = el('button', 'link', 'Cancel');
  cancel.type = 'button';
  cancel.addEventListener('click', () => {
    cancelReply();
    input().focus();
  });
  bar.replaceChildren(el('span', '', 'Replying to ', el('strong', '', reply.author), ': ', el('span', 'reply-text', reply.firstLine)), cancel);
}

async function send() {
  const conversation = state.conversation;
  const session = state.session;
  const box = input();
  const text = box.value;
  if (!conversation || !session || !text.trim()) return;
  box.value = '';
  fitHeight();
  const button = $<HTMLButtonElement>('send');
  button.setAttribute('aria-busy', 'true');
  try {
    // others stop showing "typing" when the message arrives: a signal arriving after it would bring it back
    await conversation.typingSent;
    // one clientId for this message, kept across the client's retries
    const replyTo = conversation.replyTo?.id ?? null;
    if (conversation.peer) await session.chat.request(sendDirectMessageMutation, { to: conversation.peer, text, replyTo });
    else await session.chat.request(sendMessageMutation, { room: conversation.room, text, replyTo });
    if (state.conversation === conversation && conversation.replyTo?.id === replyTo) cancelReply();
    // the message ended the typing line on the others' pages: the next keystroke says so again
    conversation.lastTypingSignal = 0;
    clearChatError();
    if (state.conversation === conversation) scrollToEnd();
  } catch (err) {
    // not sent: give the text back, unless something new was typed meanwhile
    if (!box.value) {
      box.value = text;
      fitHeight();
    }
    showChatError(err);
  } finally {
    button.removeAttribute('aria-busy');
  }
}

export function wireComposer(actions: MessageActions) {
  const box = input();
  $<HTMLFormElement>('send-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void send();
  });
  box.addEventListener('input', () => {
    fitHeight();
    signalTyping();
  });
  box.addEventListener('keydown', (event) => {
    if (event.isComposing) return; // an input method is composing a character
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      $<HTMLFormElement>('send-form').requestSubmit();
    } else if (event.key === 'ArrowUp' && !box.value && editLastOwn(actions)) {
      event.preventDefault();
    } else if (event.key === 'Escape' && state.conversation?.replyTo) {
      cancelReply();
    }
  });
}

export function composerFocus() {
  input().focus();
}
