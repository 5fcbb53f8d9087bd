import { readFileSync } from 'node:fs';
import { buildSchema, findBreakingChanges } from 'graphql';
import { describe, expect, it } from 'vitest';
import { printChatSchema } from '../src/schema/index.js';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

describe('schema.graphql', () => {
  it('is what the Pothos schema prints now (run `npm run schema` when this fails)', () => {
    expect(read('../schema.graphql')).toBe(`${printChatSchema()}\n`);
  });

  it('keeps every promise of the API contract (test/fixtures/contract.graphql, a copy of shared/api/contract.graphql)', () => {
    const breaks = findBreakingChanges(buildSchema(read('./fixtures/contract.graphql')), buildSchema(read('../schema.graphql')));
    expect(breaks.map((b) => `${b.type}: ${b.description}`)).toEqual([]);
  });

  it('would catch a contract break (the check is not vacuous)', () => {
    const broken = read('../schema.graphql').replace(/recentMessages\(([^)]*)\): \[Message!\]!/, 'recentMessages($1): [Message]');
    const breaks = findBreakingChanges(buildSchema(read('./fixtures/contract.graphql')), buildSchema(broken));
    expect(breaks.length).toBeGreaterThan(0);
  });
});
