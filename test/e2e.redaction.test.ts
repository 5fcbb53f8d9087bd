import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, gql, signUp, sseCollect, wsClient, type Session } from './support/client.js';
import { ENGINES, type Instances } from './support/engines.js';

const SEND = 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }';
const EDIT = 'mutation($r:String!,$id:ID!,$t:String!){ editMessage(room:$r, id:$id, text:$t){ id } }';
const DELETE = 'mutation($r:String!,$id:ID!){ deleteMessage(room:$r, id:$id) }';
const EVENTS = 'subscription($r:String!,$a:ID){ roomEvents(room:$r, after:$a){ id type messageId message { id text editedAt } } }';
const MESSAGES = 'subscription($r:String!,$a:ID){ messageAdded(room:$r, after:$a){ id text editedAt } }';

describe.each(ENGINES)('redaction, end to end over HTTP, WebSocket and SSE: $name engine', (engine) => {
  let instances: Instances;
  let ann: Session;
  let bob: Session;

  beforeAll(async () => {
    instances = await engine.start({ MESSAGE_RATE_LIMIT: '0' });
    ann = await signUp(instances.a.httpUrl, 'ann');
    bob = await signUp(instances.a.httpUrl, 'bob');
  }, 60_000);
  afterAll(() => instances?.stop());

  const ok = async (url: string, query: string, variables: Record<string, unknown>, who: Session) => {
    const r = await gql(url, query, variables, who.accessToken);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data;
  };

  it('a deleted message is in no read: recentMessages, roomEvents replay and messageAdded resume show no text of it, only its DELETED event; an edited one replays with its current text only', async () => {
    const { a, b } = instances;
    const room = `redact-${Date.now()}`;
    await ok(a.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, ann);
    const send = async (t: string) => (await ok(a.httpUrl, SEND, { r: room, t }, ann)).sendMessage.id as string;
    const m1 = await send('secret original');
    const m2 = await send('plain v1');
    const m3 = await send('last');
    await ok(a.httpUrl, EDIT, { r: room, id: m1, t: 'secret edited' }, ann);
    await ok(a.httpUrl, EDIT, { r: room, id: m2, t: 'plain v2' }, ann);
    const v3 = (await ok(a.httpUrl, EDIT, { r: room, id: m2, t: 'plain v3' }, ann)).editMessage.id;
    expect(v3).toBe(m2);
    expect((await ok(a.httpUrl, DELETE, { r: room, id: m1 }, ann)).deleteMessage).toBe(true);

    // HTTP, on the other instance
    const history = (await ok(b.httpUrl, 'query($r:String!){ recentMessages(room:$r){ id text editedAt } }', { r: room }, bob)).recentMessages;
    expect(history.map((m: { id: string; text: string }) => [m.id, m.text])).toEqual([
      [m2, 'plain v3'],
      [m3, 'last'],
    ]);

    // replay and resume from the start, over WebSocket and SSE, on the other instance
    const ws = wsClient(b.wsUrl, bob.accessToken);
    const subs = {
      wsEvents: collect(ws, EVENTS, { r: room, a: '0-0' }),
      wsMessages: collect(ws, MESSAGES, { r: room, a: '0-0' }),
      sseEvents: sseCollect(b.httpUrl, bob.accessToken, EVENTS, { r: room, a: '0-0' }),
      sseMessages: sseCollect(b.httpUrl, bob.accessToken, MESSAGES, { r: room, a: '0-0' }),
    };
    try {
      const [wsEvents, sseEvents] = await Promise.all([subs.wsEvents.next(4), subs.sseEvents.next(4)]);
      const [wsMessages, sseMessages] = await Promise.all([subs.wsMessages.next(2), subs.sseMessages.next(2)]);
      for (const events of [wsEvents, sseEvents]) {
        expect(events.map((r) => [r.data.roomEvents.type, r.data.roomEvents.messageId, r.data.roomEvents.message?.text ?? null])).toEqual([
          ['ADDED', m2, 'plain v3'],
          ['ADDED', m3, 'last'],
          ['EDITED', m2, 'plain v3'],
          ['DELETED', m1, null],
        ]);
      }
      for (const messages of [wsMessages, sseMessages]) expect(messages.map((r) => r.data.messageAdded.text)).toEqual(['plain v3', 'last']);
      // a live message comes next: nothing else was replayed before it
      const m4 = await send('after');
      await Promise.all([subs.wsEvents.next(5), subs.sseEvents.next(5), subs.wsMessages.next(3), subs.sseMessages.next(3)]);
      for (const sub of [subs.wsEvents, subs.sseEvents]) expect(sub.results[4]!.data.roomEvents.messageId).toBe(m4);
      for (const sub of [subs.wsMessages, subs.sseMessages]) expect(sub.results[2]!.data.messageAdded.id).toBe(m4);
      const everything = JSON.stringify([history, ...Object.values(subs).map((s) => s.results)]);
      expect(everything).not.toMatch(/secret|plain v1|plain v2/);
    } finally {
      for (const sub of Object.values(subs)) sub.dispose();
      await ws.dispose();
    }
  });
});
