import { describe, expect, it } from 'vitest';
import { compareIds, compareIdStrings, nextId, parseId } from '../src/pubsub/ids.js';

describe('message ids', () => {
  it('compare by their two numbers without parsing, as the parsed comparison does, leading zeros included', () => {
    const ids = ['0-0', '0-1', '1-0', '9-9', '10-0', '10-10', '007-3', '7-2', '7-03', '18446744073709551615-0', '1795659911674-0', '1795659911674-12', '1795659911674-2'];
    for (let i = 0; i < 2000; i++) ids.push(`${Math.floor(Math.random() * 1e13)}-${Math.floor(Math.random() * 20)}`);
    for (let i = 0; i < ids.length; i++) {
      for (const j of [0, 1, 2, 5, 11, (i * 7) % ids.length]) {
        const a = ids[i]!;
        const b = ids[j]!;
        expect(Math.sign(compareIdStrings(a, b)), `${a} vs ${b}`).toBe(Math.sign(compareIds(parseId(a)!, parseId(b)!)));
      }
    }
  });

  it('follow Redis XADD: a new millisecond starts at 0, the same one counts up', () => {
    expect(nextId(null, 5)).toEqual({ ms: 5n, seq: 0n });
    expect(nextId({ ms: 5n, seq: 0n }, 5)).toEqual({ ms: 5n, seq: 1n });
    // a clock that went back keeps the last millisecond
    expect(nextId({ ms: 9n, seq: 3n }, 5)).toEqual({ ms: 9n, seq: 4n });
    expect(parseId('18446744073709551616-0')).toBeNull();
  });
});
