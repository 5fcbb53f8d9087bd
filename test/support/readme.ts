// The README's fenced code blocks, for the tests that run them as written.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const README = fileURLToPath(new URL('../../README.md', import.meta.url));

export interface CodeBlock {
  /** The fence's info string (`ts`, `sh`, `graphql`, `text`, or '' for none). */
  readonly lang: string;
  /** The block's text, without the fence's indentation. */
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The nearest heading above it. */
  readonly heading: string;
}

/** Every fenced block of the README, in order. */
export function readmeBlocks(text = readFileSync(README, 'utf8')): CodeBlock[] {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const h = /^#{1,6}\s+(.*)$/.exec(lines[i]!);
    if (h) heading = h[1]!.trim();
    const open = /^(\s*)(`{3,})\s*([\w:-]*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', fence = '', lang = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !new RegExp(`^\\s*${fence}\\s*$`).test(lines[j]!); j++) body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!);
    if (j === lines.length) throw new Error(`README.md:${i + 1}: a code block that is never closed`);
    blocks.push({ lang, code: body.join('\n'), line: i + 1, heading });
    i = j;
  }
  return blocks;
}

/** The commands of a shell block: comments and blank lines dropped, continued lines joined. */
export function shellCommands(code: string): string[] {
  return code
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').replace(/^#.*$/, '').trim())
    .filter(Boolean);
}

/** The one block under `heading` in `lang`. */
export function readmeBlock(heading: string, lang: string): CodeBlock {
  const found = readmeBlocks().filter((b) => b.heading === heading && b.lang === lang);
  if (found.length !== 1) throw new Error(`README.md: expected one ${lang} block under "${heading}", found ${found.length}`);
  return found[0]!;
}
