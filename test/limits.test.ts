import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTROSPECTION_MAX_DEPTH, MAX_DEPTH } from '../src/server/yoga.js';
import { gql, signUp, type Session } from './support/client.js';
import { startServer, type RunningServer } from './support/server.js';

/** `{ __type(name:"Message") { ofType { ofType ... { name } } } }` with `levels` levels of selection sets. */
function typeChain(levels: number): string {
  let inner = 'name';
  for (let i = 0; i < levels - 2; i++) inner = `ofType { ${inner} }`;
  return `{ __type(name: "Message") { ${inner} } }`;
}

/** The same depth, hidden behind fragments that spread each other. */
function fragmentChain(levels: number): string {
  const frags: string[] = [];
  for (let i = 0; i < levels - 2; i++) frags.push(`fragment F${i} on __Type { ofType { ${i === levels - 3 ? 'name' : `...F${i + 1}`} } }`);
  return `{ __type(name: "Message") { ...F0 } } ${frags.join(' ')}`;
}

/** `__schema { types { fields { type { ofType ... } } } }` deeper than the standard introspection query. */
function schemaChain(levels: number): string {
  let inner = 'name';
  for (let i = 0; i < levels - 5; i++) inner = `ofType { ${inner} }`;
  return `{ __schema { types { fields { type { ${inner} } } } } }`;
}

describe('query limits of the contract', () => {
  let srv: RunningServer;
  let user: Session;
  beforeAll(async () => {
    srv = await startServer();
    user = await signUp(srv.httpUrl, 'lim');
  });
  afterAll(() => srv.stop());

  it(`accepts a document ${MAX_DEPTH} levels deep and rejects one of ${MAX_DEPTH + 1}`, async () => {
    expect((await gql(srv.httpUrl, typeChain(MAX_DEPTH), {}, user.accessToken)).errors).toBeUndefined();
    const r = await gql(srv.httpUrl, typeChain(MAX_DEPTH + 1), {}, user.accessToken);
    expect(r.errors?.[0]?.message).toMatch(/depth limit/);
    expect(r.data).toBeUndefined();
  });

  it('counts depth through fragments', async () => {
    expect((await gql(srv.httpUrl, fragmentChain(MAX_DEPTH), {}, user.accessToken)).errors).toBeUndefined();
    expect((await gql(srv.httpUrl, fragmentChain(MAX_DEPTH + 1), {}, user.accessToken)).errors?.[0]?.message).toMatch(/depth limit/);
  });

  it('lets the standard introspection query through (GraphiQL, codegen) and nothing deeper', async () => {
    const standard = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true });
    const ok = await gql(srv.httpUrl, standard);
    expect(ok.errors).toBeUndefined();
    expect(ok.data.__schema.queryType.name).toBe('Query');
    expect((await gql(srv.httpUrl, schemaChain(INTROSPECTION_MAX_DEPTH))).errors).toBeUndefined();
    expect((await gql(srv.httpUrl, schemaChain(INTROSPECTION_MAX_DEPTH + 1))).errors?.[0]?.message).toMatch(/depth limit/);
  });
});
