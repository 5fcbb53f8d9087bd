import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, codeOf, gql, signUp, wsClient, type Session } from './support/client.js';
import { waitFor } from './support/net.js';
import { startDeployment, type Deployment } from './support/deployment.js';
import type { ServerProcess } from './support/server.js';

const PRESENCE_TTL = 3;

describe('presence, typing, read state, edits and deletions across three instances', () => {
  let deployment: Deployment;
  let servers: ServerProcess[] = [];
  let ann: Session;
  let bob: Session;
  let eve: Session;
  let room: string;

  const A = () => servers[0]!;
  const B = () => servers[1]!;
  const C = () => servers[2]!;
  const send = (s: ServerProcess, who: Session, text: string, r = room) =>
    gql(s.httpUrl, 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }', { r, t: text }, who.accessToken).then((x) => x.data.sendMessage.id as string);
  const online = async (s: ServerProcess, who: Session) =>
    ((await gql(s.httpUrl, 'query($r:String!){ onlineMembers(room:$r){ username } }', { r: room }, who.accessToken)).data.onlineMembers as { username: string }[]).map((u) => u.username);

  beforeAll(async () => {
    deployment = await startDeployment({ instances: 3, env: { MESSAGE_RATE_LIMIT: '0', PRESENCE_TTL: String(PRESENCE_TTL), TYPING_RATE_LIMIT: '3/60' } });
    servers = [...deployment.servers];
    [ann, bob, eve] = await Promise.all([signUp(A().httpUrl, 'ann'), signUp(A().httpUrl, 'bob'), signUp(A().httpUrl, 'eve')]);
    room = `club-${Date.now()}`;
    await gql(A().httpUrl, 'mutation($n:String!){ createRoom(name:$n, private:true){ name } }', { n: room }, ann.accessToken);
    await gql(A().httpUrl, 'mutation($r:String!,$u:String!){ inviteToRoom(room:$r, username:$u){ name } }', { r: room, u: bob.username }, ann.accessToken);
  }, 90_000);
  afterAll(() => deployment?.stop('SIGKILL'));

  it('shows who is online across instances, each user once, and a killed instance’s users leave within the presence TTL', async () => {
    const watcher = wsClient(A().wsUrl, ann.accessToken);
    const events = collect(watcher, 'subscription($r:String!){ presenceChanged(room:$r){ user { username } online } }', { r: room });
    const annOnB = wsClient(B().wsUrl, ann.accessToken);
    const annSub = collect(annOnB, 'subscription($r:String!){ messageAdded(room:$r){ id } }', { r: room });
    const annSub2 = collect(annOnB, 'subscription($r:String!){ roomEvents(room:$r){ id } }', { r: room });
    const victim = await deployment.add();
    const bobOnVictim = wsClient(victim.wsUrl, bob.accessToken);
    const bobSub = collect(bobOnVictim, 'subscription($r:String!){ messageAdded(room:$r){ id } }', { r: room });
    await waitFor(async () => (await online(C(), ann)).length === 2, { what: 'ann and bob online' });
    expect((await online(C(), ann)).sort()).toEqual([ann.username, bob.username].sort());

    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await waitFor(async () => !(await online(C(), ann)).includes(bob.username), { timeoutMs: (PRESENCE_TTL + 5) * 1000, what: 'bob gone after SIGKILL' });
    const goneAfterMs = Date.now() - killedAt;
    console.log(`presence: a user of a SIGKILLed instance left the online list after ${goneAfterMs} ms (PRESENCE_TTL=${PRESENCE_TTL} s)`);
    await waitFor(() => events.results.some((r) => r.data?.presenceChanged.user.username === bob.username && !r.data.presenceChanged.online), { what: 'bob offline event' });
    expect(events.results.filter((r) => r.data?.presenceChanged.user.username === ann.username && r.data.presenceChanged.online)).toHaveLength(1);
    annSub.dispose();
    annSub2.dispose();
    await waitFor(async () => (await online(C(), ann)).length === 0, { what: 'ann offline' });
    bobSub.dispose();
    // bob's client lost its server: terminate it rather than wait for a goodbye
    bobOnVictim.terminate();
    await Promise.all([watcher.dispose(), annOnB.dispose()]);
  });

  it('delivers typing to others on every instance, rate limits it, and lets it expire', async () => {
    const client = wsClient(C().wsUrl, bob.accessToken);
    const typing = collect(client, 'subscription($r:String!){ typing(room:$r){ user { username } expiresAt } }', { r: room });
    const own = collect(wsClient(C().wsUrl, ann.accessToken), 'subscription($r:String!){ typing(room:$r){ user { username } } }', { r: room });
    await waitFor(async () => {
      const r = await gql(A().httpUrl, 'mutation($r:String!){ startTyping(room:$r) }', { r: room }, ann.accessToken);
      return typing.results.length > 0 || codeOf(r) === 'RATE_LIMITED';
    }, { what: 'a typing event', intervalMs: 200 });
    const [event] = typing.results;
    expect(event!.data.typing.user.username).toBe(ann.username);
    const expiresIn = Date.parse(event!.data.typing.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(0);
    expect(expiresIn).toBeLessThanOrEqual(5000);
    // the limit is 3 per minute for ann
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(codeOf(await gql(B().httpUrl, 'mutation($r:String!){ startTyping(room:$r) }', { r: room }, ann.accessToken)));
    expect(answers).toContain('RATE_LIMITED');
    expect(own.results).toEqual([]);
    typing.dispose();
    await client.dispose();
  });

  it('counts unread messages per room in one rooms query, across reads on another instance and a reconnect', async () => {
    const first = await send(A(), ann, 'u1');
    const second = await send(B(), ann, 'u2');
    const third = await send(C(), ann, 'u3');
    const unread = async (s: ServerProcess) =>
      ((await gql(s.httpUrl, '{ rooms { name unreadCount lastReadId } }', {}, bob.accessToken)).data.rooms as { name: string; unreadCount: number; lastReadId: string | null }[]).find((r) => r.name === room)!;
    const before = await unread(A());
    expect(before.unreadCount).toBeGreaterThanOrEqual(3);
    const marked = await gql(B().httpUrl, 'mutation($r:String!,$id:ID!){ markRead(room:$r, id:$id){ unreadCount lastReadId } }', { r: room, id: first }, bob.accessToken);
    expect(marked.data.markRead).toEqual({ unreadCount: 2, lastReadId: first });
    expect(await unread(C())).toMatchObject({ unreadCount: 2, lastReadId: first });
    // backwards does nothing; a reconnecting client reads the same state
    await gql(C().httpUrl, 'mutation($r:String!,$id:ID!){ markRead(room:$r, id:$id){ name } }', { r: room, id: '1-0' }, bob.accessToken);
    expect(await unread(A())).toMatchObject({ unreadCount: 2, lastReadId: first });
    // a message deleted on another instance no longer counts
    const deleted = await gql(B().httpUrl, 'mutation($r:String!,$id:ID!){ deleteMessage(room:$r, id:$id) }', { r: room, id: second }, ann.accessToken);
    expect(deleted.errors).toBeUndefined();
    expect(await unread(C())).toMatchObject({ unreadCount: 1, lastReadId: first });
    await gql(A().httpUrl, 'mutation($r:String!,$id:ID!){ markRead(room:$r, id:$id){ name } }', { r: room, id: third }, bob.accessToken);
    expect(await unread(B())).toMatchObject({ unreadCount: 0, lastReadId: third });
    // ann wrote them: nothing unread for her
    const annRooms = (await gql(B().httpUrl, '{ rooms { name unreadCount } }', {}, ann.accessToken)).data.rooms as { name: string; unreadCount: number }[];
    expect(annRooms.find((r) => r.name === room)!.unreadCount).toBe(0);
  });

  it('shows edits and deletions live on roomEvents on another instance, and in history and resume', async () => {
    const client = wsClient(C().wsUrl, bob.accessToken);
    const events = collect(client, 'subscription($r:String!){ roomEvents(room:$r){ id type messageId message { text editedAt } } }', { r: room });
    await waitFor(async () => (await online(C(), bob)).includes(bob.username), { what: 'bob subscribed' });
    const id = await send(A(), ann, 'tpyo');
    const doomed = await send(A(), ann, 'oops');
    expect(codeOf(await gql(B().httpUrl, 'mutation($r:String!,$id:ID!){ editMessage(room:$r, id:$id, text:"hijack"){ id } }', { r: room, id }, bob.accessToken))).toBe('FORBIDDEN');
    const edited = await gql(B().httpUrl, 'mutation($r:String!,$id:ID!){ editMessage(room:$r, id:$id, text:"typo"){ id text editedAt } }', { r: room, id }, ann.accessToken);
    expect(edited.data.editMessage).toMatchObject({ id, text: 'typo' });
    expect((await gql(B().httpUrl, 'mutation($r:String!,$id:ID!){ deleteMessage(room:$r, id:$id) }', { r: room, id: doomed }, ann.accessToken)).data).toEqual({ deleteMessage: true });
    expect(codeOf(await gql(B().httpUrl, 'mutation($r:String!,$id:ID!){ deleteMessage(room:$r, id:$id) }', { r: room, id: doomed }, ann.accessToken))).toBe('NOT_FOUND');
    const live = await events.next(4);
    expect(live.map((r) => [r.data.roomEvents.type, r.data.roomEvents.messageId, r.data.roomEvents.message?.text ?? null])).toEqual([
      ['ADDED', id, 'tpyo'],
      ['ADDED', doomed, 'oops'],
      ['EDITED', id, 'typo'],
      ['DELETED', doomed, null],
    ]);
    const history = (await gql(A().httpUrl, 'query($r:String!){ recentMessages(room:$r, limit:5){ id text editedAt } }', { r: room }, bob.accessToken)).data.recentMessages as { id: string; text: string; editedAt: string | null }[];
    expect(history.map((m) => m.id)).not.toContain(doomed);
    expect(history.find((m) => m.id === id)).toMatchObject({ text: 'typo', editedAt: edited.data.editMessage.editedAt });
    // resume from before both: messageAdded shows the final state, roomEvents the events
    const justBefore = `${BigInt(id.split('-')[0]!) - 1n}-0`;
    const resumed = collect(client, 'subscription($r:String!,$a:ID){ messageAdded(room:$r, after:$a){ id text } }', { r: room, a: justBefore });
    await resumed.next(1);
    expect(resumed.results.map((r) => r.data.messageAdded)).toContainEqual({ id, text: 'typo' });
    expect(resumed.results.map((r) => r.data.messageAdded.id)).not.toContain(doomed);
    await client.dispose();
  });

  it('leaks nothing of a private room to a non-member', async () => {
    const q = [
      ['query($r:String!){ onlineMembers(room:$r){ id } }', 'FORBIDDEN'],
      ['mutation($r:String!){ startTyping(room:$r) }', 'FORBIDDEN'],
      ['mutation($r:String!){ markRead(room:$r, id:"1-0"){ name } }', 'FORBIDDEN'],
      ['mutation($r:String!){ editMessage(room:$r, id:"1-0", text:"x"){ id } }', 'FORBIDDEN'],
      ['mutation($r:String!){ deleteMessage(room:$r, id:"1-0") }', 'FORBIDDEN'],
    ] as const;
    for (const [query, code] of q) expect(codeOf(await gql(B().httpUrl, query, { r: room }, eve.accessToken))).toBe(code);
    const client = wsClient(C().wsUrl, eve.accessToken);
    for (const sub of ['typing(room:$r){ expiresAt }', 'presenceChanged(room:$r){ online }', 'roomEvents(room:$r){ id }']) {
      const s = collect(client, `subscription($r:String!){ ${sub} }`, { r: room });
      await waitFor(() => s.completed || s.error !== null, { what: `${sub} refused` });
      expect(s.results[0]?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    const rooms = (await gql(A().httpUrl, '{ rooms { name } }', {}, eve.accessToken)).data.rooms as { name: string }[];
    expect(rooms.map((r) => r.name)).not.toContain(room);
    await client.dispose();
  });
});
