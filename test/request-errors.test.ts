// Errors of the caller's making that graphql-js or graphql-ws report without a code (a variable of
// the wrong type or missing, a document over the token limit, no operation to run): the contract
// promises a code on every error a client can cause, on every transport.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, collectFrom, gql, signUp, wsClient, type Session } from './support/client.js';
import { startServer, type RunningServer } from './support/server.js';
import { sseSubscribe } from './support/sse.js';

let srv: RunningServer;
let ann: Session;
beforeAll(async () => {
  srv = await startServer();
  ann = await signUp(srv.httpUrl, 'vars');
});
afterAll(() => srv.stop());

const ROOM = 'query($r: String!) { room(name: $r) { name } }';
const SEND = 'mutation($r: String!, $t: String!) { sendMessage(room: $r, text: $t) { id } }';
const LIVE = 'subscription($r: String!) { messageAdded(room: $r) { id } }';
const PAGE = 'query($n: Int) { rooms(first: $n) { name } }';

const cases: [string, string, Record<string, unknown>, string][] = [
  ['a number for a String', ROOM, { r: 5 }, 'r'],
  ['null for a String!', ROOM, { r: null }, 'r'],
  ['a required variable left out', SEND, { r: 'general' }, 't'],
  ['a string for an Int', PAGE, { n: 'ten' }, 'n'],
  ['an Int beyond 32 bits', PAGE, { n: 2 ** 40 }, 'n'],
];

describe('a variable the schema cannot take is BAD_USER_INPUT naming it', () => {
  it.each(cases)('over HTTP: %s', async (_what, query, variables, variable) => {
    const r = await gql(srv.httpUrl, query, variables, ann.accessToken);
    expect(r.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', variable });
    expect(r.data).toBeUndefined();
  });

  it('over WebSocket, for a mutation and a subscription', async () => {
    const client = wsClient(srv.wsUrl, ann.accessToken);
    try {
      for (const [query, variables, variable] of [[SEND, { r: 'general', t: 7 }, 't'], [LIVE, {}, 'r']] as const) {
        const sub = collect(client, query, variables);
        await sub.next(1);
        expect(sub.results[0]?.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', variable });
        sub.dispose();
      }
    } finally {
      await client.dispose();
    }
  });

  it('over WebSocket no error carries yoga\'s `http` extension (the HTTP status), a refused over-budget query neither', async () => {
    const client = wsClient(srv.wsUrl, ann.accessToken);
    try {
      const pages = Array.from({ length: 15 }, (_, i) => `p${i}: recentMessages(room: "general", limit: 200) { id text }`).join(' ');
      const big = collect(client, `{ ${pages} }`);
      await big.next(1);
      const errors = (big.results[0]?.errors ?? big.error) as { extensions?: Record<string, unknown> }[];
      expect(errors[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      for (const e of errors) expect(e.extensions).not.toHaveProperty('http');
      const wrong = collect(client, ROOM, { r: 5 });
      await wrong.next(1);
      expect(wrong.results[0]?.errors?.[0]?.extensions).not.toHaveProperty('http');
    } finally {
      await client.dispose();
    }
  });

  it('over SSE, for a subscription', async () => {
    const stream = await sseSubscribe(srv.httpUrl, ann.accessToken, LIVE, { r: ['general'] });
    await stream.next(1);
    expect(stream.results[0]?.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', variable: 'r' });
    stream.close();
  });
});

describe('a document over the token limit is GRAPHQL_PARSE_FAILED, and no operation to run OPERATION_RESOLUTION_FAILURE', () => {
  const tooLong = `{ ${Array.from({ length: 300 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
  const twoOperations = 'query A { me { id } } query B { me { username } }';

  it('over HTTP', async () => {
    expect((await gql(srv.httpUrl, tooLong, {}, ann.accessToken)).errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    const res = await fetch(srv.httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ann.accessToken}` },
      body: JSON.stringify({ query: twoOperations, operationName: 'Z' }),
    });
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('OPERATION_RESOLUTION_FAILURE');
  });

  it('over WebSocket', async () => {
    const client = wsClient(srv.wsUrl, ann.accessToken);
    try {
      const long = collect(client, tooLong);
      await long.next(1);
      expect(((long.results[0]?.errors ?? long.error) as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
      const none = collectFrom((sink) => client.subscribe({ query: twoOperations, operationName: 'Z' }, sink));
      await none.next(1);
      expect(((none.results[0]?.errors ?? none.error) as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe('OPERATION_RESOLUTION_FAILURE');
    } finally {
      await client.dispose();
    }
  });

  it('over SSE', async () => {
    const stream = await sseSubscribe(srv.httpUrl, ann.accessToken, `subscription { ${Array.from({ length: 400 }, (_, i) => `a${i}: __typename`).join(' ')} }`);
    await stream.next(1);
    expect(stream.results[0]?.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    stream.close();
  });
});
