import { describe, expect, it, vi } from 'vitest';
import { createFairLine } from '../src/auth/fair-line.js';
import { rateLimited } from '../src/errors.js';
import { login, register } from '../src/resolvers/auth.js';
import type { Services } from '../src/resolvers/context.js';
import { newUser, PASSWORD } from './support/rules.js';
import { memoryServices } from './support/services.js';

/**
 * Issue 11, point 7: one address flooding register/login cannot fill the password-hash line nor
 * push another address's login far back. Shown without timing anything: every scrypt computation
 * waits until the test lets it finish, one at a time.
 */

const gate = vi.hoisted(() => ({ waiting: [] as (() => void)[], started: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  const scrypt = (...args: unknown[]) => {
    const callback = args.pop() as (err: Error | null, key: Buffer) => void;
    gate.started++;
    (real.scrypt as (...a: unknown[]) => void)(...args, (err: Error | null, key: Buffer) => {
      gate.waiting.push(() => callback(err, key));
    });
  };
  return { ...real, default: { ...real, scrypt }, scrypt };
});

/** Lets the oldest finished scrypt computation report back (waits until one has finished). */
async function finishOne() {
  await vi.waitFor(() => expect(gate.waiting.length).toBeGreaterThan(0), { timeout: 10_000 });
  gate.waiting.shift()!();
}

const at = (services: Services, clientAddress: string) => ({ services, viewer: null, clientAddress });
const settled = <T>(p: Promise<T>) => {
  const state = { done: false, code: undefined as string | undefined };
  p.then(
    () => (state.done = true),
    (err: { extensions?: { code?: string } }) => {
      state.done = true;
      state.code = err.extensions?.code;
    },
  );
  return state;
};

describe('the password-hash line under a flood from one address (1 hash at a time, 8 per address)', () => {
  it("serves another address's login while the flood is still queued, and refuses the flood past its share at once", async () => {
    gate.waiting.length = 0;
    const services = memoryServices({ hashConcurrency: 1 });
    // the victim exists before the flood (its registration hashed here, let through at once)
    const victimRegistered = newUser(services, 'victim');
    await finishOne();
    await victimRegistered;

    const flood = Array.from({ length: 20 }, (_, i) => settled(register(at(services, '10.0.0.1'), { username: `flood_${i}`, password: PASSWORD })));
    // 8 are in line (1 hashing, 7 waiting); the other 12 are refused before hashing
    await vi.waitFor(() => expect(flood.filter((f) => f.code === 'RATE_LIMITED')).toHaveLength(12), { timeout: 10_000 });
    expect(services.passwords.pending).toBe(8);

    const victim = settled(login(at(services, '10.0.0.2'), { username: 'victim', password: PASSWORD }));
    await vi.waitFor(() => expect(services.passwords.pending).toBe(9), { timeout: 10_000 });
    // the flood's running hash finishes, and the next turn is the victim's: two hashes, not nine
    await finishOne();
    await finishOne();
    await vi.waitFor(() => expect(victim.done).toBe(true), { timeout: 5000 });
    expect(victim.code).toBeUndefined();
    expect(flood.filter((f) => !f.done)).toHaveLength(7);

    for (let i = 0; i < 7; i++) await finishOne();
    await vi.waitFor(() => expect(flood.every((f) => f.done)).toBe(true), { timeout: 5000 });
    expect(flood.filter((f) => f.code === undefined)).toHaveLength(8);
  });
});

describe('the fair line', () => {
  const line = () => createFairLine({ concurrency: 1, maxQueued: 10, maxPerKey: 3, refused: () => rateLimited(1) });
  const job = (log: string[], name: string) => {
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    return {
      finish,
      run: () => {
        log.push(name);
        return done;
      },
    };
  };

  it('takes turns between keys in the order they came, and bounds each key and the whole line', async () => {
    const l = line();
    const log: string[] = [];
    const jobs = ['a1', 'a2', 'a3', 'b1', 'b2', 'c1'].map((name) => ({ name, ...job(log, name) }));
    const results = jobs.map((j) => l.run(j.name[0]!, j.run));
    await expect(l.run('a', async () => 'a4')).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
    expect([l.active, l.queued]).toEqual([1, 5]);
    for (let i = 0; i < jobs.length; i++) {
      await new Promise((r) => setImmediate(r));
      jobs.find((j) => j.name === log.at(-1))!.finish();
    }
    await Promise.all(results);
    expect(log).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
    expect([l.active, l.queued]).toEqual([0, 0]);
  });

  it('refuses past maxQueued waiting in all', async () => {
    const l = createFairLine({ concurrency: 1, maxQueued: 2, maxPerKey: 10, refused: () => rateLimited(1) });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const accepted = [l.run('x', () => held), l.run('y', () => held), l.run('z', () => held)];
    await expect(l.run('w', () => held)).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
    release();
    await Promise.all(accepted);
  });
});
