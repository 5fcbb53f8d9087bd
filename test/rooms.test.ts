import { beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../src/resolvers/context.js';
import { recentMessages, sendDirectMessage, sendMessage } from '../src/resolvers/messages.js';
import { createRoom, ensureDefaultRooms, inviteToRoom, joinRoom, rooms } from '../src/resolvers/rooms.js';
import { messageAdded } from '../src/resolvers/subscriptions.js';
import { expectCode, newUser, type TestUser } from './support/rules.js';
import { memoryServices } from './support/services.js';

let services: Services;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

beforeEach(async () => {
  services = memoryServices();
  await ensureDefaultRooms(services);
  alice = await newUser(services, 'alice');
  bob = await newUser(services, 'bob');
  carol = await newUser(services, 'carol');
});

/** The rooms `user` sees, as sorted `name` or `name (private)` (the contract promises no order). */
const names = async (user: TestUser) => (await rooms(user.ctx)).map((r) => `${r.name}${r.private ? ' (private)' : ''}`).sort();

describe('default rooms', () => {
  it('`general` exists after ensureDefaultRooms, public, listed for everyone', async () => {
    expect(await services.store.findRoom('general')).toMatchObject({ name: 'general', private: false });
    expect(await names(alice)).toEqual(['general']);
  });

  it('ensureDefaultRooms is idempotent and keeps existing history', async () => {
    await sendMessage(alice.ctx, { room: 'general', text: 'hello' });
    await ensureDefaultRooms(services);
    expect(await names(bob)).toEqual(['general']);
    await expect(recentMessages(bob.ctx, { room: 'general' })).resolves.toMatchObject([{ text: 'hello' }]);
  });
});

describe('createRoom', () => {
  it('makes a public room that lists for everyone; its creator is a member', async () => {
    const room = await createRoom(alice.ctx, { name: 'lounge' });
    expect(room).toMatchObject({ name: 'lounge', private: false });
    expect(await services.store.isMember('lounge', alice.id)).toBe(true);
    expect(await names(bob)).toEqual(['general', 'lounge']);
  });

  it('lower-cases the name', async () => {
    await expect(createRoom(alice.ctx, { name: 'LoUnGe' })).resolves.toMatchObject({ name: 'lounge' });
    await expectCode(createRoom(bob.ctx, { name: 'lounge' }), 'CONFLICT');
  });

  it('a taken name is CONFLICT, also `general` and a name differing only in case', async () => {
    await createRoom(alice.ctx, { name: 'lounge', private: true });
    await expectCode(createRoom(bob.ctx, { name: 'lounge' }), 'CONFLICT');
    await expectCode(createRoom(alice.ctx, { name: 'LOUNGE' }), 'CONFLICT');
    await expectCode(createRoom(bob.ctx, { name: 'general' }), 'CONFLICT');
    await expectCode(createRoom(bob.ctx, { name: 'General' }), 'CONFLICT');
    // the taken room is unchanged: still private, bob did not become a member
    expect(await services.store.findRoom('lounge')).toMatchObject({ private: true, createdBy: alice.id });
    expect(await services.store.isMember('lounge', bob.id)).toBe(false);
  });

  it('a private room’s creator can read, post and subscribe', async () => {
    await createRoom(alice.ctx, { name: 'secret', private: true });
    const sub = await messageAdded(alice.ctx, { room: 'secret' });
    const sent = await sendMessage(alice.ctx, { room: 'secret', text: 'hi' });
    await expect(sub.next()).resolves.toEqual({ done: false, value: sent });
    await expect(recentMessages(alice.ctx, { room: 'secret' })).resolves.toEqual([sent]);
    await sub.return?.();
  });
});

describe('rooms', () => {
  it('lists public rooms and the private rooms the viewer belongs to (direct conversations with private: true), not others’ private rooms', async () => {
    await createRoom(alice.ctx, { name: 'alice-only', private: true });
    await createRoom(bob.ctx, { name: 'bob-only', private: true });
    await createRoom(carol.ctx, { name: 'open' });
    await sendDirectMessage(alice.ctx, { to: 'bob', text: 'hi' });

    expect(await names(alice)).toEqual(['alice-only (private)', 'dm:alice:bob (private)', 'general', 'open']);
    expect(await names(bob)).toEqual(['bob-only (private)', 'dm:alice:bob (private)', 'general', 'open']);
    expect(await names(carol)).toEqual(['general', 'open']);
  });

  it('lists a private room once the viewer is invited, each room once', async () => {
    await createRoom(alice.ctx, { name: 'secret', private: true });
    await joinRoom(bob.ctx, { name: 'general' });
    await inviteToRoom(alice.ctx, { room: 'secret', username: 'bob' });
    expect(await names(bob)).toEqual(['general', 'secret (private)']);
  });
});

describe('joinRoom', () => {
  it('joins a public room and is idempotent (twice, and `general`)', async () => {
    await createRoom(alice.ctx, { name: 'lounge' });
    await expect(joinRoom(bob.ctx, { name: 'lounge' })).resolves.toMatchObject({ name: 'lounge', private: false });
    await expect(joinRoom(bob.ctx, { name: 'Lounge' })).resolves.toMatchObject({ name: 'lounge', private: false });
    expect(await services.store.isMember('lounge', bob.id)).toBe(true);
    await expect(joinRoom(bob.ctx, { name: 'general' })).resolves.toMatchObject({ name: 'general', private: false });
    await expect(joinRoom(bob.ctx, { name: 'general' })).resolves.toMatchObject({ name: 'general', private: false });
    expect(await services.store.roomsOf(bob.id, { limit: 200 })).toHaveLength(2);
    expect(await names(bob)).toEqual(['general', 'lounge']);
  });

  it('an unknown room is NOT_FOUND (and is not created)', async () => {
    await expectCode(joinRoom(bob.ctx, { name: 'nowhere' }), 'NOT_FOUND');
    expect(await services.store.findRoom('nowhere')).toBeNull();
  });

  it('a private room is FORBIDDEN to a non-member, who does not become one', async () => {
    await createRoom(alice.ctx, { name: 'secret', private: true });
    await expectCode(joinRoom(bob.ctx, { name: 'secret' }), 'FORBIDDEN');
    expect(await services.store.isMember('secret', bob.id)).toBe(false);
    expect(await names(bob)).toEqual(['general']);
  });

  it('a member may join a private room (idempotent)', async () => {
    await createRoom(alice.ctx, { name: 'secret', private: true });
    await expect(joinRoom(alice.ctx, { name: 'secret' })).resolves.toMatchObject({ name: 'secret', private: true });
  });
});

describe('inviteToRoom', () => {
  beforeEach(async () => {
    await createRoom(alice.ctx, { name: 'secret', private: true });
  });

  it('by a member adds the invitee, who can then read, post and subscribe', async () => {
    await expectCode(recentMessages(bob.ctx, { room: 'secret' }), 'FORBIDDEN');
    await expect(inviteToRoom(alice.ctx, { room: 'secret', username: 'Bob' })).resolves.toMatchObject({ name: 'secret', private: true });
    expect(await services.store.isMember('secret', bob.id)).toBe(true);

    const sub = await messageAdded(bob.ctx, { room: 'secret' });
    const fromAlice = await sendMessage(alice.ctx, { room: 'secret', text: 'welcome' });
    const fromBob = await sendMessage(bob.ctx, { room: 'secret', text: 'thanks' });
    await expect(sub.next()).resolves.toEqual({ done: false, value: fromAlice });
    await expect(sub.next()).resolves.toEqual({ done: false, value: fromBob });
    await expect(recentMessages(bob.ctx, { room: 'secret' })).resolves.toEqual([fromAlice, fromBob]);
    await sub.return?.();
  });

  it('an invited member may invite others', async () => {
    await inviteToRoom(alice.ctx, { room: 'secret', username: 'bob' });
    await inviteToRoom(bob.ctx, { room: 'secret', username: 'carol' });
    await expect(recentMessages(carol.ctx, { room: 'secret' })).resolves.toEqual([]);
  });

  it('is idempotent', async () => {
    await inviteToRoom(alice.ctx, { room: 'secret', username: 'bob' });
    await expect(inviteToRoom(alice.ctx, { room: 'secret', username: 'bob' })).resolves.toMatchObject({ name: 'secret' });
    await expect(inviteToRoom(alice.ctx, { room: 'secret', username: 'alice' })).resolves.toMatchObject({ name: 'secret' });
    expect(await names(bob)).toEqual(['general', 'secret (private)']);
  });

  it('by a non-member is FORBIDDEN and adds no one', async () => {
    await expectCode(inviteToRoom(bob.ctx, { room: 'secret', username: 'carol' }), 'FORBIDDEN');
    await expectCode(inviteToRoom(bob.ctx, { room: 'secret', username: 'bob' }), 'FORBIDDEN');
    expect(await services.store.isMember('secret', carol.id)).toBe(false);
    expect(await services.store.isMember('secret', bob.id)).toBe(false);
  });

  it('an unknown user is NOT_FOUND; an unknown room is NOT_FOUND', async () => {
    await expectCode(inviteToRoom(alice.ctx, { room: 'secret', username: 'nobody' }), 'NOT_FOUND');
    await expectCode(inviteToRoom(alice.ctx, { room: 'nowhere', username: 'bob' }), 'NOT_FOUND');
  });

  it('into a direct conversation is BAD_USER_INPUT (and FORBIDDEN to outsiders)', async () => {
    await sendDirectMessage(alice.ctx, { to: 'bob', text: 'hi' });
    await expectCode(inviteToRoom(alice.ctx, { room: 'dm:alice:bob', username: 'carol' }), 'BAD_USER_INPUT');
    await expectCode(inviteToRoom(carol.ctx, { room: 'dm:alice:bob', username: 'carol' }), 'FORBIDDEN');
    expect(await services.store.isMember('dm:alice:bob', carol.id)).toBe(false);
  });
});

describe('private rooms', () => {
  beforeEach(async () => {
    await createRoom(alice.ctx, { name: 'secret', private: true });
    await sendMessage(alice.ctx, { room: 'secret', text: 'for members only' });
  });

  it('a non-member gets FORBIDDEN from recentMessages, sendMessage and messageAdded', async () => {
    await expectCode(recentMessages(bob.ctx, { room: 'secret' }), 'FORBIDDEN');
    await expectCode(recentMessages(bob.ctx, { room: 'secret', before: '99999999999999-0' }), 'FORBIDDEN');
    await expectCode(sendMessage(bob.ctx, { room: 'secret', text: 'let me in' }), 'FORBIDDEN');
    await expectCode(messageAdded(bob.ctx, { room: 'secret' }), 'FORBIDDEN');
    await expectCode(messageAdded(bob.ctx, { room: 'secret', after: '0-0' }), 'FORBIDDEN');
    await expect(recentMessages(alice.ctx, { room: 'secret' })).resolves.toMatchObject([{ text: 'for members only' }]);
  });
});

describe('public rooms', () => {
  it('any signed-in user may read, subscribe to and post in them without joining', async () => {
    await createRoom(alice.ctx, { name: 'lounge' });
    const sub = await messageAdded(bob.ctx, { room: 'lounge' });
    const sent = await sendMessage(bob.ctx, { room: 'lounge', text: 'hello' });
    await expect(sub.next()).resolves.toEqual({ done: false, value: sent });
    await expect(recentMessages(carol.ctx, { room: 'lounge' })).resolves.toEqual([sent]);
    expect(await services.store.isMember('lounge', bob.id)).toBe(false);
    await sub.return?.();
  });

  it('an unknown room is NOT_FOUND for recentMessages, sendMessage and messageAdded', async () => {
    await expectCode(recentMessages(bob.ctx, { room: 'nowhere' }), 'NOT_FOUND');
    await expectCode(sendMessage(bob.ctx, { room: 'nowhere', text: 'hi' }), 'NOT_FOUND');
    await expectCode(messageAdded(bob.ctx, { room: 'nowhere' }), 'NOT_FOUND');
  });
});

describe('direct conversations', () => {
  it('sendDirectMessage creates dm:<a>:<b> with the usernames sorted, private, with both as members', async () => {
    const fromCarol = await sendDirectMessage(carol.ctx, { to: 'Alice', text: 'hi alice' });
    expect(fromCarol).toMatchObject({ room: 'dm:alice:carol', text: 'hi alice', authorId: carol.id, authorName: 'carol' });
    const fromAlice = await sendDirectMessage(alice.ctx, { to: 'carol', text: 'hi carol' });
    expect(fromAlice.room).toBe('dm:alice:carol');
    expect(await services.store.findRoom('dm:alice:carol')).toMatchObject({ private: true });
    expect(await services.store.isMember('dm:alice:carol', alice.id)).toBe(true);
    expect(await services.store.isMember('dm:alice:carol', carol.id)).toBe(true);
    await expect(recentMessages(alice.ctx, { room: 'dm:alice:carol' })).resolves.toEqual([fromCarol, fromAlice]);
  });

  it('a member may also post with sendMessage into dm:<a>:<b>', async () => {
    await sendDirectMessage(alice.ctx, { to: 'bob', text: 'first' });
    const reply = await sendMessage(bob.ctx, { room: 'dm:alice:bob', text: 'reply' });
    expect(reply.room).toBe('dm:alice:bob');
    await expect(recentMessages(alice.ctx, { room: 'dm:alice:bob' })).resolves.toMatchObject([{ text: 'first' }, { text: 'reply' }]);
  });

  it('to oneself is BAD_USER_INPUT (in any case)', async () => {
    await expectCode(sendDirectMessage(alice.ctx, { to: 'alice', text: 'note to self' }), 'BAD_USER_INPUT');
    await expectCode(sendDirectMessage(alice.ctx, { to: 'ALICE', text: 'note to self' }), 'BAD_USER_INPUT');
    await expectCode(sendMessage(alice.ctx, { room: 'dm:alice:alice', text: 'note to self' }), 'BAD_USER_INPUT');
    expect(await services.store.findRoom('dm:alice:alice')).toBeNull();
  });

  it('to an unknown user is NOT_FOUND', async () => {
    await expectCode(sendDirectMessage(alice.ctx, { to: 'nobody', text: 'hi' }), 'NOT_FOUND');
    expect(await services.store.findRoom('dm:alice:nobody')).toBeNull();
  });

  it('a third user gets FORBIDDEN on the dm room (read, post, subscribe, join)', async () => {
    await sendDirectMessage(alice.ctx, { to: 'bob', text: 'private' });
    await expectCode(recentMessages(carol.ctx, { room: 'dm:alice:bob' }), 'FORBIDDEN');
    await expectCode(sendMessage(carol.ctx, { room: 'dm:alice:bob', text: 'hi' }), 'FORBIDDEN');
    await expectCode(messageAdded(carol.ctx, { room: 'dm:alice:bob' }), 'FORBIDDEN');
    await expectCode(joinRoom(carol.ctx, { name: 'dm:alice:bob' }), 'FORBIDDEN');
    expect(await services.store.isMember('dm:alice:bob', carol.id)).toBe(false);
  });

  it('a dm name with the usernames unsorted is BAD_USER_INPUT', async () => {
    await sendDirectMessage(alice.ctx, { to: 'bob', text: 'hi' });
    await expectCode(recentMessages(alice.ctx, { room: 'dm:bob:alice' }), 'BAD_USER_INPUT');
  });

  it('a dm cannot be created by name: createRoom refuses dm:… names', async () => {
    await expectCode(createRoom(carol.ctx, { name: 'dm:alice:bob' }), 'BAD_USER_INPUT');
    expect(await services.store.findRoom('dm:alice:bob')).toBeNull();
  });
});
