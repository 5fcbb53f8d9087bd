// Message rendering: one list item per message (text only, never HTML), grouped by author, with
// edit and delete on the viewer's own messages.
import { codeOf, el, hue, showChatError, clearChatError, $ } from './dom.js';

/** What the page shows of a message (history, live events and mutation results all have it). */
export interface Message {
  readonly id: string;
  readonly text: string;
  readonly createdAt: string;
  readonly editedAt?: string | null;
  readonly mine: boolean;
  readonly author: { readonly username: string };
}

/** What the message list needs from the conversation to edit and delete. */
export interface MessageActions {
  edit(id: string, text: string): Promise<Message>;
  remove(id: string): Promise<unknown>;
}

const list = () => $<HTMLOListElement>('messages');
export const messageItem = (id: string) => list().querySelector<HTMLLIElement>(`li.message[data-id="${CSS.escape(id)}"]`);
export const messageItems = () => list().querySelectorAll<HTMLLIElement>('li.message');

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
  const body = el('div', 'body', el('div', 'meta', el('span', 'author', m.author.username), when), el('p', 'text'));
  li.append(avatar, body);
  if (m.mine) li.append(actionsElement());
  renderText(li, m);
  return li;
}

/** The text (never HTML) and, once edited, "(edited)". */
function renderText(li: HTMLElement, m: Pick<Message, 'text' | 'editedAt'>) {
  const text = li.querySelector<HTMLElement>('.text')!;
  text.replaceChildren(m.text);
  if (m.editedAt) {
    li.dataset.editedAt = m.editedAt;
    const mark = el('span', 'edited', '(edited)');
    mark.title = `edited ${new Date(m.editedAt).toLocaleString()}`;
    text.append(' ', mark);
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
    const first = list().querySelector('li.message');
    const anchor = first ?? null;
    for (const li of items) list().insertBefore(li, anchor);
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
}

export function removeMessage(id: string, shown: Set<string>) {
  shown.add(id); // deleted: never shown again
  const li = messageItem(id);
  if (!li) return;
  const next = li.nextElementSibling as HTMLElement | null;
  li.remove();
  regroup(next);
  if (!messageItems().length) list().append(emptyNote());
}

export function emptyNote() {
  return el('li', 'empty', 'No messages yet. Say hello!');
}

/** Edit and delete, on the viewer's own messages (shown on hover and keyboard focus). */
function actionsElement() {
  const button = (action: string, label: string, title: string) => {
    const b = el('button', action, label);
    b.type = 'button';
    b.dataset.action = action;
    b.title = title;
    return b;
  };
  const idle = el('span', 'idle', button('edit', 'Edit', 'Edit this message'), button('delete', 'Delete', 'Delete this message'));
  const confirm = el(
    'span',
    'confirm',
    el('span', '', 'Delete this message?'),
    button('confirm-delete', 'Delete', 'Delete it for everyone'),
    button('cancel-delete', 'Keep', 'Keep the message'),
  );
  return el('div', 'actions', idle, confirm);
}

function startEdit(li: HTMLElement, actions: MessageActions) {
  if (li.classList.contains('editing')) return;
  cancelEdits();
  const id = li.dataset.id!;
  const original = li.querySelector('.text')!.firstChild?.textContent ?? '';
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
    removeMessage(id, shown);
    clearChatError();
  } catch (err) {
    if (codeOf(err) === 'NOT_FOUND') removeMessage(id, shown); // gone already
    else showChatError(err);
  }
}

/** Wires the edit and delete buttons of the list (one listener for every message). */
export function wireMessageActions(actions: MessageActions, shown: () => Set<string> | undefined) {
  list().addEventListener('click', (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]');
    const li = button?.closest<HTMLElement>('li.message');
    if (!button || !li) return;
    switch (button.dataset.action) {
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
