// The generated typed client (client/) from Node against real servers.
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createChatClient,
  deleteMessageMutation,
  editMessageMutation,
  joinRoomMutation,
  markReadMutation,
  meQuery,
  messageAddedSubscription,
  onlineMembersQuery,
  presenceChangedSubscription,
  recentMessagesQuery,
  roomEventsSubscription,
  roomsQuery,
  sendMessageMutation,
  startTypingMutation,
  typingSubscription,
  createRoomMutation,
  signIn,
  type ChatClient,
  type ChatSession,
  type MessageAddedSubscription,
  type PresenceChangedSubscription,
  type RoomEventsSubscription,
  type TypingSubscription,
} from '../client/index.js';
import { signUp, type Session } from './support/client.js';
import { waitFor } from './support/net.js';
import { startDeployment, type Deployment } from './support/deployment.js';
import { startServer, type RunningServer, type ServerProcess } from './support/server.js';

type Message = MessageAddedSubscription['messageAdded'];
type RoomEvent = RoomEventsSubscription['roomEvents'];

const fastRetry = () => new Promise<void>((resolve) => setTimeout(resolve, 100));

/** A signed-in client for `user` (logs in with its password) that the test disposes afterwards. */
function clientFor(server: { httpUrl: string; wsUrl: string }, user: Session, extra: Partial<Parameters<typeof createChatClient>[0]> = {}) {
  const client = createChatClient({
    httpUrl: server.httpUrl,
    wsUrl: server.wsUrl,
    credentials: { username: user.username, password: user.password },
    webSocketImpl: WebSocket,
    retryWait: fastRetry,
    ...extra,
  });
  open.push(client);
  return client;
}
const open: ChatClient[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.dispose()));
});

/** Subscribes to a room with the typed document and collects what arrives. */
function watch(client: ChatClient, room: string, after?: string) {
  const messages: Message[] = [];
  const errors: unknown[] = [];
  const stop = client.subscribe(messageAddedSubscription, { room, after }, {
    next: (data) => messages.push(data.messageAdded),
    error: (err) => errors.push(err),
  });
  return {
    messages,
    errors,
    stop,
    texts: () => messages.map((m) => m.text),
    until: (n: number, what = `${n} messages`) => waitFor(() => messages.length >= n || errors.length > 0, { timeoutMs: 15_000, what }).then(() => {
      if (errors.length) throw errors[0];
    }),
  };
}

/**
 * Resolves once the subscription delivers (a probe message arrives). The subscription must start
 * from the room's newest message (`after`): a subscription without it delivers only what is sent
 * once the server has it, and the probe may be sent before that.
 */
async function subscribed(sender: ChatClient, sub: ReturnType<typeof watch>, room: string) {
  const before = sub.messages.length;
  await sender.request(sendMessageMutation, { room, text: `probe ${before}` });
  await sub.until(before + 1, 'the probe message');
}

describe('the typed client against one server', () => {
  let server: RunningServer;
  let alice: Session;
  let bob: Session;
  beforeAll(async () => {
    server = await startServer({ MESSAGE_RATE_LIMIT: '0' });
    alice = await signUp(server.httpUrl, 'alice');
    bob = await signUp(server.httpUrl, 'bob');
  });
  afterAll(() => server.stop());

  it('logs in with credentials and runs typed queries and mutations over HTTP', async () => {
    const sessions: (ChatSession | undefined)[] = [];
    const client = clientFor(server, alice, { onSession: (s) => sessions.push(s) });
    const { me } = await client.request(meQuery);
    expect(me.username).toBe(alice.username);
    expect(sessions).toHaveLength(1);
    expect(client.session()?.user.username).toBe(alice.username);

    const room = `typed-${Date.now()}`;
    const { createRoom } = await client.request(createRoomMutation, { name: room });
    expect(createRoom).toEqual({ name: room, private: false });
    const { rooms } = await client.request(roomsQuery);
    expect(rooms.map((r) => r.name)).toEqual(expect.arrayContaining(['general', room]));

    const { sendMessage } = await client.request(sendMessageMutation, { room, text: 'typed hello' });
    expect(sendMessage).toMatchObject({ room, text: 'typed hello', mine: true, author: { username: alice.username } });
    const { recentMessages } = await client.request(recentMessagesQuery, { room });
    expect(recentMessages.map((m) => m.id)).toEqual([sendMessage.id]);
  });

  it('rejects a wrong password with UNAUTHENTICATED', async () => {
    const client = clientFor(server, { ...alice, password: 'not the password' });
    await expect(client.request(meQuery)).rejects.toMatchObject({ name: 'ChatApiError', code: 'UNAUTHENTICATED' });
  });

  it('delivers typed messageAdded events over graphql-ws', async () => {
    const reader = clientFor(server, bob);
    const writer = clientFor(server, alice);
    const room = 'general';
    const newest = (await writer.request(recentMessagesQuery, { room, limit: 1 })).recentMessages.at(-1)?.id ?? '0-0';
    const sub = watch(reader, room, newest);
    await subscribed(writer, sub, room);
    const { sendMessage } = await writer.request(sendMessageMutation, { room, text: 'live one' });
    await sub.until(2);
    expect(sub.messages[1]).toEqual({ ...sendMessage, mine: false });
  });

  it('starts a subscription from `after`: history newer than it, then live messages', async () => {
    const writer = clientFor(server, alice);
    const room = `after-${Date.now()}`;
    await writer.request(createRoomMutation, { name: room });
    const sent = [];
    for (const text of ['one', 'two', 'three']) sent.push((await writer.request(sendMessageMutation, { room, text })).sendMessage);
    const sub = watch(clientFor(server, bob), room, sent[0]!.id);
    await sub.until(2);
    await writer.request(sendMessageMutation, { room, text: 'four' });
    await sub.until(3);
    expect(sub.texts()).toEqual(['two', 'three', 'four']);
  });

  it('types the operations beyond messages: unread counts, markRead, edits, deletions, roomEvents, presence and typing', async () => {
    const writer = clientFor(server, alice);
    const reader = clientFor(server, bob);
    const room = `activity-${Date.now()}`;
    await writer.request(createRoomMutation, { name: room });
    await reader.request(joinRoomMutation, { name: room });
    const first = (await writer.request(sendMessageMutation, { room, text: 'first' })).sendMessage;
    const second = (await writer.request(sendMessageMutation, { room, text: 'second' })).sendMessage;
    const unreadOf = async () => (await reader.request(roomsQuery)).rooms.find((r) => r.name === room)?.unreadCount;
    expect(await unreadOf()).toBe(2);
    const { markRead } = await reader.request(markReadMutation, { room, id: first.id });
    expect(markRead).toEqual({ name: room, unreadCount: 1, lastReadId: first.id });
    expect(await unreadOf()).toBe(1);

    // who comes online: alice watches presence, bob opens roomEvents (from the first message)
    const presence: PresenceChangedSubscription['presenceChanged'][] = [];
    writer.subscribe(presenceChangedSubscription, { room }, { next: (d) => presence.push(d.presenceChanged) });
    const events: RoomEvent[] = [];
    const errors: unknown[] = [];
    let stopEvents = () => {};
    await waitFor(
      () => {
        if (presence.some((p) => p.user.username === bob.username && p.online)) return true;
        // the presence subscription may start after bob's: open his again until alice sees it
        stopEvents();
        events.length = 0;
        stopEvents = reader.subscribe(roomEventsSubscription, { room, after: first.id }, { next: (d) => events.push(d.roomEvents), error: (e) => errors.push(e) });
        return false;
      },
      { intervalMs: 500, what: 'presenceChanged: bob online' },
    );
    expect((await writer.request(onlineMembersQuery, { room })).onlineMembers.map((u) => u.username)).toContain(bob.username);
    await waitFor(() => events.length >= 1, { what: 'the ADDED event of the second message' });

    const { editMessage } = await writer.request(editMessageMutation, { room, id: second.id, text: 'second, edited' });
    expect(editMessage).toMatchObject({ id: second.id, text: 'second, edited', mine: true });
    expect(editMessage.editedAt).toEqual(expect.any(String));
    await expect(reader.request(editMessageMutation, { room, id: second.id, text: 'not mine' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await writer.request(deleteMessageMutation, { room, id: first.id })).deleteMessage).toBe(true);
    await waitFor(() => events.length >= 3 || errors.length > 0, { what: 'the EDITED and DELETED events' });
    expect(errors).toEqual([]);
    expect(events.map((e) => [e.type, e.messageId, e.message?.text ?? null])).toEqual([
      ['ADDED', second.id, 'second'],
      ['EDITED', second.id, 'second, edited'],
      ['DELETED', first.id, null],
    ]);
    expect(events[1]!.message).toMatchObject({ editedAt: editMessage.editedAt, mine: false, author: { username: alice.username } });
    const ids = events.map((e) => e.id);
    expect([...ids].sort(compareIds)).toEqual(ids);
    stopEvents();

    // typing: bob's signal reaches alice, never bob himself (signals are not stored: send until one arrives)
    const typing: TypingSubscription['typing'][] = [];
    writer.subscribe(typingSubscription, { room }, { next: (d) => typing.push(d.typing) });
    await waitFor(
      async () => {
        if (typing.length) return true;
        expect((await reader.request(startTypingMutation, { room })).startTyping).toBe(true);
        return false;
      },
      { intervalMs: 300, what: 'the typing event' },
    );
    expect(typing[0]).toMatchObject({ room, user: { username: bob.username } });
    expect(Date.parse(typing[0]!.expiresAt)).toBeGreaterThan(Date.now());
  });
});

const compareIds = (a: string, b: string) => {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am! - bm! || as! - bs!;
};

describe('token refresh across a forced expiry (ACCESS_TOKEN_TTL=2)', () => {
  let server: RunningServer;
  let alice: Session;
  let bob: Session;
  beforeAll(async () => {
    server = await startServer({ ACCESS_TOKEN_TTL: '2', MESSAGE_RATE_LIMIT: '0' });
    alice = await signUp(server.httpUrl, 'alice');
    bob = await signUp(server.httpUrl, 'bob');
  });
  afterAll(() => server.stop());

  it('the server closes the socket with 4403 at expiry; the client refreshes, reconnects and resumes with nothing lost', async () => {
    const closes: number[] = [];
    let reconnects = 0;
    const sessions: ChatSession[] = [];
    // signed in from a session (no credentials): only the refresh token keeps it going
    const reader = createChatClient({
      httpUrl: server.httpUrl,
      wsUrl: server.wsUrl,
      session: await signIn(server.httpUrl, { username: bob.username, password: bob.password }),
      webSocketImpl: WebSocket,
      retryWait: fastRetry,
      onSession: (s) => s && sessions.push(s),
      wsOptions: { on: { closed: (e) => closes.push((e as { code: number }).code), connected: (_s, _p, wasRetry) => void (wasRetry && reconnects++) } },
    });
    open.push(reader);
    const writer = clientFor(server, alice);
    const room = `expiry-${Date.now()}`;
    await writer.request(createRoomMutation, { name: room });

    const sub = watch(reader, room, '0-0'); // a new room: from its first message
    await subscribed(writer, sub, room);
    // keep sending while the token expires and the socket is closed and reopened
    let n = 0;
    while (!(closes.includes(4403) && reconnects > 0)) {
      await writer.request(sendMessageMutation, { room, text: `m${n++}` });
      await new Promise((r) => setTimeout(r, 100));
      if (n > 100) throw new Error(`no 4403 close and reconnect after ${n} sends; closes=${closes}`);
    }
    await writer.request(sendMessageMutation, { room, text: 'after the refresh' });
    await sub.until(n + 2, 'every message sent across the expiry');

    expect(closes).toContain(4403);
    expect(sub.texts()).toEqual(['probe 0', ...Array.from({ length: n }, (_, i) => `m${i}`), 'after the refresh']);
    expect(new Set(sub.messages.map((m) => m.id)).size).toBe(sub.messages.length);
    // a new pair: the rotated refresh token replaced the first one
    expect(sessions.length).toBeGreaterThan(1);
    expect(reader.session()!.refreshToken).not.toBe(sessions[0]!.refreshToken);
    // HTTP requests refresh too: the token of the first session has long expired
    expect((await reader.request(meQuery)).me.username).toBe(bob.username);
  });

  it('a subscription started without `after` and resubscribed before its first message (expiry) misses nothing sent in between', async () => {
    const closes: number[] = [];
    let reconnects = 0;
    const reader = clientFor(server, bob, {
      wsOptions: { on: { closed: (e) => closes.push((e as { code: number }).code), connected: (_s, _p, wasRetry) => void (wasRetry && reconnects++) } },
    });
    const writer = clientFor(server, alice);
    const room = `no-cursor-${Date.now()}`;
    await writer.request(createRoomMutation, { name: room });
    const sub = watch(reader, room);
    await waitFor(async () => /^chat_active_subscriptions [1-9]/m.test(await (await fetch(`${server.url}/metrics`)).text()), { what: 'the subscription on the server' });
    // nothing arrives before the token expires: the resubscription has no id to resume from
    await waitFor(() => closes.includes(4403), { timeoutMs: 10_000, what: 'the 4403 close at expiry' });
    await writer.request(sendMessageMutation, { room, text: 'sent while the socket reconnects' });
    await waitFor(() => reconnects > 0, { what: 'the reconnect' });
    await writer.request(sendMessageMutation, { room, text: 'sent after' });
    await sub.until(2);
    expect(sub.texts()).toEqual(['sent while the socket reconnects', 'sent after']);
  });

  it('resumes roomEvents across the expiry too: every event (added, edited, deleted) once, in order', async () => {
    const closes: number[] = [];
    let reconnects = 0;
    const reader = clientFor(server, bob, {
      wsOptions: { on: { closed: (e) => closes.push((e as { code: number }).code), connected: (_s, _p, wasRetry) => void (wasRetry && reconnects++) } },
    });
    const writer = clientFor(server, alice);
    const room = `events-${Date.now()}`;
    await writer.request(createRoomMutation, { name: room });
    const start = (await writer.request(sendMessageMutation, { room, text: 'start' })).sendMessage;

    const events: RoomEvent[] = [];
    const errors: unknown[] = [];
    reader.subscribe(roomEventsSubscription, { room, after: start.id }, { next: (d) => events.push(d.roomEvents), error: (e) => errors.push(e) });
    const expected: [string, string][] = [];
    const send = async (text: string) => {
      const { sendMessage } = await writer.request(sendMessageMutation, { room, text });
      expected.push(['ADDED', sendMessage.id]);
      return sendMessage;
    };
    await send('probe');
    await waitFor(() => events.length === 1, { what: 'the probe event' });
    // send, edit and delete while the token expires and the socket is closed and reopened
    let n = 0;
    while (!(closes.includes(4403) && reconnects > 0)) {
      const m = await send(`m${n}`);
      if (n % 3 === 1) {
        await writer.request(editMessageMutation, { room, id: m.id, text: `m${n} edited` });
        expected.push(['EDITED', m.id]);
      } else if (n % 3 === 2) {
        await writer.request(deleteMessageMutation, { room, id: m.id });
        expected.push(['DELETED', m.id]);
      }
      n++;
      await new Promise((r) => setTimeout(r, 100));
      if (n > 100) throw new Error(`no 4403 close and reconnect after ${n} sends; closes=${closes}`);
    }
    const last = await send('after the refresh');
    await waitFor(() => events.some((e) => e.messageId === last.id) || errors.length > 0, { timeoutMs: 15_000, what: 'every event sent across the expiry' });

    expect(errors).toEqual([]);
    expect(closes).toContain(4403);
    // redaction: a message deleted before the resumed replay read it shows only its DELETED event
    const got = events.map((e) => `${e.type} ${e.messageId}`);
    const deleted = new Set(expected.filter(([type]) => type === 'DELETED').map(([, id]) => id));
    const missing = expected.filter(([type, id]) => !got.includes(`${type} ${id}`));
    for (const [type, id] of missing) expect(type === 'ADDED' && deleted.has(id), `${type} ${id} missing`).toBe(true);
    expect(got).toEqual(expected.filter((e) => !missing.includes(e)).map(([type, id]) => `${type} ${id}`));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it('refreshes a token that is near expiry before an HTTP request, once for concurrent requests', async () => {
    const sessions: ChatSession[] = [];
    const client = clientFor(server, alice, { onSession: (s) => s && sessions.push(s) });
    await client.request(meQuery);
    const first = client.session()!;
    await waitFor(() => Date.now() > Date.parse(first.accessTokenExpiresAt), { timeoutMs: 5000, what: 'the access token to expire' });
    const results = await Promise.all([client.request(meQuery), client.request(roomsQuery), client.request(meQuery)]);
    expect(results[0].me.username).toBe(alice.username);
    // login, then one refresh shared by the three requests (a second would present a spent token and revoke the login)
    expect(sessions).toHaveLength(2);
    expect(client.session()!.refreshToken).not.toBe(first.refreshToken);
  });
});

describe('resume after a server restart (Redis, real processes)', () => {
  let deployment: Deployment | undefined;
  afterAll(() => deployment?.stop());

  it('a subscriber on the restarted instance gets every message sent while it was down, then live ones, no gap, no duplicate', async () => {
    deployment = await startDeployment({ env: { MESSAGE_RATE_LIMIT: '0', SHUTDOWN_TIMEOUT: '5' } });
    const [first, other] = deployment.servers as [ServerProcess, ServerProcess];
    const alice = await signUp(other.httpUrl, 'alice');
    const bob = await signUp(other.httpUrl, 'bob');

    const closes: number[] = [];
    const reader = clientFor(first, bob, { wsOptions: { on: { closed: (e) => closes.push((e as { code: number }).code) } } });
    const writer = clientFor(other, alice);
    const room = `restart-${Date.now()}`;
    await writer.request(createRoomMutation, { name: room });

    const sub = watch(reader, room, '0-0'); // a new room: from its first message
    await subscribed(writer, sub, room);
    await writer.request(sendMessageMutation, { room, text: 'before' });
    await sub.until(2);

    expect(await first.stop()).toBe(0); // SIGTERM: drains, closes the socket with 1001
    expect(closes).toContain(1001);
    for (const text of ['while down 1', 'while down 2', 'while down 3']) await writer.request(sendMessageMutation, { room, text });

    await deployment.add({ PORT: String(first.port) });
    await sub.until(5, 'the messages sent while the server was down');
    await writer.request(sendMessageMutation, { room, text: 'after' });
    await sub.until(6);

    expect(sub.texts()).toEqual(['probe 0', 'before', 'while down 1', 'while down 2', 'while down 3', 'after']);
    const ids = sub.messages.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(sub.errors).toEqual([]);
  }, 90_000);
});
