import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { createRateLimits } from '../src/limits/index.js';
import { login, register } from '../src/resolvers/auth.js';
import type { Services } from '../src/resolvers/context.js';
import { recentMessages, sendDirectMessage, sendMessage } from '../src/resolvers/messages.js';
import { createRoom, ensureDefaultRooms, inviteToRoom, joinRoom } from '../src/resolvers/rooms.js';
import { messageAdded } from '../src/resolvers/subscriptions.js';
import { anonymous, memoryServices } from './support/services.js';
import { expectCode, newUser, PASSWORD, type TestUser } from './support/rules.js';

/** Every input rule of CONTRACT.md, checked through the resolvers (not only the helpers). */

const letters = (n: number) => 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(8).slice(0, n);

describe('usernames are ^[a-z0-9_]{3,32}$ after lower-casing', () => {
  let services: Services;
  beforeEach(() => {
    services = memoryServices();
  });

  it.each([
    ['3 characters', 'abc'],
    ['32 characters', letters(32)],
    ['digits and underscore', 'user_01'],
    ['only underscores', '___'],
  ])('register accepts %s', async (_what, username) => {
    const auth = await register(anonymous(services), { username, password: PASSWORD });
    expect(auth.user.username).toBe(username);
  });

  it.each([
    ['2 characters', 'ab'],
    ['33 characters', letters(33)],
    ['empty', ''],
    ['a hyphen', 'ab-c'],
    ['a space', 'ab c'],
    ['a dot', 'a.bc'],
    ['an exclamation mark', 'abc!'],
    ['a colon (would forge dm names)', 'ab:c'],
    ['a non-ASCII letter', 'jürgen'],
    ['a trailing newline', 'abc\n'],
  ])('register refuses %s with BAD_USER_INPUT', async (_what, username) => {
    await expectCode(register(anonymous(services), { username, password: PASSWORD }), 'BAD_USER_INPUT');
    expect(await services.store.findUser(username.toLowerCase())).toBeNull();
  });

  it('upper-case is accepted and lower-cased', async () => {
    const auth = await register(anonymous(services), { username: 'Alice_01', password: PASSWORD });
    expect(auth.user.username).toBe('alice_01');
    expect(await services.store.findUser('alice_01')).not.toBeNull();
    const again = await login(anonymous(services), { username: 'ALICE_01', password: PASSWORD });
    expect(again.user.id).toBe(auth.user.id);
  });

  it('login refuses a malformed username with BAD_USER_INPUT', async () => {
    await expectCode(login(anonymous(services), { username: 'ab', password: PASSWORD }), 'BAD_USER_INPUT');
  });

  it('sendDirectMessage and inviteToRoom refuse a malformed username with BAD_USER_INPUT', async () => {
    const alice = await newUser(services, 'alice');
    await createRoom(alice.ctx, { name: 'club', private: true });
    await expectCode(sendDirectMessage(alice.ctx, { to: 'b!', text: 'hi' }), 'BAD_USER_INPUT');
    await expectCode(sendDirectMessage(alice.ctx, { to: letters(33), text: 'hi' }), 'BAD_USER_INPUT');
    await expectCode(inviteToRoom(alice.ctx, { room: 'club', username: 'x y z' }), 'BAD_USER_INPUT');
  });
});

describe('passwords are 8-256 characters', () => {
  let services: Services;
  beforeEach(() => {
    services = memoryServices();
  });

  it.each([
    ['8', 8],
    ['256', 256],
  ])('register accepts %s characters', async (_n, length) => {
    const auth = await register(anonymous(services), { username: `user${length}`, password: 'p'.repeat(length) });
    await expect(login(anonymous(services), { username: `user${length}`, password: 'p'.repeat(length) })).resolves.toMatchObject({
      user: { id: auth.user.id },
    });
  });

  it.each([
    ['0', 0],
    ['7', 7],
    ['257', 257],
  ])('register refuses %s characters with BAD_USER_INPUT', async (_n, length) => {
    await expectCode(register(anonymous(services), { username: 'bob', password: 'p'.repeat(length) }), 'BAD_USER_INPUT');
    expect(await services.store.findUser('bob')).toBeNull();
  });

  it('an over-long password is refused before any hashing (register and login)', async () => {
    await newUser(services, 'carol');
    const hash = vi.spyOn(services.passwords, 'hash');
    const verify = vi.spyOn(services.passwords, 'verify');
    const huge = 'p'.repeat(1_000_000);
    await expectCode(register(anonymous(services), { username: 'dave', password: 'p'.repeat(257) }), 'BAD_USER_INPUT');
    await expectCode(register(anonymous(services), { username: 'dave', password: huge }), 'BAD_USER_INPUT');
    await expectCode(login(anonymous(services), { username: 'carol', password: huge }), 'BAD_USER_INPUT');
    expect(hash).not.toHaveBeenCalled();
    expect(verify).not.toHaveBeenCalled();
    expect(services.passwords.pending).toBe(0);
  });

  it('a too-short login password is refused before verifying it', async () => {
    await newUser(services, 'carol');
    const verify = vi.spyOn(services.passwords, 'verify');
    await expectCode(login(anonymous(services), { username: 'carol', password: 'short' }), 'BAD_USER_INPUT');
    expect(verify).not.toHaveBeenCalled();
  });
});

describe('room names are ^[a-z0-9][a-z0-9_-]{0,63}$ after lower-casing', () => {
  let services: Services;
  let alice: TestUser;
  beforeEach(async () => {
    services = memoryServices();
    await ensureDefaultRooms(services);
    alice = await newUser(services, 'alice');
  });

  it.each([
    ['1 character', 'a'],
    ['a leading digit', '1st'],
    ['inner _ and -', 'a_b-c'],
    ['64 characters', letters(64)],
  ])('createRoom accepts %s', async (_what, name) => {
    await expect(createRoom(alice.ctx, { name })).resolves.toMatchObject({ name, private: false });
  });

  it('createRoom lower-cases the name', async () => {
    await expect(createRoom(alice.ctx, { name: 'Lounge-2' })).resolves.toMatchObject({ name: 'lounge-2' });
    expect(await services.store.findRoom('lounge-2')).not.toBeNull();
  });

  it.each([
    ['empty', ''],
    ['65 characters', letters(65)],
    ['a leading _', '_lounge'],
    ['a leading -', '-lounge'],
    ['a space', 'the lounge'],
    ['an exclamation mark', 'bad_room!'],
    ['a colon', 'dm:alice:bob'],
    ['a dot', 'a.b'],
    ['a non-ASCII letter', 'café'],
  ])('createRoom refuses %s with BAD_USER_INPUT', async (_what, name) => {
    await expectCode(createRoom(alice.ctx, { name }), 'BAD_USER_INPUT');
    expect(await services.store.findRoom(name.toLowerCase())).toBeNull();
  });

  it.each([
    ['65 characters', letters(65)],
    ['a leading _', '_general'],
    ['a leading -', '-general'],
    ['a slash', 'general/x'],
  ])('every operation naming a room refuses %s with BAD_USER_INPUT', async (_what, room) => {
    await expectCode(joinRoom(alice.ctx, { name: room }), 'BAD_USER_INPUT');
    await expectCode(sendMessage(alice.ctx, { room, text: 'hi' }), 'BAD_USER_INPUT');
    await expectCode(recentMessages(alice.ctx, { room }), 'BAD_USER_INPUT');
    await expectCode(messageAdded(alice.ctx, { room }), 'BAD_USER_INPUT');
    await expectCode(inviteToRoom(alice.ctx, { room, username: 'alice' }), 'BAD_USER_INPUT');
  });

  it('operations naming a room lower-case it', async () => {
    await expect(joinRoom(alice.ctx, { name: 'GENERAL' })).resolves.toMatchObject({ name: 'general' });
    await expect(sendMessage(alice.ctx, { room: 'General', text: 'hi' })).resolves.toMatchObject({ room: 'general' });
    await expect(recentMessages(alice.ctx, { room: 'GeNeRaL' })).resolves.toMatchObject([{ room: 'general', text: 'hi' }]);
  });
});

describe('message text is 1-4000 characters and not only white space', () => {
  let services: Services;
  let alice: TestUser;
  beforeEach(async () => {
    services = memoryServices();
    await ensureDefaultRooms(services);
    alice = await newUser(services, 'alice');
    await newUser(services, 'bob');
  });

  it.each([
    ['1 character', 'x'],
    ['4000 characters', 'x'.repeat(4000)],
    ['4000 emoji (characters, not UTF-16 units)', '😀'.repeat(4000)],
    ['text with surrounding white space', '  hi\n'],
  ])('sendMessage and sendDirectMessage accept %s, kept as sent', async (_what, text) => {
    await expect(sendMessage(alice.ctx, { room: 'general', text })).resolves.toMatchObject({ text });
    await expect(sendDirectMessage(alice.ctx, { to: 'bob', text })).resolves.toMatchObject({ text });
  });

  it.each([
    ['empty', ''],
    ['4001 characters', 'x'.repeat(4001)],
    ['only spaces', '     '],
    ['only newlines', '\n\n\n'],
    ['only mixed white space', ' \t\r\n \u00a0\u2003'],
  ])('sendMessage and sendDirectMessage refuse %s with BAD_USER_INPUT', async (_what, text) => {
    await expectCode(sendMessage(alice.ctx, { room: 'general', text }), 'BAD_USER_INPUT');
    await expectCode(sendDirectMessage(alice.ctx, { to: 'bob', text }), 'BAD_USER_INPUT');
    await expect(recentMessages(alice.ctx, { room: 'general' })).resolves.toEqual([]);
  });
});

describe('limit is 1-200', () => {
  let services: Services;
  let alice: TestUser;
  beforeEach(async () => {
    services = memoryServices();
    await ensureDefaultRooms(services);
    alice = await newUser(services, 'alice');
    for (let i = 0; i < 250; i++) await sendMessage(alice.ctx, { room: 'general', text: `m${i}` });
  });

  it.each([
    [1, 1],
    [200, 200],
  ])('recentMessages accepts limit %i', async (limit, count) => {
    const page = await recentMessages(alice.ctx, { room: 'general', limit });
    expect(page).toHaveLength(count);
    expect(page.at(-1)?.text).toBe('m249');
  });

  it.each([0, -1, 201, 1.5])('recentMessages refuses limit %d with BAD_USER_INPUT', async (limit) => {
    await expectCode(recentMessages(alice.ctx, { room: 'general', limit }), 'BAD_USER_INPUT');
  });

  it('limit defaults to 50 (absent or null)', async () => {
    await expect(recentMessages(alice.ctx, { room: 'general' })).resolves.toHaveLength(50);
    await expect(recentMessages(alice.ctx, { room: 'general', limit: null })).resolves.toHaveLength(50);
  });
});

describe('after/before cursors are <ms>-<seq> ids', () => {
  let services: Services;
  let alice: TestUser;
  beforeEach(async () => {
    services = memoryServices();
    await ensureDefaultRooms(services);
    alice = await newUser(services, 'alice');
  });

  it.each([
    ['garbage', 'garbage'],
    ['empty', ''],
    ["'1-'", '1-'],
    ["'-1'", '-1'],
    ["'1-2-3'", '1-2-3'],
    ['a bare number', '12345'],
    ['a negative part', '1--2'],
    ['a decimal', '1.5-0'],
    ['surrounding space', ' 1-0'],
    ['ms beyond u64', '18446744073709551616-0'],
    ['seq beyond u64', '0-18446744073709551616'],
    ['21 digits', '100000000000000000000-0'],
  ])('recentMessages(before) and messageAdded(after) refuse %s with BAD_USER_INPUT', async (_what, id) => {
    await expectCode(recentMessages(alice.ctx, { room: 'general', before: id }), 'BAD_USER_INPUT');
    await expectCode(messageAdded(alice.ctx, { room: 'general', after: id }), 'BAD_USER_INPUT');
  });

  it.each([
    ['0-0', '0-0'],
    ['a never-issued id', '1700000000000-7'],
    ['the largest u64 id', '18446744073709551615-18446744073709551615'],
  ])('accept %s', async (_what, id) => {
    await sendMessage(alice.ctx, { room: 'general', text: 'hello' });
    await expect(recentMessages(alice.ctx, { room: 'general', before: id })).resolves.toBeInstanceOf(Array);
    const sub = await messageAdded(alice.ctx, { room: 'general', after: id });
    await sub.return?.();
  });
});

describe('configuration (loadConfig): a malformed variable stops start-up with one line naming it', () => {
  const SECRET = 'x'.repeat(32);
  const malformed: [label: string, variable: string, env: Record<string, string>][] = [
    ['PORT=abc', 'PORT', { PORT: 'abc' }],
    ['PORT=70000', 'PORT', { PORT: '70000' }],
    ['MESSAGE_RATE_LIMIT=ten', 'MESSAGE_RATE_LIMIT', { MESSAGE_RATE_LIMIT: 'ten' }],
    ['MESSAGE_RATE_LIMIT=10 (no window)', 'MESSAGE_RATE_LIMIT', { MESSAGE_RATE_LIMIT: '10' }],
    ['LOGIN_RATE_LIMIT=5/0', 'LOGIN_RATE_LIMIT', { LOGIN_RATE_LIMIT: '5/0' }],
    ['LOGIN_RATE_LIMIT=0/60', 'LOGIN_RATE_LIMIT', { LOGIN_RATE_LIMIT: '0/60' }],
    ['HISTORY_LIMIT=-1', 'HISTORY_LIMIT', { HISTORY_LIMIT: '-1' }],
    ['HISTORY_TTL=week', 'HISTORY_TTL', { HISTORY_TTL: 'week' }],
    ['ACCESS_TOKEN_TTL=0', 'ACCESS_TOKEN_TTL', { ACCESS_TOKEN_TTL: '0' }],
    ['LOG_LEVEL=loud', 'LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['REDIS_URL=http://x', 'REDIS_URL', { REDIS_URL: 'http://x' }],
    ['REDIS_URL=not a url', 'REDIS_URL', { REDIS_URL: 'not a url' }],
    ['REDIS_CLUSTER_NODES=redis://a:1 (a URL, not host:port)', 'REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: 'redis://a:1' }],
    ['REDIS_CLUSTER_NODES=a:1,b (no port)', 'REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: 'a:1,b' }],
    ['REDIS_CLUSTER_NODES=a:99999', 'REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: 'a:99999' }],
    ['REDIS_CLUSTER_NODES together with REDIS_URL', 'REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: 'a:7000', REDIS_URL: 'redis://a:6379' }],
    ['REDIS_KEY_PREFIX with a hash tag on a cluster', 'REDIS_KEY_PREFIX', { REDIS_CLUSTER_NODES: 'a:7000', REDIS_KEY_PREFIX: 'chat{1}:' }],
    ['DEFAULT_ROOMS=Bad_Room!', 'DEFAULT_ROOMS', { DEFAULT_ROOMS: 'Bad_Room!' }],
    ['DEFAULT_ROOMS=general,-lobby', 'DEFAULT_ROOMS', { DEFAULT_ROOMS: 'general,-lobby' }],
    ['JWT_SECRET of 31 bytes', 'JWT_SECRET', { JWT_SECRET: 'x'.repeat(31) }],
    ['NODE_ENV=production without JWT_SECRET', 'JWT_SECRET', { NODE_ENV: 'production' }],
    ['REGISTER_RATE_LIMIT=lots', 'REGISTER_RATE_LIMIT', { REGISTER_RATE_LIMIT: 'lots' }],
    ['CREATE_ROOM_RATE_LIMIT=3', 'CREATE_ROOM_RATE_LIMIT', { CREATE_ROOM_RATE_LIMIT: '3' }],
    ['MAX_STREAMS_PER_USER=0', 'MAX_STREAMS_PER_USER', { MAX_STREAMS_PER_USER: '0' }],
    ['HTTP_HEADERS_TIMEOUT over HTTP_REQUEST_TIMEOUT', 'HTTP_HEADERS_TIMEOUT', { HTTP_HEADERS_TIMEOUT: '40', HTTP_REQUEST_TIMEOUT: '30' }],
    ['METRICS_ALLOW=somewhere', 'METRICS_ALLOW', { METRICS_ALLOW: 'somewhere' }],
    ['ROOM_ADMINS=alice,b (too short a username)', 'ROOM_ADMINS', { ROOM_ADMINS: 'alice,b' }],
    ['ROOM_ADMINS=al ice', 'ROOM_ADMINS', { ROOM_ADMINS: 'al ice' }],
    ['REACTION_RATE_LIMIT=fast', 'REACTION_RATE_LIMIT', { REACTION_RATE_LIMIT: 'fast' }],
    ['MODERATION_RATE_LIMIT=5', 'MODERATION_RATE_LIMIT', { MODERATION_RATE_LIMIT: '5' }],
    ['BLOCK_RATE_LIMIT=1/0', 'BLOCK_RATE_LIMIT', { BLOCK_RATE_LIMIT: '1/0' }],
    ['REACTIONS_PER_MESSAGE=0', 'REACTIONS_PER_MESSAGE', { REACTIONS_PER_MESSAGE: '0' }],
    ['MENTIONS_PER_MESSAGE=many', 'MENTIONS_PER_MESSAGE', { MENTIONS_PER_MESSAGE: 'many' }],
  ];

  it.each(malformed)('%s: a ConfigError whose message is one line starting with the variable', (_label, variable, env) => {
    let thrown: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const message = (thrown as ConfigError).message;
    expect(message.startsWith(`${variable}: `), message).toBe(true);
    expect(message).not.toMatch(/[\r\n]/);
    expect(message.length).toBeGreaterThan(`${variable}: `.length);
  });

  it('defaults are those of CONTRACT.md', () => {
    const config = loadConfig({}, () => new Uint8Array(32).fill(7));
    expect(config).toMatchObject({
      port: 4000,
      host: '0.0.0.0',
      production: false,
      redisUrl: undefined,
      redisClusterNodes: undefined,
      redisKeyPrefix: 'chat:',
      accessTokenTtl: 900,
      refreshTokenTtl: 2_592_000,
      messageRateLimit: { count: 30, seconds: 10 },
      loginRateLimit: { count: 10, seconds: 60 },
      defaultRooms: ['general'],
      historyLimit: 1000,
      historyTtl: 604_800,
      logLevel: 'info',
      jwtSecretGenerated: true,
    });
    expect(config.jwtSecret).toHaveLength(32);
  });

  it('defaults of the limits of issue 11 are those the README states', () => {
    const config = loadConfig({}, () => new Uint8Array(32).fill(7));
    expect(config).toMatchObject({
      registerRateLimit: { count: 10, seconds: 60 },
      createRoomRateLimit: { count: 10, seconds: 60 },
      maxHashesPerAddress: 8,
      maxStreamsPerUser: 16,
      maxStreamsPerAddress: 128,
      httpHeadersTimeout: 10,
      httpRequestTimeout: 30,
      httpMaxConnections: 10_000,
      metricsAllow: ['loopback'],
    });
    expect(config.maxConcurrentHashes).toBeGreaterThanOrEqual(1);
    expect(config.maxConcurrentHashes).toBeLessThanOrEqual(4);
  });

  it('defaults of the moderation and interaction settings are those the README states; ROOM_ADMINS is lower-cased', () => {
    expect(loadConfig({}, () => new Uint8Array(32).fill(7))).toMatchObject({
      roomAdmins: [],
      reactionRateLimit: { count: 30, seconds: 10 },
      moderationRateLimit: { count: 60, seconds: 60 },
      blockRateLimit: { count: 20, seconds: 60 },
      reactionsPerMessage: 20,
      mentionsPerMessage: 20,
    });
    expect(loadConfig({ ROOM_ADMINS: ' Alice, bob_2 ', REACTION_RATE_LIMIT: '0' }, () => new Uint8Array(32))).toMatchObject({
      roomAdmins: ['alice', 'bob_2'],
      reactionRateLimit: null,
    });
  });

  it('accepts well-formed values (production with a 32-byte JWT_SECRET, a redis:// URL, a room list)', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: SECRET,
      PORT: '0',
      REDIS_URL: 'redis://127.0.0.1:6379',
      MESSAGE_RATE_LIMIT: '5/1',
      LOGIN_RATE_LIMIT: ' 3 / 60 ',
      DEFAULT_ROOMS: 'General, random ,help-desk',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      production: true,
      port: 0,
      redisUrl: 'redis://127.0.0.1:6379',
      messageRateLimit: { count: 5, seconds: 1 },
      loginRateLimit: { count: 3, seconds: 60 },
      defaultRooms: ['general', 'random', 'help-desk'],
      logLevel: 'debug',
      jwtSecretGenerated: false,
    });
    expect(new TextDecoder().decode(config.jwtSecret)).toBe(SECRET);
  });

  it('`0` turns the message and login rate limits off', async () => {
    const config = loadConfig({ MESSAGE_RATE_LIMIT: '0', LOGIN_RATE_LIMIT: '0' });
    expect(config.messageRateLimit).toBeNull();
    expect(config.loginRateLimit).toBeNull();
    const limits = createRateLimits({ message: config.messageRateLimit, login: config.loginRateLimit });
    for (let i = 0; i < 500; i++) {
      expect(await limits.consumeMessage('u1')).toBe(0);
      expect(await limits.beginLogin('alice', '192.0.2.1')).toBe(0);
    }
  });

  it('with `0`, failed logins are never throttled', async () => {
    const services = memoryServices({ loginRateLimit: loadConfig({ LOGIN_RATE_LIMIT: '0' }).loginRateLimit });
    await newUser(services, 'alice');
    for (let i = 0; i < 15; i++) {
      await expectCode(login(anonymous(services), { username: 'alice', password: 'wrong password' }), 'UNAUTHENTICATED');
    }
    await expect(login(anonymous(services), { username: 'alice', password: PASSWORD })).resolves.toMatchObject({ user: { username: 'alice' } });
  });
});

describe('clientId (the sender’s idempotency key) is 1-64 of A-Z a-z 0-9 _ . : -', () => {
  let services: Services;
  let alice: TestUser;
  let bob: TestUser;
  beforeEach(async () => {
    services = memoryServices();
    await ensureDefaultRooms(services);
    alice = await newUser(services, 'alice');
    bob = await newUser(services, 'bob');
  });

  it.each([
    ['empty', ''],
    ['65 characters', 'a'.repeat(65)],
    ['a space', 'a b'],
    ['a slash', 'a/b'],
    ['a brace (would forge a hash tag)', 'a{b}'],
  ])('sendMessage and sendDirectMessage refuse %s with BAD_USER_INPUT naming clientId', async (_what, clientId) => {
    const err = await expectCode(sendMessage(alice.ctx, { room: 'general', text: 'hi', clientId }), 'BAD_USER_INPUT');
    expect(err.extensions.field).toBe('clientId');
    await expectCode(sendDirectMessage(alice.ctx, { to: bob.username, text: 'hi', clientId }), 'BAD_USER_INPUT');
  });

  it.each([
    ['a UUID', '0b6f3c52-8a7e-4d3e-9c5a-2f1d4e6b7a90'],
    ['64 characters', 'a'.repeat(64)],
    ['dots and colons', 'web:tab.1:42'],
  ])('accepts %s', async (_what, clientId) => {
    await expect(sendMessage(alice.ctx, { room: 'general', text: 'hi', clientId })).resolves.toMatchObject({ text: 'hi' });
  });
});
