// The rules of roles, moderation, reactions, replies, mentions and blocking, called as resolvers on
// the memory engine (no HTTP): who may do what, and what everyone else gets.
import { beforeEach, describe, expect, it } from 'vitest';
import { startTyping } from '../src/resolvers/activity.js';
import { blockedUsers, blockUser, unblockUser } from '../src/resolvers/blocks.js';
import type { Services } from '../src/resolvers/context.js';
import { bans, members, moderators, mutes, myRole } from '../src/resolvers/members.js';
import { deleteMessage, editMessage, recentMessages, sendDirectMessage, sendMessage } from '../src/resolvers/messages.js';
import { banUser, muteUser, removeFromRoom, setModerator, transferOwnership, unbanUser, unmuteUser } from '../src/resolvers/moderation.js';
import { addReaction, removeReaction } from '../src/resolvers/reactions.js';
import { createRoom, ensureDefaultRooms, inviteToRoom, joinRoom, leaveRoom, rooms } from '../src/resolvers/rooms.js';
import { directMessageAdded, mentioned, messageAdded, presenceChanged, roomEvents, typing } from '../src/resolvers/subscriptions.js';
import { readMark } from '../src/resolvers/activity.js';
import type { RoomRecord } from '../src/store/types.js';
import { expectCode, newUser, type TestUser } from './support/rules.js';
import { memoryServices } from './support/services.js';

let services: Services;
let owner: TestUser;
let mod: TestUser;
let bob: TestUser;
let eve: TestUser;
let admin: TestUser;
let lounge: RoomRecord;
let secret: RoomRecord;

beforeEach(async () => {
  services = memoryServices({ roomAdmins: ['root'], reactionsPerMessage: 3, mentionsPerMessage: 3 });
  await ensureDefaultRooms(services);
  [owner, mod, bob, eve, admin] = (await Promise.all(['owner', 'mod', 'bob', 'eve', 'root'].map((n) => newUser(services, n)))) as [TestUser, TestUser, TestUser, TestUser, TestUser];
  lounge = await createRoom(owner.ctx, { name: 'lounge' });
  secret = await createRoom(owner.ctx, { name: 'secret', private: true });
  await inviteToRoom(owner.ctx, { room: 'secret', username: 'mod' });
  await inviteToRoom(owner.ctx, { room: 'secret', username: 'bob' });
  await joinRoom(bob.ctx, { name: 'lounge' });
  await setModerator(owner.ctx, { room: 'lounge', username: 'mod', moderator: true });
  await setModerator(owner.ctx, { room: 'secret', username: 'mod', moderator: true });
});

const general = () => services.store.findRoom('general') as Promise<RoomRecord>;
const send = (u: TestUser, room: string, text: string, extra: { replyTo?: string } = {}) => sendMessage(u.ctx, { room, text, ...extra });

/** The values a live iterator yields until `count` arrived. */
async function take<T>(it: AsyncIterator<T>, count: number): Promise<T[]> {
  const out: T[] = [];
  while (out.length < count) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe('roles', () => {
  it('the creator owns a room, a moderator is named by the owner, a joiner is a member, a passer-by has no role', async () => {
    expect(await myRole(owner.ctx, lounge)).toBe('OWNER');
    expect(await myRole(mod.ctx, lounge)).toBe('MODERATOR');
    expect(await myRole(bob.ctx, lounge)).toBe('MEMBER');
    expect(await myRole(eve.ctx, lounge)).toBeNull();
  });

  it('default rooms are run by ROOM_ADMINS, who name moderators there and nowhere else', async () => {
    const room = await general();
    expect(await myRole(admin.ctx, room)).toBe('ADMIN');
    expect(await myRole(admin.ctx, lounge)).toBeNull();
    await setModerator(admin.ctx, { room: 'general', username: 'eve', moderator: true });
    expect(await myRole(eve.ctx, room)).toBe('MODERATOR');
    await expectCode(setModerator(admin.ctx, { room: 'lounge', username: 'eve', moderator: true }), 'FORBIDDEN');
    await expectCode(transferOwnership(admin.ctx, { room: 'general', username: 'eve' }), 'BAD_USER_INPUT');
    expect((await moderators(bob.ctx, room)).map((m) => [m.user.username, m.role])).toEqual([
      ['root', 'ADMIN'],
      ['eve', 'MODERATOR'],
    ]);
  });

  it('only the owner names moderators; a moderator cannot, nor can a member', async () => {
    await expectCode(setModerator(mod.ctx, { room: 'lounge', username: 'bob', moderator: true }), 'FORBIDDEN');
    await expectCode(setModerator(bob.ctx, { room: 'lounge', username: 'eve', moderator: true }), 'FORBIDDEN');
    // a private room's moderator must be a member first
    await expectCode(setModerator(owner.ctx, { room: 'secret', username: 'eve', moderator: true }), 'BAD_USER_INPUT');
    await setModerator(owner.ctx, { room: 'lounge', username: 'mod', moderator: false });
    expect(await myRole(mod.ctx, lounge)).toBe('MEMBER');
  });

  it('the owner hands the room over: the new owner owns it, the former one moderates it', async () => {
    await expectCode(transferOwnership(mod.ctx, { room: 'lounge', username: 'bob' }), 'FORBIDDEN');
    await transferOwnership(owner.ctx, { room: 'lounge', username: 'bob' });
    expect(await myRole(bob.ctx, lounge)).toBe('OWNER');
    expect(await myRole(owner.ctx, lounge)).toBe('MODERATOR');
    // the former owner is below the new one now
    await expectCode(banUser(owner.ctx, { room: 'lounge', username: 'bob' }), 'FORBIDDEN');
    expect((await moderators(eve.ctx, lounge)).map((m) => [m.user.username, m.role])).toEqual([
      ['bob', 'OWNER'],
      ['mod', 'MODERATOR'],
      ['owner', 'MODERATOR'],
    ]);
  });

  it('members are listed with roles, a page at a time: to members of a private room, to moderators of a public one', async () => {
    const page1 = await members(bob.ctx, secret, { first: 2 });
    expect(page1.map((m) => [m.user.username, m.role])).toEqual([
      ['bob', 'MEMBER'],
      ['mod', 'MODERATOR'],
    ]);
    expect((await members(bob.ctx, secret, { first: 2, after: 'mod' })).map((m) => [m.user.username, m.role])).toEqual([['owner', 'OWNER']]);
    await expectCode(members(bob.ctx, lounge, {}), 'FORBIDDEN');
    expect((await members(mod.ctx, lounge, {})).map((m) => m.user.username)).toEqual(['bob', 'mod', 'owner']);
    await expectCode(members(eve.ctx, secret, {}), 'FORBIDDEN');
  });
});

describe('moderators’ actions', () => {
  it('a mute refuses sends, edits, reactions and typing with extensions.until, and can be lifted', async () => {
    const before = await send(bob, 'lounge', 'hello');
    const muted = await muteUser(mod.ctx, { room: 'lounge', username: 'bob', seconds: 60 });
    expect(Date.parse(muted.until) - Date.now()).toBeGreaterThan(50_000);
    const err = await expectCode(send(bob, 'lounge', 'hello?'), 'FORBIDDEN');
    expect(err.extensions.until).toBe(muted.until);
    await expectCode(editMessage(bob.ctx, { room: 'lounge', id: before.id, text: 'edited' }), 'FORBIDDEN');
    await expectCode(addReaction(bob.ctx, { room: 'lounge', messageId: before.id, emoji: '👍' }), 'FORBIDDEN');
    await expectCode(startTyping(bob.ctx, { room: 'lounge' }), 'FORBIDDEN');
    // elsewhere bob speaks freely, and may still delete his own message
    await send(bob, 'general', 'hi elsewhere');
    expect((await mutes(mod.ctx, lounge)).map((m) => m.username)).toEqual(['bob']);
    expect((await members(mod.ctx, lounge, {})).find((m) => m.user.username === 'bob')!.mutedUntil).toBe(muted.until);
    expect(await unmuteUser(mod.ctx, { room: 'lounge', username: 'bob' })).toBe(true);
    expect(await unmuteUser(mod.ctx, { room: 'lounge', username: 'bob' })).toBe(false);
    await send(bob, 'lounge', 'back');
  });

  it('only moderators act, only on users below them, never on themselves', async () => {
    await expectCode(muteUser(bob.ctx, { room: 'lounge', username: 'eve', seconds: 60 }), 'FORBIDDEN');
    await expectCode(banUser(eve.ctx, { room: 'lounge', username: 'bob' }), 'FORBIDDEN');
    await expectCode(muteUser(mod.ctx, { room: 'lounge', username: 'owner', seconds: 60 }), 'FORBIDDEN');
    await expectCode(banUser(mod.ctx, { room: 'lounge', username: 'mod' }), 'BAD_USER_INPUT');
    await expectCode(muteUser(mod.ctx, { room: 'lounge', username: 'bob', seconds: 0 }), 'BAD_USER_INPUT');
    await expectCode(muteUser(mod.ctx, { room: 'lounge', username: 'nobody_here', seconds: 60 }), 'NOT_FOUND');
    await expectCode(muteUser(owner.ctx, { room: `dm:bob:owner`, username: 'bob', seconds: 60 }), 'BAD_USER_INPUT');
    await expectCode(bans(bob.ctx, lounge), 'FORBIDDEN');
    // a moderator of one room is nobody in another
    await expectCode(banUser(mod.ctx, { room: 'general', username: 'bob' }), 'FORBIDDEN');
  });

  it('a ban (a public room too) stops reading, joining, subscribing and sending, ends live subscriptions, and hides the room', async () => {
    const live = await messageAdded(bob.ctx, { room: 'lounge' });
    const events = await roomEvents(eve.ctx, { room: 'lounge' });
    const ban = await banUser(mod.ctx, { room: 'lounge', username: 'bob' });
    expect(ban).toMatchObject({ username: 'bob', byName: 'mod' });
    await expect(live.next()).rejects.toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    await expectCode(recentMessages(bob.ctx, { room: 'lounge' }), 'FORBIDDEN');
    await expectCode(send(bob, 'lounge', 'let me in'), 'FORBIDDEN');
    await expectCode(joinRoom(bob.ctx, { name: 'lounge' }), 'FORBIDDEN');
    await expectCode(messageAdded(bob.ctx, { room: 'lounge' }), 'FORBIDDEN');
    expect((await rooms(bob.ctx)).map((r) => r.name)).not.toContain('lounge');
    expect((await rooms(eve.ctx)).map((r) => r.name)).toContain('lounge');
    expect(await myRole(bob.ctx, lounge)).toBeNull();
    // banning again answers the same ban; the event came once
    expect(await banUser(mod.ctx, { room: 'lounge', username: 'bob' })).toEqual(ban);
    const [event] = await take(events, 1);
    expect(event).toMatchObject({ type: 'BANNED', target: { username: 'bob' }, actor: { username: 'mod' } });
    expect(await unbanUser(mod.ctx, { room: 'lounge', username: 'bob' })).toBe(true);
    await joinRoom(bob.ctx, { name: 'lounge' });
    await send(bob, 'lounge', 'behaving now');
    const [unbanned] = await take(events, 1);
    expect(unbanned).toMatchObject({ type: 'UNBANNED', target: { username: 'bob' } });
    await events.return?.();
  });

  it('a ban from a private room takes the membership; an invitation cannot bring the user back until the ban is lifted', async () => {
    await banUser(owner.ctx, { room: 'secret', username: 'bob' });
    expect(await services.store.isMember('secret', bob.id)).toBe(false);
    await expectCode(inviteToRoom(mod.ctx, { room: 'secret', username: 'bob' }), 'FORBIDDEN');
    await unbanUser(mod.ctx, { room: 'secret', username: 'bob' });
    await inviteToRoom(mod.ctx, { room: 'secret', username: 'bob' });
    await send(bob, 'secret', 'thanks');
  });

  it('a moderator removes members of a private room below them, the owner anyone; each removal an event of the log', async () => {
    const start = (await send(owner, 'secret', 'before the removals')).id;
    await expectCode(removeFromRoom(bob.ctx, { room: 'secret', username: 'mod' }), 'FORBIDDEN');
    await expectCode(removeFromRoom(mod.ctx, { room: 'secret', username: 'owner' }), 'FORBIDDEN');
    await expectCode(removeFromRoom(mod.ctx, { room: 'secret', username: 'mod' }), 'BAD_USER_INPUT');
    await removeFromRoom(mod.ctx, { room: 'secret', username: 'bob' });
    await removeFromRoom(mod.ctx, { room: 'secret', username: 'bob' }); // again: no second event
    await removeFromRoom(owner.ctx, { room: 'secret', username: 'mod' });
    expect((await members(owner.ctx, secret, {})).map((m) => m.user.username)).toEqual(['owner']);
    const events = await roomEvents(owner.ctx, { room: 'secret', after: start });
    expect((await take(events, 2)).map((e) => [e.type, e.actor.username, e.target?.username])).toEqual([
      ['MEMBER_REMOVED', 'mod', 'bob'],
      ['MEMBER_REMOVED', 'owner', 'mod'],
    ]);
    await events.return?.();
  });

  it('a moderator deletes anyone’s message: the DELETED event says a moderator removed it; a member cannot', async () => {
    const m = await send(bob, 'lounge', 'spam');
    const events = await roomEvents(owner.ctx, { room: 'lounge', after: '0-0' });
    await expectCode(deleteMessage(eve.ctx, { room: 'lounge', id: m.id }), 'FORBIDDEN');
    await expectCode(editMessage(mod.ctx, { room: 'lounge', id: m.id, text: 'edited by mod' }), 'FORBIDDEN');
    expect(await deleteMessage(mod.ctx, { room: 'lounge', id: m.id })).toBe(true);
    // replayed from the start: mod's appointment, then the message's deletion (the message itself is gone)
    const replay = await take(events, 2);
    expect(replay.map((e) => e.type)).toEqual(['ROLE_CHANGED', 'DELETED']);
    const deleted = replay[1]!;
    expect(deleted).toMatchObject({ messageId: m.id, byModerator: true, actor: { username: 'mod' }, message: null });
    await events.return?.();
  });

  it.each([
    ['typing', typing],
    ['presenceChanged', presenceChanged],
    ['roomEvents', roomEvents],
  ] as const)('%s: a ban whose event lands while the subscription is being checked still ends it', async (_name, subscribe) => {
    // the lost-access event (a ban's, a removal's) arrives while the room's record is being read
    const findRoom = services.store.findRoom.bind(services.store);
    services.store.findRoom = async (name) => {
      const room = await findRoom(name);
      if (name === 'lounge') services.revocations.memberRemoved('lounge', bob.id);
      return room;
    };
    const live = (await subscribe(bob.ctx, { room: 'lounge' })) as AsyncIterator<unknown>;
    const outcome = await Promise.race([
      live.next().then(
        () => 'delivered',
        (err: { extensions?: { code?: string } }) => err.extensions?.code,
      ),
      new Promise((resolve) => setTimeout(() => resolve('still live'), 1000)),
    ]);
    expect(outcome).toBe('FORBIDDEN');
  });
});

describe('reactions', () => {
  it('add and remove are idempotent, counted per emoji, `mine` per viewer, bounded per message', async () => {
    const m = await send(owner, 'lounge', 'vote');
    await addReaction(bob.ctx, { room: 'lounge', messageId: m.id, emoji: '👍' });
    const twice = await addReaction(bob.ctx, { room: 'lounge', messageId: m.id, emoji: '👍' });
    expect(twice.reactions).toEqual([{ emoji: '👍', userIds: [bob.id] }]);
    await addReaction(eve.ctx, { room: 'lounge', messageId: m.id, emoji: '👍' });
    // ❤ typed without its emoji selector is the same reaction as ❤️
    await addReaction(eve.ctx, { room: 'lounge', messageId: m.id, emoji: '❤' });
    const after = await addReaction(bob.ctx, { room: 'lounge', messageId: m.id, emoji: '❤️' });
    expect(after.reactions).toEqual([
      { emoji: '👍', userIds: [bob.id, eve.id] },
      { emoji: '❤️', userIds: [eve.id, bob.id] },
    ]);
    await addReaction(bob.ctx, { room: 'lounge', messageId: m.id, emoji: '🎉' });
    await expectCode(addReaction(bob.ctx, { room: 'lounge', messageId: m.id, emoji: '🚀' }), 'BAD_USER_INPUT');
    await expectCode(addReaction(bob.ctx, { room: 'lounge', messageId: m.id, emoji: 'lol' }), 'BAD_USER_INPUT');
    await expectCode(addReaction(bob.ctx, { room: 'lounge', messageId: '1-0', emoji: '👍' }), 'NOT_FOUND');
    const removed = await removeReaction(bob.ctx, { room: 'lounge', messageId: m.id, emoji: '👍' });
    expect(removed.reactions![0]).toEqual({ emoji: '👍', userIds: [eve.id] });
    await removeReaction(bob.ctx, { room: 'lounge', messageId: m.id, emoji: '👍' });
    await expectCode(addReaction(eve.ctx, { room: 'secret', messageId: m.id, emoji: '👍' }), 'FORBIDDEN');
  });

  it('reactions are throttled by REACTION_RATE_LIMIT', async () => {
    const limited = memoryServices({ reactionRateLimit: { count: 2, seconds: 60 } });
    await ensureDefaultRooms(limited);
    const ann = await newUser(limited, 'ann');
    const m = await sendMessage(ann.ctx, { room: 'general', text: 'x' });
    await addReaction(ann.ctx, { room: 'general', messageId: m.id, emoji: '👍' });
    await removeReaction(ann.ctx, { room: 'general', messageId: m.id, emoji: '👍' });
    const err = await expectCode(addReaction(ann.ctx, { room: 'general', messageId: m.id, emoji: '👍' }), 'RATE_LIMITED');
    expect(err.extensions.retryAfter).toBeGreaterThan(0);
  });
});

describe('abuse limits', () => {
  it('moderators’ actions count against MODERATION_RATE_LIMIT, blocks against BLOCK_RATE_LIMIT', async () => {
    const limited = memoryServices({ moderationRateLimit: { count: 2, seconds: 60 }, blockRateLimit: { count: 1, seconds: 60 } });
    await ensureDefaultRooms(limited);
    const [boss, x, y] = await Promise.all(['boss', 'xavier', 'yolanda'].map((n) => newUser(limited, n)));
    await createRoom(boss!.ctx, { name: 'yard' });
    await muteUser(boss!.ctx, { room: 'yard', username: 'xavier', seconds: 10 });
    await unmuteUser(boss!.ctx, { room: 'yard', username: 'xavier' });
    const err = await expectCode(banUser(boss!.ctx, { room: 'yard', username: 'xavier' }), 'RATE_LIMITED');
    expect(err.extensions.retryAfter).toBeGreaterThan(0);
    await blockUser(x!.ctx, { username: 'yolanda' });
    await expectCode(unblockUser(x!.ctx, { username: 'yolanda' }), 'RATE_LIMITED');
    // one user's limit is not another's
    await blockUser(y!.ctx, { username: 'xavier' });
  });

  it('invitations and removals count against MODERATION_RATE_LIMIT too: no endless invite-and-remove cycle', async () => {
    const limited = memoryServices({ moderationRateLimit: { count: 3, seconds: 60 } });
    await ensureDefaultRooms(limited);
    const [boss, x, y] = await Promise.all(['boss', 'xavier', 'yolanda'].map((n) => newUser(limited, n)));
    await createRoom(boss!.ctx, { name: 'loop', private: true });
    await inviteToRoom(boss!.ctx, { room: 'loop', username: 'xavier' });
    await removeFromRoom(boss!.ctx, { room: 'loop', username: 'xavier' });
    await inviteToRoom(boss!.ctx, { room: 'loop', username: 'xavier' });
    const removal = await expectCode(removeFromRoom(boss!.ctx, { room: 'loop', username: 'xavier' }), 'RATE_LIMITED');
    expect(removal.extensions.retryAfter).toBeGreaterThan(0);
    await expectCode(inviteToRoom(boss!.ctx, { room: 'loop', username: 'yolanda' }), 'RATE_LIMITED');
    // refused before anything changed: xavier is still in, yolanda never was
    expect((await rooms(x!.ctx)).map((r) => r.name)).toContain('loop');
    expect((await rooms(y!.ctx)).map((r) => r.name)).not.toContain('loop');
  });

  it('an outsider leaving a private room again and again counts against MODERATION_RATE_LIMIT (each leave tells every instance); a member leaving does not', async () => {
    const limited = memoryServices({ moderationRateLimit: { count: 2, seconds: 60 } });
    await ensureDefaultRooms(limited);
    const [boss, x, out] = await Promise.all(['boss', 'xavier', 'outsider'].map((n) => newUser(limited, n)));
    await createRoom(boss!.ctx, { name: 'den', private: true });
    await createRoom(boss!.ctx, { name: 'den2', private: true });
    const announced: string[] = [];
    await limited.engine.control.subscribe((e) => {
      if (e.type === 'member-removed') announced.push(e.userId);
    });
    expect(await leaveRoom(out!.ctx, { name: 'den' })).toBe(false);
    expect(await leaveRoom(out!.ctx, { name: 'den' })).toBe(false);
    await expectCode(leaveRoom(out!.ctx, { name: 'den' }), 'RATE_LIMITED');
    expect(announced.filter((id) => id === out!.id)).toHaveLength(2);
    // boss's two invitations use up boss's points, not xavier's: xavier leaves twice as a member, unthrottled
    await inviteToRoom(boss!.ctx, { room: 'den', username: 'xavier' });
    await inviteToRoom(boss!.ctx, { room: 'den2', username: 'xavier' });
    expect(await leaveRoom(x!.ctx, { name: 'den' })).toBe(true);
    expect(await leaveRoom(x!.ctx, { name: 'den2' })).toBe(true);
    expect(await leaveRoom(x!.ctx, { name: 'den' })).toBe(false);
  });

  it('only a member of a public room invites others to it', async () => {
    const services = memoryServices();
    await ensureDefaultRooms(services);
    const [host, guest, passer] = await Promise.all(['host', 'guest', 'passer'].map((n) => newUser(services, n)));
    await createRoom(host!.ctx, { name: 'plaza' });
    const err = await expectCode(inviteToRoom(passer!.ctx, { room: 'plaza', username: 'guest' }), 'FORBIDDEN');
    expect(err.message).toContain('Join "plaza" first');
    expect(await services.store.isMember('plaza', guest!.id)).toBe(false);
    await inviteToRoom(host!.ctx, { room: 'plaza', username: 'guest' });
    expect(await services.store.isMember('plaza', guest!.id)).toBe(true);
  });
});

describe('replies', () => {
  it('a reply shows the first line of what it answers; a tombstone once that is deleted; NOT_FOUND for a message not there', async () => {
    const q = await send(owner, 'lounge', 'Lunch at noon?\nOr later?');
    const r = await send(bob, 'lounge', 'noon works', { replyTo: q.id });
    expect(r.replyTo).toEqual({ id: q.id, authorId: owner.id, authorName: 'owner', firstLine: 'Lunch at noon?' });
    await deleteMessage(owner.ctx, { room: 'lounge', id: q.id });
    const [shown] = await recentMessages(eve.ctx, { room: 'lounge', limit: 1 });
    expect(shown!.replyTo).toEqual({ id: q.id });
    const err = await expectCode(send(bob, 'lounge', 'to nothing', { replyTo: q.id }), 'NOT_FOUND');
    expect(err.extensions.field).toBe('replyTo');
    await expectCode(send(bob, 'lounge', 'bad id', { replyTo: 'nope' }), 'BAD_USER_INPUT');
  });
});

describe('mentions', () => {
  it('resolve to users who can see the room, are counted until read, and reach `mentioned` (not directMessageAdded)', async () => {
    const told = await mentioned(bob.ctx);
    const dms = await directMessageAdded(bob.ctx);
    const m = await send(owner, 'secret', 'hey @Bob, @eve and @nobody_x: ready?');
    // eve is no member of the private room: her name stays plain text
    expect(m.mentions).toEqual([{ id: bob.id, username: 'bob' }]);
    const [got] = await take(told, 1);
    expect(got!.id).toBe(m.id);
    expect((await readMark(bob.ctx, secret)).mentions).toBe(1);
    expect((await readMark(owner.ctx, secret)).mentions).toBe(0);
    const pub = await send(eve, 'lounge', '@bob @owner look');
    expect(pub.mentions!.map((u) => u.username)).toEqual(['bob', 'owner']);
    const [second] = await take(told, 1);
    expect(second!.id).toBe(pub.id);
    const dm = await sendDirectMessage(eve.ctx, { to: 'bob', text: 'psst' });
    const [direct] = await take(dms, 1);
    expect(direct!.id).toBe(dm.id);
    await told.return?.();
    await dms.return?.();
  });

  it('at most MENTIONS_PER_MESSAGE names are looked up; a banned user is not mentioned; one’s own mention is not counted', async () => {
    await banUser(mod.ctx, { room: 'lounge', username: 'eve' });
    const m = await send(owner, 'lounge', '@eve @owner @bob @mod');
    expect(m.mentions!.map((u) => u.username)).toEqual(['owner', 'bob']);
    expect((await readMark(owner.ctx, lounge)).mentions).toBe(0);
    expect((await readMark(bob.ctx, lounge)).mentions).toBe(1);
    expect((await readMark(mod.ctx, lounge)).mentions).toBe(0);
  });
});

describe('blocking', () => {
  it('a blocked user cannot start or send direct messages to the blocker, and their mentions of them are not counted', async () => {
    await sendDirectMessage(eve.ctx, { to: 'bob', text: 'hi bob' });
    expect(await blockUser(bob.ctx, { username: 'eve' })).toBe(true);
    expect(await blockedUsers(bob.ctx)).toEqual([{ id: eve.id, username: 'eve' }]);
    await expectCode(sendDirectMessage(eve.ctx, { to: 'bob', text: 'hello?' }), 'FORBIDDEN');
    await expectCode(sendMessage(eve.ctx, { room: 'dm:bob:eve', text: 'hello?' }), 'FORBIDDEN');
    await expectCode(sendDirectMessage(eve.ctx, { to: 'BOB', text: 'hello?' }), 'FORBIDDEN');
    // the conversation stays readable, and bob may still write
    expect(await recentMessages(eve.ctx, { room: 'dm:bob:eve' })).toHaveLength(1);
    await sendDirectMessage(bob.ctx, { to: 'eve', text: 'please stop' });
    await send(eve, 'lounge', '@bob hello');
    expect((await readMark(bob.ctx, lounge)).mentions).toBe(0);
    await expectCode(blockUser(bob.ctx, { username: 'bob' }), 'BAD_USER_INPUT');
    await expectCode(blockUser(bob.ctx, { username: 'nobody_x' }), 'NOT_FOUND');
    expect(await unblockUser(bob.ctx, { username: 'eve' })).toBe(true);
    expect(await unblockUser(bob.ctx, { username: 'eve' })).toBe(false);
    await sendDirectMessage(eve.ctx, { to: 'bob', text: 'sorry' });
  });

  it('a block prevents a conversation from being started at all', async () => {
    await blockUser(bob.ctx, { username: 'eve' });
    await expectCode(recentMessages(eve.ctx, { room: 'dm:bob:eve' }), 'FORBIDDEN');
    expect(await services.store.findRoom('dm:bob:eve')).toBeNull();
  });
});
