import { type DocumentNode, parse, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as operations from '../client/operations.js';
import { schema } from '../src/schema/index.js';
import { MAX_RESULT_COST, resultCost } from '../src/server/cost.js';
import { collect, codeOf, gql, signUp, wsClient, type Session } from './support/client.js';
import { ENGINE_NAMES, startServerOn } from './support/engines.js';
import type { RunningServer } from './support/server.js';
import { sseSubscribe } from './support/sse.js';

/**
 * Issue 11, point 8: the result-size budget counts list sizes (first/limit, from literals and
 * variables) times the cost of their selection, on every transport; our own clients' documents fit.
 */

const fifteen = (limit: string) =>
  `query($room: String!${limit.startsWith('$') ? ', $n: Int' : ''}) { ${Array.from({ length: 15 }, (_, i) => `a${i}: recentMessages(room: $room, limit: ${limit}) { id text createdAt author { username } }`).join(' ')} }`;
const BIG_LITERAL = fifteen('200');
const BIG_VARIABLE = fifteen('$n');

/** A value for every variable of `document`: the largest page for page sizes, something valid for the rest. */
function variablesFor(document: DocumentNode): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const def of document.definitions) {
    if (def.kind !== 'OperationDefinition') continue;
    for (const v of def.variableDefinitions ?? []) {
      const type = print(v.type).replace(/!$/, '');
      values[v.variable.name.value] = type === 'Int' ? 200 : type === 'Boolean' ? true : type === 'ID' ? '1-0' : 'general';
    }
  }
  return values;
}

describe('the result-size cost of a document', () => {
  it('counts a list as its size times its selection, from a literal, a variable or the default', () => {
    const cost = (query: string, variables: Record<string, unknown> = {}) => resultCost({ schema, document: parse(query), variableValues: variables });
    expect(cost('{ recentMessages(room: "r", limit: 200) { id } }')).toBe(1 + 200 * 1);
    expect(cost('query($n: Int) { recentMessages(room: "r", limit: $n) { id text } }', { n: 10 })).toBe(1 + 10 * 2);
    expect(cost('{ recentMessages(room: "r") { id } }')).toBe(1 + 50); // the argument's default
    // an explicit null gets the resolver's fallback, which is the default
    expect(cost('query($n: Int) { recentMessages(room: "r", limit: $n) { id } }', { n: null })).toBe(1 + 50);
    expect(cost('{ onlineMembers(room: "r") { id username } }')).toBe(1 + 20 * 2);
    expect(cost('{ rooms { name } }')).toBe(1 + 100);
    expect(cost('{ rooms(first: 5) { name unreadCount } }')).toBe(1 + 5 * 2);
    expect(cost(BIG_LITERAL, { room: 'general' })).toBeGreaterThan(MAX_RESULT_COST);
    expect(cost(BIG_VARIABLE, { room: 'general', n: 200 })).toBeGreaterThan(MAX_RESULT_COST);
    expect(cost(BIG_VARIABLE, { room: 'general', n: 10 })).toBeLessThanOrEqual(MAX_RESULT_COST);
  });

  it("lets every document of our own clients through, at the largest page they may ask for (client/operations.ts: the typed client, the web page, the CLI)", () => {
    const documents = (Object.entries(operations) as [string, unknown][]).filter(
      (e): e is [string, DocumentNode] => typeof e[1] === 'object' && e[1] !== null && (e[1] as DocumentNode).kind === 'Document',
    );
    expect(documents.length).toBeGreaterThan(10);
    for (const [name, document] of documents) {
      // urql adds __typename everywhere: cost it as it is sent
      const sent = parse(print(document).replace(/\{/g, '{ __typename '));
      const cost = resultCost({ schema, document: sent, variableValues: variablesFor(sent) });
      expect(cost, name).not.toBeNull();
      expect(cost!, name).toBeLessThanOrEqual(MAX_RESULT_COST);
    }
  });
});

describe.each(ENGINE_NAMES)('a document over the result-size budget (%s engine)', (engine) => {
  let srv: RunningServer;
  let alice: Session;
  beforeAll(async () => {
    srv = await startServerOn(engine, { MESSAGE_RATE_LIMIT: '0' });
    alice = await signUp(srv.httpUrl, 'cost');
    await gql(srv.httpUrl, 'mutation { sendMessage(room: "general", text: "one") { id } }', {}, alice.accessToken);
  });
  afterAll(() => srv.stop());

  const expectRejected = (r: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }) => {
    expect(r.data ?? null).toBeNull();
    expect(r.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(r.errors?.[0]?.message).toMatch(/Result size limit of 5000 exceeded/);
  };

  it('is rejected over HTTP, sizes from literals and from variables; a smaller page runs', async () => {
    expectRejected(await gql(srv.httpUrl, BIG_LITERAL, { room: 'general' }, alice.accessToken));
    expectRejected(await gql(srv.httpUrl, BIG_VARIABLE, { room: 'general', n: 200 }, alice.accessToken));
    const small = await gql(srv.httpUrl, BIG_VARIABLE, { room: 'general', n: 10 }, alice.accessToken);
    expect(small.errors).toBeUndefined();
    expect(small.data.a14).toHaveLength(1);
  });

  it('is rejected over SSE', async () => {
    const stream = await sseSubscribe(srv.httpUrl, alice.accessToken, BIG_VARIABLE, { room: 'general', n: 200 });
    await stream.ended;
    expectRejected(stream.results[0]!);
  });

  it('is rejected over WebSocket, and the socket stays', async () => {
    const client = wsClient(srv.wsUrl, alice.accessToken);
    try {
      const big = collect(client, BIG_VARIABLE, { room: 'general', n: 200 });
      await big.next(1);
      const error = (big.results[0] ?? { errors: big.error }) as Parameters<typeof expectRejected>[0];
      expectRejected(Array.isArray(error) ? { errors: error } : error);
      const small = collect(client, BIG_VARIABLE, { room: 'general', n: 10 });
      await small.next(1);
      expect(small.results[0]?.errors).toBeUndefined();
      expect(codeOf({ errors: small.results[0]?.errors as never })).toBeUndefined();
    } finally {
      await client.dispose();
    }
  });
});
