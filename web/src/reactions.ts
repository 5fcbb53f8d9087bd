// Reactions under a message: one chip per emoji with its count (pressed when the viewer reacted:
// a click takes it back), and a palette of common emoji to add one.
import type { ConversationMessageFragment } from '../../client/index.js';
import { el, showChatError, clearChatError } from './dom.js';
import type { MessageActions } from './messages.js';

type Reactions = ConversationMessageFragment['reactions'];

/** The emoji the palette offers. */
export const PALETTE = ['👍', '❤️', '😂', '🎉', '😮', '😢'] as const;

export function reactionsElement(reactions: Reactions): HTMLElement {
  const row = el('div', 'reactions');
  for (const r of reactions) {
    const chip = el('button', r.mine ? 'reaction mine' : 'reaction', el('span', 'emoji', r.emoji), el('span', 'count', String(r.count)));
    chip.type = 'button';
    chip.dataset.action = 'react';
    chip.dataset.emoji = r.emoji;
    chip.setAttribute('aria-pressed', String(r.mine));
    chip.title = r.mine ? `You reacted with ${r.emoji}: click to take it back` : `React with ${r.emoji}`;
    chip.setAttribute('aria-label', `${r.emoji} ${r.count}${r.mine ? ', yours' : ''}`);
    row.append(chip);
  }
  return row;
}

function paletteElement(): HTMLElement {
  const palette = el('div', 'palette');
  palette.setAttribute('role', 'group');
  palette.setAttribute('aria-label', 'Add a reaction');
  for (const emoji of PALETTE) {
    const b = el('button', 'palette-emoji', emoji);
    b.type = 'button';
    b.dataset.action = 'react-add';
    b.dataset.emoji = emoji;
    b.title = `React with ${emoji}`;
    palette.append(b);
  }
  return palette;
}

/** One listener for the whole list: chips toggle the viewer's reaction, the palette adds one. */
export function wireReactions(list: HTMLElement, actions: MessageActions, show: (id: string, reactions: Reactions) => void) {
  list.addEventListener('click', async (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]');
    const li = button?.closest<HTMLElement>('li.message');
    if (!button || !li) return;
    const action = button.dataset.action;
    if (action === 'pick-reaction') {
      const open = li.querySelector('.palette');
      for (const p of list.querySelectorAll('.palette')) p.remove();
      if (!open) li.querySelector('.body')!.append(paletteElement());
      li.querySelector<HTMLButtonElement>('.palette button')?.focus();
      return;
    }
    if (action !== 'react' && action !== 'react-add') return;
    const emoji = button.dataset.emoji!;
    const add = action === 'react-add' || button.getAttribute('aria-pressed') !== 'true';
    li.querySelector('.palette')?.remove();
    try {
      const message = await actions.react(li.dataset.id!, emoji, add);
      show(message.id, message.reactions ?? []);
      clearChatError();
    } catch (err) {
      showChatError(err);
    }
  });
}
