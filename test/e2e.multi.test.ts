import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, codeOf, gql, signUp, wsClient, type Session } from './support/client.js';
import { startDeployment, type Deployment } from './support/deployment.js';
import type { ServerProcess } from './support/server.js';
import { waitFor } from './support/net.js';

const SEND = 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }';

describe('three server processes on one Redis behave as one server', () => {
  let deployment: Deployment;
  let servers: ServerProcess[] = [];
  let alice: Session;
  let bob: Session;

  beforeAll(async () => {
    deployment = await startDeployment({ instances: 3, env: { MESSAGE_RATE_LIMIT: '1000/1', LOGIN_RATE_LIMIT: '3/60' } });
    servers = deployment.servers;
    alice = await signUp(servers[0]!.httpUrl, 'alice');
    bob = await signUp(servers[1]!.httpUrl, 'bob');
  }, 90_000);
  afterAll(() => deployment?.stop());

  it('shares users and tokens: registered on A, logs in on B, its token works on C', async () => {
    const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const login = await gql(b.httpUrl, 'mutation($u:String!,$p:String!){ login(username:$u,password:$p){ accessToken user { id } } }', { u: alice.username, p: alice.password });
    expect(login.data.login.user.id).toBe(alice.userId);
    expect((await gql(c.httpUrl, '{ me { id } }', {}, alice.accessToken)).data).toEqual({ me: { id: alice.userId } });
    expect(codeOf(await gql(a.httpUrl, 'mutation($u:String!,$p:String!){ register(username:$u,password:$p){ accessToken } }', { u: bob.username, p: 'whatever123' }))).toBe('CONFLICT');
  });

  it('shares rooms and private membership across instances', async () => {
    const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const room = `priv-${Date.now()}`;
    await gql(a.httpUrl, 'mutation($n:String!){ createRoom(name:$n, private:true){ name } }', { n: room }, alice.accessToken);
    expect(codeOf(await gql(b.httpUrl, SEND, { r: room, t: 'x' }, bob.accessToken))).toBe('FORBIDDEN');
    await gql(c.httpUrl, 'mutation($r:String!,$u:String!){ inviteToRoom(room:$r, username:$u){ name } }', { r: room, u: bob.username }, alice.accessToken);
    expect((await gql(b.httpUrl, SEND, { r: room, t: 'now I can' }, bob.accessToken)).errors).toBeUndefined();
    const rooms = await gql(a.httpUrl, '{ rooms { name } }', {}, bob.accessToken);
    expect(rooms.data.rooms.map((r: { name: string }) => r.name)).toContain(room);
  });

  it('delivers concurrent sends from every instance to subscribers on every instance in one order with the same ids', async () => {
    const room = `fan-${Date.now()}`;
    await gql(servers[0]!.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, alice.accessToken);
    const clients = servers.flatMap((s) => [wsClient(s.wsUrl, alice.accessToken), wsClient(s.wsUrl, bob.accessToken)]);
    const subs = clients.map((c) => collect(c, 'subscription($r:String!){ messageAdded(room:$r){ id text } }', { r: room }));
    await Promise.all(servers.map((s) => waitForSubscriptions(s, 2)));
    const perSender = 50;
    const sent = await Promise.all(
      servers.map(async (s, i) => {
        const ids: string[] = [];
        for (let n = 0; n < perSender; n++) ids.push((await gql(s.httpUrl, SEND, { r: room, t: `s${i}-${n}` }, i % 2 ? bob.accessToken : alice.accessToken)).data.sendMessage.id);
        return ids;
      }),
    );
    const total = perSender * servers.length;
    const received = await Promise.all(subs.map((s) => s.next(total, 20_000)));
    const reference = received[0]!.map((r) => r.data.messageAdded.id);
    expect(reference).toHaveLength(total);
    for (const r of received) expect(r.map((x) => x.data.messageAdded.id)).toEqual(reference);
    const numeric = reference.map((id: string) => id.split('-').map(BigInt) as [bigint, bigint]);
    for (let i = 1; i < numeric.length; i++) {
      const [pm, ps] = numeric[i - 1]!;
      const [m, s] = numeric[i]!;
      expect(m > pm || (m === pm && s > ps)).toBe(true);
    }
    expect(new Set(reference)).toEqual(new Set(sent.flat()));
    // each sender's messages arrive in the order it sent them
    for (let i = 0; i < servers.length; i++) {
      const mine = received[0]!.map((r) => r.data.messageAdded.text).filter((t: string) => t.startsWith(`s${i}-`));
      expect(mine).toEqual(Array.from({ length: perSender }, (_, n) => `s${i}-${n}`));
    }
    for (const s of subs) s.dispose();
    await Promise.all(clients.map((c) => c.dispose()));
  });

  it('resumes with after on another instance without gap or duplicate while others send', async () => {
    const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const room = `resume-${Date.now()}`;
    await gql(a.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, alice.accessToken);
    const early: string[] = [];
    for (let i = 0; i < 20; i++) early.push((await gql(a.httpUrl, SEND, { r: room, t: `e${i}` }, alice.accessToken)).data.sendMessage.id);
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending && i < 300; i++) await gql(i % 2 ? a.httpUrl : b.httpUrl, SEND, { r: room, t: `l${i}` }, alice.accessToken);
    })();
    const client = wsClient(c.wsUrl, bob.accessToken);
    const sub = collect(client, 'subscription($r:String!,$a:ID){ messageAdded(room:$r, after:$a){ id } }', { r: room, a: early[9] });
    await sub.next(40, 20_000);
    sending = false;
    await sender;
    const log = await allIds(a, room, alice.accessToken);
    const expected = log.slice(log.indexOf(early[9]!) + 1);
    await sub.next(expected.length, 20_000);
    expect(sub.results.map((r) => r.data.messageAdded.id)).toEqual(expected);
    sub.dispose();
    await client.dispose();
  });

  it('never misses a message sent right after the subscription is confirmed (graphql-redis-subscriptions #632)', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    for (let round = 0; round < 10; round++) {
      const room = `race-${Date.now()}-${round}`;
      await gql(a.httpUrl, 'mutation($n:String!){ createRoom(name:$n){ name } }', { n: room }, alice.accessToken);
      const first = (await gql(a.httpUrl, SEND, { r: room, t: 'before' }, alice.accessToken)).data.sendMessage.id;
      const client = wsClient(b.wsUrl, bob.accessToken);
      const sub = collect(client, 'subscription($r:String!,$a:ID){ messageAdded(room:$r, after:$a){ text } }', { r: room, a: first });
      // fire while the subscription is being set up on B
      const sends = Array.from({ length: 5 }, (_, i) => gql(a.httpUrl, SEND, { r: room, t: `m${i}` }, alice.accessToken));
      await Promise.all(sends);
      const got = await sub.next(5, 10_000);
      expect(got.map((r) => r.data.messageAdded.text).sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      sub.dispose();
      await client.dispose();
    }
  });

  it('rotates refresh tokens across instances and detects reuse on another one', async () => {
    const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const s = await signUp(a.httpUrl, 'rot');
    const q = 'mutation($t:String!){ refresh(refreshToken:$t){ refreshToken } }';
    const next = (await gql(b.httpUrl, q, { t: s.refreshToken })).data.refresh.refreshToken;
    expect(codeOf(await gql(c.httpUrl, q, { t: s.refreshToken }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await gql(a.httpUrl, q, { t: next }))).toBe('UNAUTHENTICATED');
  });

  it('counts failed logins for a username on every instance together', async () => {
    const s = await signUp(servers[0]!.httpUrl, 'lock');
    const login = (i: number, p: string) => gql(servers[i]!.httpUrl, 'mutation($u:String!,$p:String!){ login(username:$u,password:$p){ accessToken } }', { u: s.username, p });
    for (let i = 0; i < 3; i++) expect(codeOf(await login(i, 'wrong password'))).toBe('UNAUTHENTICATED');
    const locked = await login(1, s.password);
    expect(codeOf(locked)).toBe('RATE_LIMITED');
    expect(locked.errors![0]!.extensions!.retryAfter).toBeGreaterThan(0);
  });
});

async function allIds(s: ServerProcess, room: string, token: string): Promise<string[]> {
  const ids: string[] = [];
  let before: string | undefined;
  for (;;) {
    const page = (await gql(s.httpUrl, 'query($r:String!,$b:ID){ recentMessages(room:$r, limit:200, before:$b){ id } }', { r: room, b: before }, token)).data.recentMessages as { id: string }[];
    ids.unshift(...page.map((m) => m.id));
    if (page.length < 200) return ids;
    before = page[0]!.id;
  }
}

async function waitForSubscriptions(s: ServerProcess, atLeast: number) {
  await waitFor(async () => {
    const m = /^chat_active_subscriptions (\d+)/m.exec(await (await fetch(`${s.url}/metrics`)).text());
    return Number(m?.[1] ?? 0) >= atLeast;
  }, { what: `${atLeast} subscriptions on ${s.url}` });
}
