// Moderation, reactions, replies, mentions and blocking end to end, across two instances (Redis:
// two server processes; memory: one server is both): live delivery on the other instance over
// WebSocket and SSE, resume through roomEvents(after), and revocation of a banned user everywhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf, collect, gql, signUp, sseCollect, wsClient, type Session } from './support/client.js';
import { ENGINES, type Instances } from './support/engines.js';
import { waitFor } from './support/net.js';

const EVENT = `id type messageId byModerator emoji until role actor { username } target { username }
  message { id text replyTo { id deleted firstLine author { username } } mentions { username } reactions { emoji count mine } }`;

describe.each(ENGINES)('moderation and interactions across two instances: $name', (engine) => {
  let on: Instances;
  let owner: Session;
  let mod: Session;
  let bob: Session;
  let eve: Session;
  let admin: Session;
  let room: string;
  const A = () => on.a.httpUrl;
  const B = () => on.b.httpUrl;
  const send = (url: string, who: Session, text: string, extra: Record<string, unknown> = {}) =>
    gql(url, 'mutation($r:String!,$t:String!,$re:ID){ sendMessage(room:$r, text:$t, replyTo:$re){ id replyTo { id firstLine deleted } mentions { username } } }', { r: room, t: text, ...extra }, who.accessToken);
  const op = (url: string, who: Session, query: string, vars: Record<string, unknown> = {}) => gql(url, query, { r: room, ...vars }, who.accessToken);

  beforeAll(async () => {
    const adminName = `root_${process.pid % 10000}_${Date.now() % 100000}`;
    on = await engine.start({ MESSAGE_RATE_LIMIT: '0', ROOM_ADMINS: adminName });
    [owner, mod, bob, eve] = await Promise.all(['own', 'mod', 'bob', 'eve'].map((p) => signUp(A(), p))) as [Session, Session, Session, Session];
    const r = await gql(A(), 'mutation($u:String!,$p:String!){ register(username:$u,password:$p){ accessToken refreshToken user { id } } }', { u: adminName, p: 'correct horse battery' });
    admin = { username: adminName, password: '', accessToken: r.data.register.accessToken, refreshToken: '', userId: r.data.register.user.id };
    room = `club-${Date.now() % 1e8}`;
    await gql(A(), 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, owner.accessToken);
    for (const s of [mod, bob, eve]) await gql(B(), 'mutation($n:String!){ joinRoom(name:$n){ name } }', { n: room }, s.accessToken);
    await op(A(), owner, 'mutation($r:String!,$u:String!){ setModerator(room:$r, username:$u, moderator:true){ role } }', { u: mod.username });
  }, 90_000);
  afterAll(() => on?.stop());

  it('every moderator action is a roomEvents event, live on the other instance and in order on resume; a muted user is told until when', async () => {
    const start = (await send(A(), owner, 'the first message')).data.sendMessage.id as string;
    const watcher = wsClient(on.b.wsUrl, eve.accessToken);
    const live = collect(watcher, `subscription($r:String!,$a:ID){ roomEvents(room:$r, after:$a){ ${EVENT} } }`, { r: room, a: start });

    expect(codeOf(await op(B(), bob, 'mutation($r:String!){ muteUser(room:$r, username:"x_none_x", seconds:5){ until } }'))).toBe('FORBIDDEN');
    // named again after a dismissal: two role events
    await op(A(), owner, 'mutation($r:String!,$u:String!){ setModerator(room:$r, username:$u, moderator:false){ role } }', { u: mod.username });
    await op(A(), owner, 'mutation($r:String!,$u:String!){ setModerator(room:$r, username:$u, moderator:true){ role } }', { u: mod.username });
    const muted = await op(B(), mod, 'mutation($r:String!,$u:String!){ muteUser(room:$r, username:$u, seconds:120){ until mutedBy { username } } }', { u: bob.username });
    expect(muted.data.muteUser.mutedBy.username).toBe(mod.username);
    const refused = await send(A(), bob, 'can I speak?');
    expect(codeOf(refused)).toBe('FORBIDDEN');
    expect(refused.errors![0]!.extensions!.until).toBe(muted.data.muteUser.until);
    expect((await op(A(), mod, 'mutation($r:String!,$u:String!){ unmuteUser(room:$r, username:$u) }', { u: bob.username })).data.unmuteUser).toBe(true);
    await op(B(), mod, 'mutation($r:String!,$u:String!){ banUser(room:$r, username:$u){ bannedAt } }', { u: bob.username });
    await op(A(), mod, 'mutation($r:String!,$u:String!){ unbanUser(room:$r, username:$u) }', { u: bob.username });

    const expected = [
      ['ROLE_CHANGED', mod.username, 'MEMBER'],
      ['ROLE_CHANGED', mod.username, 'MODERATOR'],
      ['MUTED', bob.username, null],
      ['UNMUTED', bob.username, null],
      ['BANNED', bob.username, null],
      ['UNBANNED', bob.username, null],
    ];
    const events = (await live.next(6)).map((r) => r.data.roomEvents);
    expect(events.map((e) => [e.type, e.target.username, e.role])).toEqual(expected);
    expect(events[2]!.until).toBe(muted.data.muteUser.until);
    expect(events.slice(2).every((e) => e.actor.username === mod.username && e.message === null)).toBe(true);
    // a client that reconnects with after gets the same events, in the same order
    const resumed = collect(wsClient(on.a.wsUrl, eve.accessToken), `subscription($r:String!,$a:ID){ roomEvents(room:$r, after:$a){ ${EVENT} } }`, { r: room, a: start });
    const replay = (await resumed.next(6)).map((r) => r.data.roomEvents);
    expect(replay.map((e) => [e.type, e.target.username, e.role])).toEqual(expected);
    expect(replay.map((e) => e.id)).toEqual(events.map((e) => e.id));
    resumed.dispose();
    live.dispose();
    await watcher.dispose();
  });

  it('a ban ends the banned user’s live subscriptions at once on the other instance, WebSocket and SSE, and keeps them out', async () => {
    const victim = await signUp(A(), 'vic');
    await gql(A(), 'mutation($n:String!){ joinRoom(name:$n){ name } }', { n: room }, victim.accessToken);
    const socket = wsClient(on.b.wsUrl, victim.accessToken);
    const ws = collect(socket, 'subscription($r:String!){ roomEvents(room:$r){ id type } }', { r: room });
    const sse = sseCollect(B(), victim.accessToken, 'subscription($r:String!){ messageAdded(room:$r){ id } }', { r: room });
    const online = async () => ((await op(B(), eve, 'query($r:String!){ onlineMembers(room:$r){ username } }')).data.onlineMembers as { username: string }[]).map((u) => u.username);
    await waitFor(async () => (await online()).includes(victim.username), { what: 'the victim subscribed' });
    await op(A(), mod, 'mutation($r:String!,$u:String!){ banUser(room:$r, username:$u){ bannedAt } }', { u: victim.username });
    // the BANNED event may come first (it is the room's), then the end
    await waitFor(() => ws.results.some((r) => r.errors) || ws.error !== null, { what: 'the WebSocket subscription ended' });
    expect(JSON.stringify(ws.error ?? ws.results.at(-1))).toContain('FORBIDDEN');
    expect(ws.results.filter((r) => r.data).map((r) => r.data.roomEvents.type)).toEqual(ws.results.some((r) => r.data) ? ['BANNED'] : []);
    await waitFor(() => sse.results.length > 0 || sse.error !== null || sse.completed, { what: 'the SSE subscription ended' });
    expect(JSON.stringify(sse.results[0] ?? sse.error)).toContain('FORBIDDEN');
    for (const [query, code] of [
      ['query($r:String!){ recentMessages(room:$r){ id } }', 'FORBIDDEN'],
      ['mutation($r:String!){ joinRoom(name:$r){ name } }', 'FORBIDDEN'],
      ['mutation($r:String!){ sendMessage(room:$r, text:"hello"){ id } }', 'FORBIDDEN'],
      ['mutation($r:String!){ startTyping(room:$r) }', 'FORBIDDEN'],
    ] as const) {
      expect(codeOf(await op(A(), victim, query)), query).toBe(code);
    }
    const rooms = (await gql(B(), '{ rooms { name } }', {}, victim.accessToken)).data.rooms as { name: string }[];
    expect(rooms.map((r) => r.name)).not.toContain(room);
    const again = collect(socket, 'subscription($r:String!){ roomEvents(room:$r){ id } }', { r: room });
    await waitFor(() => again.results.length > 0 || again.error !== null, { what: 'a new subscription refused' });
    expect(again.results[0]?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const bans = (await op(B(), mod, 'query($r:String!) { room(name:$r) { bans { user { username } bannedBy { username } } } }')).data.room.bans as { user: { username: string } }[];
    expect(bans.map((b) => b.user.username)).toContain(victim.username);
    const refusedList = await op(B(), eve, 'query($r:String!) { room(name:$r) { name bans { user { username } } } }');
    expect(refusedList.data.room).toEqual({ name: room, bans: null });
    expect(codeOf(refusedList)).toBe('FORBIDDEN');
    sse.dispose();
    await socket.dispose();
  });

  it('a member removed from a private room by a moderator is an event, live on the other instance and on resume', async () => {
    const club = `inner-${Date.now() % 1e8}`;
    await gql(A(), 'mutation($n:String!){ createRoom(name:$n, private:true){ name } }', { n: club }, owner.accessToken);
    for (const who of [mod, bob]) await gql(A(), 'mutation($r:String!,$u:String!){ inviteToRoom(room:$r, username:$u){ name } }', { r: club, u: who.username }, owner.accessToken);
    await gql(A(), 'mutation($r:String!,$u:String!){ setModerator(room:$r, username:$u, moderator:true){ role } }', { r: club, u: mod.username }, owner.accessToken);
    const start = (await gql(A(), 'mutation($r:String!){ sendMessage(room:$r, text:"hi"){ id } }', { r: club }, owner.accessToken)).data.sendMessage.id as string;
    const live = collect(wsClient(on.b.wsUrl, owner.accessToken), `subscription($r:String!,$a:ID){ roomEvents(room:$r, after:$a){ ${EVENT} } }`, { r: club, a: start });
    await gql(B(), 'mutation($r:String!,$u:String!){ removeFromRoom(room:$r, username:$u){ name } }', { r: club, u: bob.username }, mod.accessToken);
    const [removed] = (await live.next(1)).map((r) => r.data.roomEvents);
    expect(removed).toMatchObject({ type: 'MEMBER_REMOVED', actor: { username: mod.username }, target: { username: bob.username }, message: null });
    const resumed = collect(wsClient(on.a.wsUrl, mod.accessToken), `subscription($r:String!,$a:ID){ roomEvents(room:$r, after:$a){ ${EVENT} } }`, { r: club, a: start });
    expect((await resumed.next(1)).map((r) => r.data.roomEvents.id)).toEqual([removed.id]);
    live.dispose();
    resumed.dispose();
  });

  it('a moderator’s deletion is shown as such live and on resume, and removes the text like an author’s', async () => {
    const before = (await send(A(), eve, 'just before')).data.sendMessage.id as string;
    const spam = (await send(A(), bob, 'buy cheap watches')).data.sendMessage.id as string;
    const live = collect(wsClient(on.b.wsUrl, owner.accessToken), `subscription($r:String!,$a:ID){ roomEvents(room:$r, after:$a){ ${EVENT} } }`, { r: room, a: before });
    await live.next(1); // the message, from the log: the subscription is in place
    expect(codeOf(await op(B(), eve, 'mutation($r:String!,$id:ID!){ deleteMessage(room:$r, id:$id) }', { id: spam }))).toBe('FORBIDDEN');
    expect((await op(B(), mod, 'mutation($r:String!,$id:ID!){ deleteMessage(room:$r, id:$id) }', { id: spam })).data.deleteMessage).toBe(true);
    const [added, deleted] = (await live.next(2)).map((r) => r.data.roomEvents);
    expect(added).toMatchObject({ type: 'ADDED', messageId: spam, byModerator: false, actor: { username: bob.username } });
    expect(deleted).toMatchObject({ type: 'DELETED', messageId: spam, byModerator: true, actor: { username: mod.username }, message: null });
    const replay = collect(wsClient(on.a.wsUrl, eve.accessToken), `subscription($r:String!,$a:ID){ roomEvents(room:$r, after:$a){ ${EVENT} } }`, { r: room, a: before });
    const [only] = (await replay.next(1)).map((r) => r.data.roomEvents);
    expect(only).toMatchObject({ type: 'DELETED', messageId: spam, byModerator: true });
    expect(JSON.stringify(replay.results)).not.toContain('watches');
    const history = (await op(B(), eve, 'query($r:String!){ recentMessages(room:$r, limit:5){ id text } }')).data.recentMessages as { id: string }[];
    expect(history.map((m) => m.id)).not.toContain(spam);
    live.dispose();
    replay.dispose();
  });

  it('reactions reach the other instance with `mine` per viewer, and resume shows every reaction of the message', async () => {
    const m = (await send(A(), owner, 'pizza tonight?')).data.sendMessage.id as string;
    const sub = `subscription($r:String!,$a:ID){ roomEvents(room:$r, after:$a){ type emoji actor { username } message { reactions { emoji count mine } } } }`;
    const bobSees = collect(wsClient(on.b.wsUrl, bob.accessToken), sub, { r: room, a: m });
    const eveSees = collect(wsClient(on.b.wsUrl, eve.accessToken), sub, { r: room, a: m });
    // both in place before reacting (a resuming reader gets only the latest reaction entry of a message)
    await send(A(), owner, 'everyone here?');
    await Promise.all([bobSees.next(1), eveSees.next(1)]);
    const react = (url: string, who: Session, emoji: string, verb = 'addReaction') =>
      op(url, who, `mutation($r:String!,$m:ID!,$e:String!){ ${verb}(room:$r, messageId:$m, emoji:$e){ reactions { emoji count mine } } }`, { m, e: emoji });
    expect((await react(A(), bob, '🍕')).data.addReaction.reactions).toEqual([{ emoji: '🍕', count: 1, mine: true }]);
    await react(A(), bob, '🍕');
    await react(B(), eve, '🍕');
    await react(A(), eve, '🎉');
    expect((await react(B(), bob, '🍕', 'removeReaction')).data.removeReaction.reactions).toEqual([
      { emoji: '🍕', count: 1, mine: false },
      { emoji: '🎉', count: 1, mine: false },
    ]);
    expect(codeOf(await react(A(), bob, 'pizza'))).toBe('BAD_USER_INPUT');
    const bobEvents = (await bobSees.next(5)).slice(1).map((r) => r.data.roomEvents);
    const eveEvents = (await eveSees.next(5)).slice(1).map((r) => r.data.roomEvents);
    expect(bobEvents.map((e) => [e.type, e.emoji, e.actor.username])).toEqual([
      ['REACTION_ADDED', '🍕', bob.username],
      ['REACTION_ADDED', '🍕', eve.username],
      ['REACTION_ADDED', '🎉', eve.username],
      ['REACTION_REMOVED', '🍕', bob.username],
    ]);
    // the same events, each subscriber's own `mine`
    expect(bobEvents[1]!.message.reactions).toEqual([{ emoji: '🍕', count: 2, mine: true }]);
    expect(eveEvents[1]!.message.reactions).toEqual([{ emoji: '🍕', count: 2, mine: true }]);
    expect(eveEvents[0]!.message.reactions).toEqual([{ emoji: '🍕', count: 1, mine: false }]);
    // resumed from the message: its latest reaction event, with every reaction now
    const resumed = collect(wsClient(on.a.wsUrl, eve.accessToken), sub, { r: room, a: m });
    const [, latest] = (await resumed.next(2)).map((r) => r.data.roomEvents);
    expect(latest).toMatchObject({ type: 'REACTION_REMOVED', emoji: '🍕' });
    expect(latest.message.reactions).toEqual([
      { emoji: '🍕', count: 1, mine: true },
      { emoji: '🎉', count: 1, mine: true },
    ]);
    for (const c of [bobSees, eveSees, resumed]) c.dispose();
  });

  it('a reply quotes the first line of what it answers, live on the other instance, and shows a tombstone once that is deleted (history and resume)', async () => {
    const quoted = (await send(A(), owner, 'Standup moved to 10:00\nsee the calendar')).data.sendMessage.id as string;
    const live = collect(wsClient(on.b.wsUrl, eve.accessToken), `subscription($r:String!,$a:ID){ roomEvents(room:$r, after:$a){ ${EVENT} } }`, { r: room, a: quoted });
    const reply = await send(B(), bob, `ok @${eve.username}!`, { re: quoted });
    expect(reply.data.sendMessage.replyTo).toEqual({ id: quoted, firstLine: 'Standup moved to 10:00', deleted: false });
    const [added] = (await live.next(1)).map((r) => r.data.roomEvents);
    expect(added.message).toMatchObject({
      id: reply.data.sendMessage.id,
      replyTo: { id: quoted, deleted: false, firstLine: 'Standup moved to 10:00', author: { username: owner.username } },
      mentions: [{ username: eve.username }],
    });
    expect(codeOf(await send(B(), bob, 'to nothing', { re: '1-0' }))).toBe('NOT_FOUND');
    await op(A(), owner, 'mutation($r:String!,$id:ID!){ deleteMessage(room:$r, id:$id) }', { id: quoted });
    const [shown] = (await op(B(), eve, 'query($r:String!){ recentMessages(room:$r, limit:1){ id replyTo { id deleted firstLine author { username } } } }')).data.recentMessages;
    expect(shown).toEqual({ id: reply.data.sendMessage.id, replyTo: { id: quoted, deleted: true, firstLine: null, author: null } });
    const resumed = collect(wsClient(on.a.wsUrl, eve.accessToken), `subscription($r:String!,$a:ID){ roomEvents(room:$r, after:$a){ ${EVENT} } }`, { r: room, a: quoted });
    const [again] = (await resumed.next(1)).map((r) => r.data.roomEvents);
    expect(again.message).toMatchObject({ replyTo: { id: quoted, deleted: true, firstLine: null, author: null }, mentions: [{ username: eve.username }] });
    expect(JSON.stringify(resumed.results)).not.toContain('Standup');
    live.dispose();
    resumed.dispose();
  });

  it('a mention reaches `mentioned` on the other instance and counts in mentionCount until read', async () => {
    const client = wsClient(on.b.wsUrl, bob.accessToken);
    const told = collect(client, 'subscription { mentioned { id room text author { username } } }');
    // sent until one arrives: the subscription may take a moment to be in place
    const sent: { id: string; mentions: { username: string }[] }[] = [];
    await waitFor(
      async () => {
        if (told.results.length > 0) return true;
        sent.push((await send(A(), eve, `hey @${bob.username}, lunch?`)).data.sendMessage);
        return false;
      },
      { what: 'a mention on the other instance', intervalMs: 250 },
    );
    expect(sent[0]!.mentions).toEqual([{ username: bob.username }]);
    const got = told.results[0]!.data.mentioned;
    expect(sent.map((m) => m.id)).toContain(got.id);
    expect(got).toMatchObject({ room, text: `hey @${bob.username}, lunch?`, author: { username: eve.username } });
    const count = async () =>
      ((await gql(A(), '{ rooms { name unreadCount mentionCount } }', {}, bob.accessToken)).data.rooms as { name: string; mentionCount: number }[]).find((r) => r.name === room)!.mentionCount;
    expect(await count()).toBe(sent.length);
    await op(B(), bob, 'mutation($r:String!,$id:ID!){ markRead(room:$r, id:$id){ mentionCount } }', { id: sent.at(-1)!.id });
    expect(await count()).toBe(0);
    // one's own mention is not told
    await send(B(), bob, `note to self @${bob.username}`);
    const last = (await send(A(), eve, `@${bob.username} again`)).data.sendMessage.id;
    await waitFor(() => told.results.some((r) => r.data.mentioned.id === last), { what: 'the second mention' });
    expect(told.results.map((r) => r.data.mentioned.text)).not.toContain(`note to self @${bob.username}`);
    told.dispose();
    await client.dispose();
  });

  it('a blocked user cannot start or send direct messages to the blocker, on any instance', async () => {
    const dm = (s: string, who: Session, to: string) => gql(s, 'mutation($t:String!){ sendDirectMessage(to:$t, text:"hi"){ id } }', { t: to }, who.accessToken);
    expect((await gql(A(), 'mutation($u:String!){ blockUser(username:$u) }', { u: eve.username }, owner.accessToken)).data.blockUser).toBe(true);
    expect(codeOf(await dm(B(), eve, owner.username))).toBe('FORBIDDEN');
    expect((await dm(B(), owner, eve.username)).data.sendDirectMessage.id).toBeDefined();
    expect(codeOf(await dm(A(), eve, owner.username))).toBe('FORBIDDEN');
    expect((await gql(B(), '{ blockedUsers { username } }', {}, owner.accessToken)).data.blockedUsers).toEqual([{ username: eve.username }]);
    await gql(B(), 'mutation($u:String!){ unblockUser(username:$u) }', { u: eve.username }, owner.accessToken);
    expect((await dm(A(), eve, owner.username)).data.sendDirectMessage.id).toBeDefined();
  });

  it('ROOM_ADMINS run the default room: they name its moderators, who can then act there', async () => {
    const general = (who: Session, q: string, vars: Record<string, unknown> = {}) => gql(A(), q, { r: 'general', ...vars }, who.accessToken);
    expect((await general(admin, 'query($r:String!) { room(name:$r) { myRole } }')).data.room.myRole).toBe('ADMIN');
    expect((await general(eve, 'query($r:String!) { room(name:$r) { myRole } }')).data.room.myRole).toBeNull();
    expect(codeOf(await general(owner, 'mutation($r:String!,$u:String!){ setModerator(room:$r, username:$u, moderator:true){ role } }', { u: eve.username }))).toBe('FORBIDDEN');
    expect((await general(admin, 'mutation($r:String!,$u:String!){ setModerator(room:$r, username:$u, moderator:true){ role } }', { u: eve.username })).data.setModerator.role).toBe('MODERATOR');
    const mods = (await gql(B(), '{ room(name:"general") { moderators { user { username } role } } }', {}, bob.accessToken)).data.room.moderators;
    expect(mods).toEqual([
      { user: { username: admin.username }, role: 'ADMIN' },
      { user: { username: eve.username }, role: 'MODERATOR' },
    ]);
    expect((await gql(B(), 'mutation($u:String!){ muteUser(room:"general", username:$u, seconds:30){ until } }', { u: bob.username }, eve.accessToken)).data.muteUser.until).toBeDefined();
    expect(codeOf(await gql(A(), 'mutation { sendMessage(room:"general", text:"hm"){ id } }', {}, bob.accessToken))).toBe('FORBIDDEN');
  });
});
