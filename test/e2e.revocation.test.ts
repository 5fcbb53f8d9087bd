import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, codeOf, gql, signUp, wsClient, type Session } from './support/client.js';
import { waitFor } from './support/net.js';
import { startDeployment, type Deployment } from './support/deployment.js';
import type { ServerProcess } from './support/server.js';

/** Resolves with the close code of a socket signed in with `token` on `wsUrl` once it closes. */
function closeCodeOf(wsUrl: string, token: string, opened: () => void) {
  return new Promise<number>((resolve) => {
    const client = wsClient(wsUrl, token, {
      on: { connected: opened, closed: (e) => resolve((e as { code: number }).code) },
    });
    client.subscribe({ query: 'subscription { directMessageAdded { id } }' }, { next() {}, error() {}, complete() {} });
  });
}

describe('revocations decided on one instance take effect on every instance', () => {
  let deployment: Deployment;
  let a: ServerProcess;
  let b: ServerProcess;
  let owner: Session;
  let guest: Session;

  beforeAll(async () => {
    deployment = await startDeployment({ env: { MESSAGE_RATE_LIMIT: '0' } });
    [a, b] = deployment.servers as [ServerProcess, ServerProcess];
    owner = await signUp(a.httpUrl, 'owner');
    guest = await signUp(a.httpUrl, 'guest');
  }, 60_000);
  afterAll(() => deployment?.stop());

  it('logout on A closes that login’s sockets on B with 4403', async () => {
    const s = await signUp(a.httpUrl, 'bye');
    let connected = false;
    const closed = closeCodeOf(b.wsUrl, s.accessToken, () => (connected = true));
    await waitFor(() => connected, { what: 'socket on B connected' });
    const out = await gql(a.httpUrl, 'mutation($t:String!){ logout(refreshToken:$t) }', { t: s.refreshToken });
    expect(out.data).toEqual({ logout: true });
    expect(await closed).toBe(4403);
  });

  it('a reused refresh token on A closes the login’s sockets on B with 4403', async () => {
    const s = await signUp(a.httpUrl, 'stolen');
    let connected = false;
    const closed = closeCodeOf(b.wsUrl, s.accessToken, () => (connected = true));
    await waitFor(() => connected, { what: 'socket on B connected' });
    const q = 'mutation($t:String!){ refresh(refreshToken:$t){ refreshToken } }';
    expect((await gql(a.httpUrl, q, { t: s.refreshToken })).errors).toBeUndefined();
    expect(codeOf(await gql(a.httpUrl, q, { t: s.refreshToken }))).toBe('UNAUTHENTICATED');
    expect(await closed).toBe(4403);
  });

  it('a member removed from a private room on A stops receiving it on B, and cannot resubscribe', async () => {
    const room = `club-${Date.now()}`;
    await gql(a.httpUrl, 'mutation($n:String!){ createRoom(name:$n, private:true){ name } }', { n: room }, owner.accessToken);
    await gql(a.httpUrl, 'mutation($r:String!,$u:String!){ inviteToRoom(room:$r, username:$u){ name } }', { r: room, u: guest.username }, owner.accessToken);
    const client = wsClient(b.wsUrl, guest.accessToken);
    const sub = collect(client, 'subscription($r:String!){ messageAdded(room:$r){ text } }', { r: room });
    const send = (t: string) => gql(a.httpUrl, 'mutation($r:String!,$t:String!){ sendMessage(room:$r, text:$t){ id } }', { r: room, t }, owner.accessToken);
    await waitFor(async () => {
      await send('ping');
      return sub.results.length > 0;
    }, { what: 'the guest receiving the room', intervalMs: 100 });
    const removed = await gql(a.httpUrl, 'mutation($r:String!,$u:String!){ removeFromRoom(room:$r, username:$u){ name } }', { r: room, u: guest.username }, owner.accessToken);
    expect(removed.errors).toBeUndefined();
    await waitFor(() => sub.error !== null, { what: 'the subscription ended with an error' });
    expect(JSON.stringify(sub.error)).toContain('FORBIDDEN');
    const before = sub.results.length;
    await send('after removal');
    expect(codeOf(await gql(b.httpUrl, 'query($r:String!){ recentMessages(room:$r){ id } }', { r: room }, guest.accessToken))).toBe('FORBIDDEN');
    const again = collect(client, 'subscription($r:String!){ messageAdded(room:$r){ text } }', { r: room });
    // a subscribe resolver that throws answers with one result carrying the error, then completes
    await waitFor(() => again.completed, { what: 'resubscribe refused' });
    expect(again.results[0]?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(sub.results.length).toBe(before);
    await client.dispose();
  });

  it('only the creator removes members; leaving a private room ends access too', async () => {
    const room = `guild-${Date.now()}`;
    await gql(a.httpUrl, 'mutation($n:String!){ createRoom(name:$n, private:true){ name } }', { n: room }, owner.accessToken);
    await gql(a.httpUrl, 'mutation($r:String!,$u:String!){ inviteToRoom(room:$r, username:$u){ name } }', { r: room, u: guest.username }, owner.accessToken);
    expect(codeOf(await gql(b.httpUrl, 'mutation($r:String!,$u:String!){ removeFromRoom(room:$r, username:$u){ name } }', { r: room, u: owner.username }, guest.accessToken))).toBe('FORBIDDEN');
    expect((await gql(b.httpUrl, 'mutation($n:String!){ leaveRoom(name:$n) }', { n: room }, guest.accessToken)).data).toEqual({ leaveRoom: true });
    expect(codeOf(await gql(a.httpUrl, 'query($r:String!){ recentMessages(room:$r){ id } }', { r: room }, guest.accessToken))).toBe('FORBIDDEN');
    expect((await gql(b.httpUrl, 'mutation($n:String!){ leaveRoom(name:$n) }', { n: 'general' }, guest.accessToken)).data).toEqual({ leaveRoom: false });
  });
});
