// Message rendering: one list item per message (text only, never HTML), grouped by author, with
// its role badge, the message it answers, mentions highlighted, reactions under it, and its
// actions: reply and react for everyone, edit and delete on one's own, delete for moderators.
import type { ConversationMessageFragment } from '../../client/index.js';
import { codeOf, el, hue, showChatError, clearChatError, $ } from './dom.js';
import { reactionsElement, wireReactions } from './reactions.js';
import { MODERATING, state } from './state.js';

/** What the page shows of a message (history, live events and mutation results all have it). */
export type Message = Pick<ConversationMessageFragment, 'id' | 'text' | 'createdAt' | 'editedAt' | 'mine' | 'author'> &
  Partial<Pick<ConversationMessageFragment, 'replyTo' | 'mentions' | 'reactions'>>;

/** What the message list needs from the conversation to act on messages. */
export interface MessageActions {
  edit(id: string, text: string): Promise<Message>;
  remove(id: string): Promise<unknown>;
  react(id: string, emoji: string, add: boolean): Promise<Message>;
  reply(message: { id: string; author: string; firstLine: string }): void;
}

const list = () => $<HTMLOListElement>('messages');
export const messageItem = (id: string) => list().querySelector<HTMLLIElement>(`li.message[data-id="${CSS.escape(id)}"]`);
export const messageItems = () => list().querySelectorAll<HTMLLIElement>('li.message');
const ROLE_LABEL = { OWNER: 'owner', ADMIN: 'admin', MODERATOR: 'mod', MEMBER: '' } as const;

/** Consecutive messages of one author within 5 minutes share a header. */
function regroup(li: HTMLElement | null) {
  if (!li?.classList.contains('message')) return;
  const previous = li.previousElementSibling as HTMLElement | null;
  const continued = previous?.dataset.author === li.dataset.author && Number(li.dataset.at) - Number(previous?.dataset.at) < 5 * 60_000;
  li.classList.toggle('continued', continued);
}

function messageElement(m: Message): HTMLLIElement {
  const li = el('li', `message${m.mine ? ' mine' : ''}`);
  li.dataset.id = m.id;
  li.dataset.author = m.author.username;
  li.dataset.at = String(Date.parse(m.createdAt));

  const avatar = el('span', 'avatar', m.author.username.slice(0, 1).toUpperCase());
  avatar.style.setProperty('--hue', String(hue(m.author.username)));
  avatar.setAttribute('aria-hidden', 'true');
  const when = el('time', '', new Date(m.createdAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
  when.dateTime = m.createdAt;
  when.title = new Date(m.createdAt).toLocaleString();
  const meta = el('div', 'meta', el('span', 'author', m.author.username), el('span', 'role-badge'), when);
  const body = el('div', 'body', meta, el('p', 'text'));
  if (m.replyTo) body.insertBefore(quoteElement(m.replyTo), body.lastChild);
  body.append(reactionsElement(m.reactions ?? []));
  li.append(avatar, body, actionsElement(m));
  renderText(li, m);
  renderBadge(li);
  return li;
}

/** The message a reply answers, or its tombstone. */
function quoteElement(q: NonNullable<Message['replyTo']>) {
  const quote = el('blockquote', 'quote');
  quote.dataset.quote = q.id;
  if (q.deleted || !q.author) {
    quote.classList.add('gone');
    quote.append('Original message deleted');
  } else quote.append(el('span', 'quote-author', q.author.username), ' ', el('span', 'quote-text', q.firstLine ?? ''));
  return quote;
}

/** The text (never HTML) with the mentions it carries highlighted (the viewer's own more so) and, once edited, "(edited)". */
function renderText(li: HTMLElement, m: Pick<Message, 'text' | 'editedAt' | 'mentions'>) {
  const text = li.querySelector<HTMLElement>('.text')!;
  const names = new Set((m.mentions ?? []).map((u) => u.username));
  const me = state.session?.me;
  const parts: (string | Node)[] = [];
  let at = 0;
  for (const match of m.text.matchAll(/@([A-Za-z0-9_]{3,32})/g)) {
    const name = match[1]!.toLowerCase();
    if (!names.has(name)) continue;
    parts.push(m.text.slice(at, match.index), el('span', name === me ? 'mention me' : 'mention', match[0]));
    at = match.index! + match[0].length;
  }
  parts.push(m.text.slice(at));
  text.replaceChildren(...parts);
  li.classList.toggle('mentions-me', me !== undefined && names.has(me) && !li.classList.contains('mine'));
  if (m.editedAt) {
    li.dataset.editedAt = m.editedAt;
    const mark = el('span', 'edited', '(edited)');
    mark.title = `edited ${new Date(m.editedAt).toLocaleString()}`;
    text.append(' ', mark);
  }
}

/** The author's role badge (owner, admin, mod), from the conversation's roles. */
function renderBadge(li: HTMLElement) {
  const role = state.conversation?.roles.get(li.dataset.author ?? '');
  const badge = li.querySelector<HTMLElement>('.role-badge');
  if (!badge) return;
  badge.textContent = role ? ROLE_LABEL[role] : '';
  badge.dataset.role = role ?? '';
}

/** The roles changed (a moderator named, ownership handed over): every badge and action again. */
export function refreshRoles() {
  for (const li of messageItems()) {
    renderBadge(li);
    li.querySelector('.actions')?.replaceWith(actionsElement({ mine: li.classList.contains('mine') }));
  }
}

/** Adds messages at the end (live) or, `older`, before the first one (history); false when all were shown already. */
export function addMessages(messages: readonly Message[], shown: Set<string>, where: 'end' | 'start' = 'end'): boolean {
  const fresh = messages.filter((m) => !shown.has(m.id));
  if (!fresh.length) return false;
  for (const m of fresh) shown.add(m.id);
  list().querySelector('.empty')?.remove();
  const items = fresh.map(messageElement);
  if (where === 'end') list().append(...items);
  else {
    const first = list().querySelector('li.message, li.notice-line');
    for (const li of items) list().insertBefore(li, first ?? null);
    regroup(first as HTMLElement | null);
  }
  for (const li of items) regroup(li);
  return true;
}

export function updateMessage(m: Message) {
  const li = messageItem(m.id);
  if (!li) return; // older than the history shown
  // an edit answered after a later one's event must not bring back the older text
  const known = li.dataset.editedAt;
  if (known && m.editedAt && Date.parse(m.editedAt) < Date.parse(known)) return;
  renderText(li, m);
  if (m.reactions) updateReactions(m.id, m.reactions);
}

/** Shows a message's reactions as they now are. */
export function updateReactions(id: string, reactions: NonNullable<Message['reactions']>) {
  messageItem(id)?.querySelector('.reactions')?.replaceWith(reactionsElement(reactions));
}

/** A deleted message leaves the list; one a moderator removed leaves a line saying so. Replies to it show a tombstone. */
export function removeMessage(id: string, shown: Set<string>, byModerator = false) {
  shown.add(id); // deleted: never shown again
  for (const quote of list().querySelectorAll<HTMLElement>(`.quote[data-quote="${CSS.escape(id)}"]`)) {
    quote.classList.add('gone');
    quote.replaceChildren('Original message deleted');
  }
  const li = messageItem(id);
  if (!li) return;
  if (byModerator) {
    li.className = 'message removed';
    li.replaceChildren(el('span', 'avatar removed-mark', '×'), el('p', 'text', 'Message removed by a moderator'));
    return;
  }
  const next = li.nextElementSibling as HTMLElement | null;
  li.remove();
  regroup(next);
  if (!messageItems().length) list().append(emptyNote());
}

/** A line in the list for what a moderator did ("mod muted bob until 14:05"). */
export function addNotice(text: string) {
  list().querySelector('.empty')?.remove();
  list().append(el('li', 'notice-line', text));
}

export function emptyNote() {
  return el('li', 'empty', 'No messages yet. Say hello!');
}

/** Reply for everyone; edit and delete on one's own messages; delete on others' for moderators (shown on hover and keyboard focus). */
function actionsElement(m: Pick<Message, 'mine'>) {
  const button = (action: string, label: string, title: string) => {
    const b = el('button', action, label);
    b.type = 'button';
    b.dataset.action = action;
    b.title = title;
    return b;
  };
  const role = state.conversation?.role ?? null;
  const moderator = role !== null && MODERATING.includes(role) && !state.conversation?.peer;
  const idle = el('span', 'idle', button('reply', 'Reply', 'Reply to this message'), button('pick-reaction', '☺+', 'Add a reaction'));
  if (m.mine) idle.append(button('edit', 'Edit', 'Edit this message'), button('delete', 'Delete', 'Delete this message'));
  else if (moderator) idle.append(button('delete', 'Remove', 'Remove this message (as a moderator)'));
  const confirm = el(
    'span',
    'confirm',
    el('span', '', m.mine ? 'Delete this message?' : 'Remove this message for everyone?'),
    button('confirm-delete', m.mine ? 'Delete' : 'Remove', 'Delete it for everyone'),
    button('cancel-delete', 'Keep', 'Keep the message'),
  );
  return el('div', 'actions', idle, confirm);
}

function startEdit(li: HTMLElement, actions: MessageActions) {
  if (li.classList.contains('editing')) return;
  cancelEdits();
  const id = li.dataset.id!;
  const original = textOf(li);
  const input = el('textarea', 'edit-input');
  input.maxLength = 4000;
  input.rows = Math.min(6, original.split('\n').length);
  input.value = original;
  input.setAttribute('aria-label', 'Edit message');
  const save = el('button', '', 'Save');
  save.type = 'submit';
  const cancel = el('button', 'secondary', 'Cancel');
  cancel.type = 'button';
  const form = el('form', 'edit-form', input, save, cancel, el('span', 'edit-hint', 'Enter to save, Esc to cancel'));
  const close = () => {
    form.remove();
    li.classList.remove('editing');
    $('message-input').focus();
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
      updateMessage(await actions.edit(id, text));
      close();
      clearChatError();
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

/** A message's text as written (mentions are spans of their own; "(edited)" is not part of it). */
function textOf(li: HTMLElement): string {
  const text = li.querySelector<HTMLElement>('.text')!;
  const raw = [...text.childNodes]
    .filter((n) => !(n instanceof HTMLElement && n.classList.contains('edited')))
    .map((n) => n.textContent ?? '')
    .join('');
  return li.dataset.editedAt ? raw.replace(/ $/, '') : raw;
}

export function cancelEdits() {
  for (const li of list().querySelectorAll<HTMLElement>('li.editing')) {
    li.querySelector('.edit-form')?.remove();
    li.classList.remove('editing');
  }
}

/** Starts editing the viewer's newest message (the Up key in an empty send box); false when there is none. */
export function editLastOwn(actions: MessageActions): boolean {
  const mine = list().querySelectorAll<HTMLElement>('li.message.mine');
  const last = mine[mine.length - 1];
  if (!last) return false;
  startEdit(last, actions);
  last.scrollIntoView({ block: 'nearest' });
  return true;
}

async function deleteMessage(li: HTMLElement, actions: MessageActions, shown: Set<string>) {
  const id = li.dataset.id!;
  li.classList.remove('confirming');
  try {
    await actions.remove(id);
    removeMessage(id, shown, !li.classList.contains('mine'));
    clearChatError();
  } catch (err) {
    if (codeOf(err) === 'NOT_FOUND') removeMessage(id, shown); // gone already
    else showChatError(err);
  }
}

/** Wires the buttons of the list (one listener for every message). */
export function wireMessageActions(actions: MessageActions, shown: () => Set<string> | undefined) {
  wireReactions(list(), actions, (id, reactions) => updateReactions(id, reactions));
  list().addEventListener('click', (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]');
    const li = button?.closest<HTMLElement>('li.message');
    if (!button || !li) return;
    switch (button.dataset.action) {
      case 'reply':
        return actions.reply({ id: li.dataset.id!, author: li.dataset.author!, firstLine: textOf(li).split('\n')[0]!.trim().slice(0, 200) });
      case 'edit':
        return startEdit(li, actions);
      case 'delete':
        li.classList.add('confirming');
        return li.querySelector<HTMLButtonElement>('button.confirm-delete')?.focus();
      case 'cancel-delete':
        li.classList.remove('confirming');
        return li.querySelector<HTMLButtonElement>('button.delete')?.focus();
      case 'confirm-delete': {
        const ids = shown();
        if (ids) void deleteMessage(li, actions, ids);
      }
    }
  });
}
