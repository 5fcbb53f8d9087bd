import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config from '../codegen.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const GENERATED = join(root, 'client/generated');

describe('codegen', () => {
  it('the committed client/generated/ is what `npm run codegen` makes from schema.graphql and the operations', async () => {
    const outputs: { filename: string; content: string }[] = await generate({ ...config, cwd: root, silent: true }, false);
    const expected = new Map(outputs.map((o) => [relative(root, join(root, o.filename)).split('\\').join('/'), o.content]));
    const committed = readdirSync(GENERATED).map((f) => `client/generated/${f}`);
    const stale = 'stale: run `npm run codegen` and commit client/generated/';
    expect(committed.sort(), stale).toEqual([...expected.keys()].sort());
    for (const [file, content] of expected) expect(readFileSync(join(root, file), 'utf8'), `${file} is ${stale}`).toBe(content);
  });
});
