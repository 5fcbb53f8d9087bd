import { describe, expect, it } from 'vitest';
import type { LogEntry, RoomLog, StoredMessage } from '../src/pubsub/types.js';
import type { Services } from '../src/resolvers/context.js';
import { sendMessage } from '../src/resolvers/messages.js';
import { ensureDefaultRooms } from '../src/resolvers/rooms.js';
import { messageAdded, roomEvents } from '../src/resolvers/subscriptions.js';
import { newUser, type TestUser } from './support/rules.js';
import { memoryServices } from './support/services.js';

/** Services whose room log counts the catch-up reads (range and entries) made of it. */
async function counting(): Promise<{ services: Services; reads: { after: string | undefined }[]; alice: TestUser }> {
  const base = memoryServices();
  const reads: { after: string | undefined }[] = [];
  const log: RoomLog = {
    ...base.engine.log,
    range: (room, query) => {
      reads.push({ after: query.after });
      return base.engine.log.range(room, query);
    },
    entries: (room, query) => {
      reads.push({ after: query.after });
      return base.engine.log.entries(room, query);
    },
  };
  const services: Services = { ...base, engine: { ...base.engine, log } };
  await ensureDefaultRooms(services);
  return { services, reads, alice: await newUser(services, 'alice') };
}

async function take<T>(sub: AsyncIterator<T>, count: number): Promise<T[]> {
  const out: T[] = [];
  while (out.length < count) {
    const r = await sub.next();
    if (r.done) throw new Error(`ended after ${out.length} of ${count}`);
    out.push(r.value);
  }
  return out;
}

describe('resuming subscribers start fast', () => {
  it("a subscriber resuming at or past the room's head reads nothing from the log, and still gets every later message", async () => {
    const { reads, alice } = await counting();
    const sent: StoredMessage[] = [];
    for (const text of ['a', 'b', 'c']) sent.push(await sendMessage(alice.ctx, { room: 'general', text }));
    const subs = await Promise.all([
      messageAdded(alice.ctx, { room: 'general', after: sent[2]!.id }),
      roomEvents(alice.ctx, { room: 'general', after: sent[2]!.id }),
    ]);
    const next = await sendMessage(alice.ctx, { room: 'general', text: 'd' });
    expect((await take(subs[0]!, 1)).map((m) => m.id)).toEqual([next.id]);
    expect((await take(subs[1]!, 1)).map((e) => (e as { id: string }).id)).toEqual([next.id]);
    expect(reads).toEqual([]);
    for (const s of subs) await s.return?.();
  });

  it('subscribers resuming together share one read of the room from the lowest cursor, each getting exactly what follows its own', async () => {
    const { services, reads, alice } = await counting();
    const sent: StoredMessage[] = [];
    for (let i = 0; i < 6; i++) sent.push(await sendMessage(alice.ctx, { room: 'general', text: `m${i}` }));
    const users = await Promise.all([1, 2, 3].map((i) => newUser(services, `user${i}`)));
    // cursors 0, 2 and 4: backlogs of 5, 3 and 1 message
    const subs = await Promise.all(users.map((u, i) => messageAdded(u.ctx, { room: 'general', after: sent[i * 2]!.id })));
    const got = await Promise.all(subs.map((s, i) => take(s, 5 - i * 2)));
    expect(got.map((g) => g.map((m) => m.text))).toEqual([
      ['m1', 'm2', 'm3', 'm4', 'm5'],
      ['m3', 'm4', 'm5'],
      ['m5'],
    ]);
    expect(reads).toEqual([{ after: sent[0]!.id }]);
    // and live messages follow each backlog with no gap and no duplicate
    const live = await sendMessage(alice.ctx, { room: 'general', text: 'live' });
    for (const s of subs) expect((await take(s, 1))[0]!.id).toBe(live.id);
    for (const s of subs) await s.return?.();
  });

  it('a batch read that a cursor outruns (a full page ending below it) is followed by a read of its own', async () => {
    const { services, reads, alice } = await counting();
    const sent: LogEntry[] = [];
    // more than one page (500) between the lowest and the highest cursor
    for (let i = 0; i < 520; i++) sent.push(await sendMessage(alice.ctx, { room: 'general', text: `m${i}` }));
    const [low, high] = await Promise.all([newUser(services, 'low'), newUser(services, 'high')]);
    const subs = await Promise.all([
      roomEvents(low.ctx, { room: 'general', after: sent[0]!.id }),
      roomEvents(high.ctx, { room: 'general', after: sent[510]!.id }),
    ]);
    const [fromLow, fromHigh] = await Promise.all([take(subs[0]!, 519), take(subs[1]!, 9)]);
    expect(fromLow.map((e) => (e as { id: string }).id)).toEqual(sent.slice(1).map((e) => e.id));
    expect(fromHigh.map((e) => (e as { id: string }).id)).toEqual(sent.slice(511).map((e) => e.id));
    expect(reads[0]).toEqual({ after: sent[0]!.id });
    expect(reads).toContainEqual({ after: sent[510]!.id });
    for (const s of subs) await s.return?.();
  });
});
