import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, codeOf, gql, signUp, wsClient, type Session } from './support/client.js';
import { ENGINE_NAMES, startServerOn } from './support/engines.js';
import type { RunningServer } from './support/server.js';

/**
 * Issue 11, the three questions decided (README, "Security and limits"): the per-username login
 * lock stays as the contract promises and spares existing sessions; probing usernames is bounded
 * by the throttles; a message of invisible characters only is blank.
 */

const LOGIN = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }';
const REFRESH = 'mutation($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken } }';
const SEND = 'mutation($r: String!, $t: String!) { sendMessage(room: $r, text: $t) { id text } }';

describe.each(ENGINE_NAMES)('the login lock (%s engine, LOGIN_RATE_LIMIT=3/60)', (engine) => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServerOn(engine, { LOGIN_RATE_LIMIT: '3/60', LOGIN_IP_RATE_LIMIT: '0' });
  });
  afterAll(() => srv.stop());

  it('after 3 wrong passwords from anyone refuses the owner too (the contract), while the owner’s existing session refreshes and works on', async () => {
    const owner = await signUp(srv.httpUrl, 'locked');
    for (let i = 0; i < 3; i++) expect(codeOf(await gql(srv.httpUrl, LOGIN, { u: owner.username, p: `guess number ${i}` }))).toBe('UNAUTHENTICATED');
    const locked = await gql(srv.httpUrl, LOGIN, { u: owner.username, p: owner.password });
    expect(codeOf(locked)).toBe('RATE_LIMITED');
    expect(locked.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(0);
    const refreshed = await gql(srv.httpUrl, REFRESH, { t: owner.refreshToken });
    expect(refreshed.errors).toBeUndefined();
    expect((await gql(srv.httpUrl, SEND, { r: 'general', t: 'still here' }, refreshed.data.refresh.accessToken)).errors).toBeUndefined();
  });
});

describe.each(ENGINE_NAMES)('probing which usernames exist (%s engine, MESSAGE_RATE_LIMIT=3/60)', (engine) => {
  let srv: RunningServer;
  let prober: Session;
  beforeAll(async () => {
    srv = await startServerOn(engine, { MESSAGE_RATE_LIMIT: '3/60' });
  });
  afterAll(() => srv.stop());

  it('through sendDirectMessage, inviteToRoom and dm:<a>:<b> names: each NOT_FOUND costs a send, so it goes no faster than MESSAGE_RATE_LIMIT', async () => {
    prober = await signUp(srv.httpUrl, 'prober');
    await gql(srv.httpUrl, 'mutation { createRoom(name: "probe-club", private: true) { name } }', {}, prober.accessToken);
    const probes = [
      () => gql(srv.httpUrl, 'mutation { sendDirectMessage(to: "ghost_one", text: "hi") { id } }', {}, prober.accessToken),
      () => gql(srv.httpUrl, 'mutation { inviteToRoom(room: "probe-club", username: "ghost_two") { name } }', {}, prober.accessToken),
      () => gql(srv.httpUrl, `{ recentMessages(room: "dm:${['ghost_three', prober.username].sort().join(':')}") { id } }`, {}, prober.accessToken),
    ];
    for (const probe of probes) expect(codeOf(await probe())).toBe('NOT_FOUND');
    for (const probe of probes) expect(codeOf(await probe())).toBe('RATE_LIMITED');
  });
});

describe.each(ENGINE_NAMES)('a message of invisible characters only (%s engine)', (engine) => {
  let srv: RunningServer;
  let alice: Session;
  beforeAll(async () => {
    srv = await startServerOn(engine, { MESSAGE_RATE_LIMIT: '0' });
    alice = await signUp(srv.httpUrl, 'invisible');
  });
  afterAll(() => srv.stop());

  const blank = ['\u200b', '\u200b\u200c\u200d\u2060', '\ufeff', '\u3164', '\u2800', ' \u00ad\t', '\u{E0020}\u{E0041}', '\ufe0f\u034f'];
  const visible = ['a\u200b', '👨\u200d👩\u200d👧', '\u0301'];

  it('is blank: BAD_USER_INPUT on text over HTTP, for sendMessage and editMessage; visible text with such characters is kept as sent', async () => {
    for (const text of blank) {
      const r = await gql(srv.httpUrl, SEND, { r: 'general', t: text }, alice.accessToken);
      expect(codeOf(r), JSON.stringify(text)).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0]?.extensions?.field).toBe('text');
    }
    for (const text of visible) expect((await gql(srv.httpUrl, SEND, { r: 'general', t: text }, alice.accessToken)).data.sendMessage.text).toBe(text);
    const id = (await gql(srv.httpUrl, SEND, { r: 'general', t: 'to be edited' }, alice.accessToken)).data.sendMessage.id;
    const edit = await gql(srv.httpUrl, 'mutation($id: ID!) { editMessage(room: "general", id: $id, text: "\u200b\u200b") { id } }', { id }, alice.accessToken);
    expect(codeOf(edit)).toBe('BAD_USER_INPUT');
  });

  it('is blank over WebSocket too', async () => {
    const client = wsClient(srv.wsUrl, alice.accessToken);
    try {
      const sent = collect(client, SEND, { r: 'general', t: '\u200b\u3164' });
      await sent.next(1);
      expect(sent.results[0]?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    } finally {
      await client.dispose();
    }
  });
});

describe.each(ENGINE_NAMES)('control characters and lone surrogates in a message (%s engine)', (engine) => {
  let srv: RunningServer;
  let alice: Session;
  beforeAll(async () => {
    srv = await startServerOn(engine, { MESSAGE_RATE_LIMIT: '0' });
    alice = await signUp(srv.httpUrl, 'unstorable');
  });
  afterAll(() => srv.stop());

  // Redis answered U+FFFD for a lone surrogate where the memory engine kept it; NUL was stored on both
  const unstorable = ['a\u0000b', '\ud800', 'x\ud83dy', '\udc00 trailing', '\u001b[31mred', 'bell\u0007', 'del\u007f'];
  const kept = ['tab\tand\r\nlines', '😀 pair intact', 'é\u0301'];

  it('is refused with BAD_USER_INPUT on text over HTTP, for sendMessage, sendDirectMessage and editMessage; tabs, line breaks and whole pairs are kept as sent', async () => {
    const bob = await signUp(srv.httpUrl, 'unstorable_peer');
    for (const text of unstorable) {
      const r = await gql(srv.httpUrl, SEND, { r: 'general', t: text }, alice.accessToken);
      expect(codeOf(r), JSON.stringify(text)).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0]?.extensions?.field).toBe('text');
      const dm = await gql(srv.httpUrl, 'mutation($to: String!, $t: String!) { sendDirectMessage(to: $to, text: $t) { id } }', { to: bob.username, t: text }, alice.accessToken);
      expect(codeOf(dm), JSON.stringify(text)).toBe('BAD_USER_INPUT');
    }
    for (const text of kept) expect((await gql(srv.httpUrl, SEND, { r: 'general', t: text }, alice.accessToken)).data.sendMessage.text).toBe(text);
    const id = (await gql(srv.httpUrl, SEND, { r: 'general', t: 'to be edited' }, alice.accessToken)).data.sendMessage.id;
    const edit = await gql(srv.httpUrl, 'mutation($id: ID!, $t: String!) { editMessage(room: "general", id: $id, text: $t) { id } }', { id, t: 'a\u0000b' }, alice.accessToken);
    expect(codeOf(edit)).toBe('BAD_USER_INPUT');
    const history = (await gql(srv.httpUrl, '{ recentMessages(room: "general", limit: 50) { text } }', {}, alice.accessToken)).data.recentMessages as { text: string }[];
    expect(history.map((m) => m.text)).toEqual([...kept, 'to be edited']);
  });

  it('is refused over WebSocket too', async () => {
    const client = wsClient(srv.wsUrl, alice.accessToken);
    try {
      const sent = collect(client, SEND, { r: 'general', t: 'x\ud83dy' });
      await sent.next(1);
      expect(sent.results[0]?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    } finally {
      await client.dispose();
    }
  });
});
