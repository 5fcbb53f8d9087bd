// Small DOM helpers shared by the page's modules.
import { ChatApiError } from '../../client/index.js';

/** The element with this id (the page's HTML defines every one the modules use). */
export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** `<tag class=...>` with text or children. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.append(...children);
  return node;
}

export const describe = (err: unknown) => (err instanceof ChatApiError ? err.message : err instanceof Error ? err.message : String(err));
export const codeOf = (err: unknown) => (err instanceof ChatApiError ? err.code : undefined);
export const visible = () => document.visibilityState === 'visible';

/** Read out by screen readers (a polite live region), e.g. a message that just arrived. */
export function announce(text: string) {
  const region = $('announcer');
  // a new node each time: some readers skip a text change that repeats the last one
  region.replaceChildren(el('p', '', text));
}

/** An error for the open conversation (cleared by the next success). */
export function showChatError(err: unknown) {
  $('chat-error').textContent = describe(err);
}

export function clearChatError() {
  $('chat-error').textContent = '';
}

/** A note that something worked ("bob was invited"), shown where errors are. */
export function showChatNote(text: string) {
  const note = $('chat-note');
  note.textContent = text;
  $('chat-error').textContent = '';
}

/**
 * Work nobody waits for (badges, presence, read marks): a failure is logged, not shown. Access
 * lost to a room meanwhile (left, removed) is expected there: the conversation says so itself.
 */
export function background(work: Promise<unknown>) {
  work.catch((err) => {
    if (codeOf(err) !== 'FORBIDDEN' && codeOf(err) !== 'NOT_FOUND') console.warn(describe(err));
  });
}

/**
 * `task` run one at a time: asked again while it runs, it runs once more afterwards (however often
 * it was asked), so the last run always starts after the last request. The promise settles with
 * the run that serves the request.
 */
export function coalesced(task: () => Promise<void>) {
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

/** A stable, pleasant colour per user. */
export function hue(name: string) {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}
