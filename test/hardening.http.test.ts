import { request as httpRequest } from 'node:http';
import { Readable, Writable } from 'node:stream';
import { type GraphQLError, Lexer, Source, TokenKind } from 'graphql';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackendUnavailableError } from '../src/errors.js';
import { login, register } from '../src/resolvers/auth.js';
import type { Services } from '../src/resolvers/context.js';
import { schema } from '../src/schema/index.js';
import { createChatYoga, MAX_ALIASES, MAX_COST, MAX_DEPTH, MAX_DIRECTIVES, MAX_TOKENS } from '../src/server/yoga.js';
import { codeOf, gql, signUp, type GraphQLResponse, type Session } from './support/client.js';
import { startServer, type RunningServer } from './support/server.js';
import { memoryServices } from './support/services.js';

/**
 * GraphQL over HTTP, issue 5 "Hardening": query limits (graphql-armor 3.2.0, pinned, plus two
 * rules that close gaps in it), production switches, transport rules, the login throttle against
 * aliases, and error masking. A rejected document carries a sendMessage mutation wherever the
 * schema allows, and the room it would write to stays empty: rejected before any resolver ran.
 */

/** POST with the viewer's token; `operationName` picks one operation of a document. */
async function post<T = Record<string, unknown>>(url: string, token: string, query: string, variables: Record<string, unknown> = {}, operationName?: string): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables, operationName }),
  });
  return (await res.json()) as GraphQLResponse<T>;
}

/** The fields of a pino log line that the error-masking tests read. */
interface LogLine {
  level?: number;
  requestId?: string;
  err?: { message?: string };
}

/** A validation (or parse) error and no execution at all. */
function expectRejected(r: GraphQLResponse<unknown>, message: RegExp, code = 'GRAPHQL_VALIDATION_FAILED') {
  expect(r.data, JSON.stringify(r)).toBeUndefined();
  expect(r.errors?.map((e) => e.message).join(' | ')).toMatch(message);
  expect(r.errors?.every((e) => typeof e.extensions?.code === 'string')).toBe(true);
  expect(codeOf(r)).toBe(code);
}

/** Tokens of a document as graphql-js's lexer (and so armor's token count) sees them. */
function tokenCount(document: string): number {
  const lexer = new Lexer(new Source(document));
  let n = 0;
  while (lexer.advance().kind !== TokenKind.EOF) n++;
  return n;
}

/** `__type(name:"Message") { ofType { ... { name } } }`: `levels` deep (only introspection nests that far here). */
function deepSelection(levels: number): string {
  let inner = 'name';
  for (let i = 0; i < levels - 2; i++) inner = `ofType { ${inner} }`;
  return `__type(name: "Message") { ${inner} }`;
}

/** The same depth behind named fragments that spread each other; returns [selection, fragment definitions]. */
function deepThroughFragments(levels: number, prefix = 'F'): [string, string] {
  const names = Array.from({ length: levels - 2 }, (_, i) => (i === 0 ? prefix : `${prefix}${i}`));
  const frags = names.map((name, i) => `fragment ${name} on __Type { ofType { ${i === names.length - 1 ? 'name' : `...${names[i + 1]}`} } }`);
  return [`__type(name: "Message") { ...${names[0]} }`, frags.join('\n')];
}

/** The same depth behind inline fragments. */
function deepThroughInlineFragments(levels: number): string {
  let inner = 'name';
  for (let i = 0; i < levels - 2; i++) inner = `... on __Type { ofType { ${inner} } }`;
  return `__type(name: "Message") { ${inner} }`;
}

/** `n` sendMessage calls into $room, all aliased but the last when `n` is one over the cap. */
function sends(n: number, selection = '{ id }', unaliasedLast = false): string {
  return Array.from({ length: n }, (_, i) => `${unaliasedLast && i === n - 1 ? '' : `a${i}: `}sendMessage(room: $room, text: "m${i}") ${selection}`).join('\n');
}

describe('query limits over HTTP (graphql-armor 3.2.0, pinned)', () => {
  let srv: RunningServer;
  let user: Session;
  let rooms = 0;
  beforeAll(async () => {
    srv = await startServer({ MESSAGE_RATE_LIMIT: '0' });
    user = await signUp(srv.httpUrl, 'hq');
  });
  afterAll(() => srv.stop());

  const send = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, operationName?: string) =>
    post<T>(srv.httpUrl, user.accessToken, query, variables, operationName);
  /** A new room of the viewer, empty. */
  async function freshRoom(): Promise<string> {
    const name = `hq-${process.pid}-${Date.now() % 1e6}-${rooms++}`;
    const r = await send('mutation($n: String!) { createRoom(name: $n) { name } }', { n: name });
    expect(r.errors).toBeUndefined();
    return name;
  }
  const messagesIn = async (room: string): Promise<number> => {
    const r = await send<{ recentMessages: { id: string }[] }>('query($room: String!) { recentMessages(room: $room, limit: 200) { id } }', { room });
    expect(r.errors).toBeUndefined();
    return r.data!.recentMessages.length;
  };

  describe(`depth over ${MAX_DEPTH}`, () => {
    /** A document whose operation Send posts a message, beside a query of `deep` depth. */
    const withSend = (deep: string, fragments = '', queryName = 'Deep') =>
      `mutation Send($room: String!) { sendMessage(room: $room, text: "depth") { id } }\nquery ${queryName} { ${deep} }\n${fragments}`;

    it('is rejected, and the mutation in the same document never runs; at the bound it runs', async () => {
      const room = await freshRoom();
      const ok = await send(withSend(deepSelection(MAX_DEPTH)), { room }, 'Send');
      expect(ok.errors).toBeUndefined();
      expect(await messagesIn(room)).toBe(1);

      expectRejected(await send(withSend(deepSelection(MAX_DEPTH + 1)), { room }, 'Send'), /Query depth limit of 10 exceeded, found 11/);
      expect(await messagesIn(room)).toBe(1);
    });

    it('is counted through named fragments', async () => {
      const room = await freshRoom();
      expect((await send(withSend(...deepThroughFragments(MAX_DEPTH)), { room }, 'Send')).errors).toBeUndefined();
      expectRejected(await send(withSend(...deepThroughFragments(MAX_DEPTH + 1)), { room }, 'Send'), /depth limit of 10 exceeded, found 11/);
      expect(await messagesIn(room)).toBe(1);
    });

    it('is counted through inline fragments', async () => {
      const room = await freshRoom();
      expect((await send(withSend(deepThroughInlineFragments(MAX_DEPTH)), { room }, 'Send')).errors).toBeUndefined();
      expectRejected(await send(withSend(deepThroughInlineFragments(MAX_DEPTH + 1)), { room }, 'Send'), /depth limit of 10 exceeded, found 11/);
      expect(await messagesIn(room)).toBe(1);
    });

    it('bypass regression: an operation named __schema gets no introspection exemption', async () => {
      const room = await freshRoom();
      expectRejected(await send(withSend(deepSelection(MAX_DEPTH + 1), '', '__schema'), { room }, 'Send'), /depth limit of 10 exceeded/);
      expectRejected(await send(`query __schema { ${deepSelection(MAX_DEPTH + 1)} }`), /depth limit of 10 exceeded/);
      expect(await messagesIn(room)).toBe(0);
    });

    it('bypass regression: a fragment named __schema gets no introspection exemption (graphql-armor#823)', async () => {
      const room = await freshRoom();
      const [deep, fragments] = deepThroughFragments(MAX_DEPTH + 1, '__schema');
      expect(fragments).toContain('fragment __schema on __Type');
      expectRejected(await send(withSend(deep, fragments), { room }, 'Send'), /depth limit of 10 exceeded/);
      expect(await messagesIn(room)).toBe(0);
    });
  });

  describe(`aliases over ${MAX_ALIASES}`, () => {
    it('are rejected before any of the aliased mutations runs; at the cap they all run', async () => {
      const room = await freshRoom();
      const atCap = await send(`mutation($room: String!) { ${sends(MAX_ALIASES + 1, '{ id }', true)} }`, { room });
      expect(atCap.errors).toBeUndefined();
      expect(await messagesIn(room)).toBe(MAX_ALIASES + 1); // 15 aliased + 1 plain

      expectRejected(await send(`mutation($room: String!) { ${sends(MAX_ALIASES + 1)} }`, { room }), /Aliases limit of 15 exceeded, found 16/);
      expect(await messagesIn(room)).toBe(MAX_ALIASES + 1);
    });

    it('are counted inside named fragments and inline fragments', async () => {
      const room = await freshRoom();
      const inFragment = `mutation($room: String!) { a99: sendMessage(room: $room, text: "x") { id } ...S }\nfragment S on Mutation { ${sends(MAX_ALIASES)} }`;
      expectRejected(await send(inFragment, { room }), /Aliases limit of 15 exceeded, found 16/);
      const inline = `mutation($room: String!) { ... on Mutation { ${sends(MAX_ALIASES + 1)} } }`;
      expectRejected(await send(inline, { room }), /Aliases limit of 15 exceeded, found 16/);
      // a fragment spread twice counts twice
      const twice = `mutation($room: String!) { ...S ...S }\nfragment S on Mutation { ${sends(8)} }`;
      expectRejected(await send(twice, { room }), /Aliases limit of 15 exceeded, found 16/);
      expect(await messagesIn(room)).toBe(0);
    });

    it('bypass found and closed: an alias named __typename is not counted by armor, so aliases starting with __ are refused', async () => {
      const room = await freshRoom();
      // armor's allow-list matches the alias too: without the extra rule this document ran 16 sends
      const sixteen = `mutation($room: String!) { ${sends(MAX_ALIASES)}\n__typename: sendMessage(room: $room, text: "sneaky") { id } }`;
      expectRejected(await send(sixteen, { room }), /alias "__typename" is reserved/);
      expect(await messagesIn(room)).toBe(0);
      // and a lone one, anywhere
      expectRejected(await send('{ me { __typename: username } }'), /alias "__typename" is reserved/);
      // the harmless spelling of the real field stays valid
      expect((await send('{ __typename: __typename me { id } }')).errors).toBeUndefined();
    });

    it('bypass regression: __schema as the alias of a real field is refused (armor keys its introspection exemption on the field name)', async () => {
      const room = await freshRoom();
      expectRejected(await send('mutation($room: String!) { __schema: sendMessage(room: $room, text: "x") { id } }', { room }), /alias "__schema" is reserved/);
      expectRejected(await send('{ __schema: me { id } }'), /alias "__schema" is reserved/);
      expect(await messagesIn(room)).toBe(0);
    });
  });

  describe(`directives over ${MAX_DIRECTIVES}`, () => {
    const withDirectives = (n: number) => `mutation($room: String!) { sendMessage(room: $room, text: "d") { id ${'__typename @include(if: true) '.repeat(n)} } }`;

    it('are rejected before the mutation runs; at the cap it runs', async () => {
      const room = await freshRoom();
      expect((await send(withDirectives(MAX_DIRECTIVES), { room })).errors).toBeUndefined();
      expect(await messagesIn(room)).toBe(1);
      expectRejected(await send(withDirectives(MAX_DIRECTIVES + 1), { room }), /Directives limit of 50 exceeded, found 51/);
      expect(await messagesIn(room)).toBe(1);
    });

    it('bypass found and closed: directives on repeated spreads of one fragment are counted (armor 3.2.0 drops them)', async () => {
      const room = await freshRoom();
      const spreads = '...M @include(if: true) @skip(if: false) '.repeat(26);
      const doc = `mutation($room: String!) { sendMessage(room: $room, text: "d") { ${spreads} } }\nfragment M on Message { id }`;
      expectRejected(await send(doc, { room }), /Directives limit of 50 exceeded, found 52/);
      expect(await messagesIn(room)).toBe(0);
    });
  });

  describe(`tokens over ${MAX_TOKENS}`, () => {
    /** A sendMessage document of exactly `n` tokens. */
    function ofTokens(n: number): string {
      const head = 'mutation($room: String!) { sendMessage(room: $room, text: "t") { id ';
      const base = tokenCount(`${head}} }`);
      // five different fields in turn: n copies of one field cost graphql-js's overlap check n² and it gives up
      const filler = Array.from({ length: n - base }, (_, i) => ['id', 'text', 'room', 'createdAt', '__typename'][i % 5]).join(' ');
      const doc = `${head}${filler} } }`;
      expect(tokenCount(doc)).toBe(n);
      return doc;
    }

    it('are rejected while parsing, before the mutation runs; at the cap it runs', async () => {
      const room = await freshRoom();
      expect((await send(ofTokens(MAX_TOKENS), { room })).errors).toBeUndefined();
      expect(await messagesIn(room)).toBe(1);
      expectRejected(await send(ofTokens(MAX_TOKENS + 1), { room }), /Token limit of 1000 exceeded/, 'GRAPHQL_PARSE_FAILED');
      expect(await messagesIn(room)).toBe(1);
    });
  });

  describe(`cost over the budget of ${MAX_COST} (armor's default weights)`, () => {
    /** 16 sendMessage calls (15 aliased, within the alias cap) each selecting a fragment of `width` fields. */
    const costly = (width: number, operation = '', fragment = 'U') =>
      `mutation ${operation}($room: String!) { ${sends(MAX_ALIASES + 1, `{ author { ...${fragment} } }`, true)} }\nfragment ${fragment} on User { ${'__typename '.repeat(width)} }`;

    it('is rejected before any of the mutations runs, within the depth, alias and token limits', async () => {
      const room = await freshRoom();
      const cheap = costly(20);
      expect(tokenCount(cheap)).toBeLessThanOrEqual(MAX_TOKENS);
      expect((await send(cheap, { room })).errors).toBeUndefined();
      expect(await messagesIn(room)).toBe(MAX_ALIASES + 1);

      const dear = costly(120);
      expect(tokenCount(dear)).toBeLessThanOrEqual(MAX_TOKENS);
      expectRejected(await send(dear, { room }), /Query Cost limit of 5000 exceeded/);
      expect(await messagesIn(room)).toBe(MAX_ALIASES + 1);
    });

    it('bypass regression: an operation or fragment named __schema is costed too', async () => {
      const room = await freshRoom();
      expectRejected(await send(costly(120, '__schema'), { room }), /Query Cost limit of 5000 exceeded/);
      expectRejected(await send(costly(120, '', '__schema'), { room }), /Query Cost limit of 5000 exceeded/);
      expect(await messagesIn(room)).toBe(0);
    });
  });
});

describe('NODE_ENV=production over HTTP', () => {
  let prod: RunningServer;
  let dev: RunningServer;
  let user: Session;
  beforeAll(async () => {
    [prod, dev] = await Promise.all([startServer({ NODE_ENV: 'production' }), startServer({ NODE_ENV: 'development' })]);
    user = await signUp(prod.httpUrl, 'hp');
  });
  afterAll(() => Promise.all([prod.stop(), dev.stop()]));

  it('refuses introspection (__schema and __type), which development answers', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "Query") { name } }']) {
      const r = await gql(prod.httpUrl, query);
      expect(r.data).toBeUndefined();
      expect(r.errors?.[0]?.message).toMatch(/introspection has been disabled/);
      expect(codeOf(r)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect((await gql(dev.httpUrl, query)).errors).toBeUndefined();
    }
    // ordinary queries still work
    expect((await gql(prod.httpUrl, '{ me { username } }', {}, user.accessToken)).data?.me.username).toBe(user.username);
  });

  it('gives no field suggestions, which development gives', async () => {
    const prodErr = await gql(prod.httpUrl, '{ mee { id } }', {}, user.accessToken);
    expect(prodErr.errors?.[0]?.message).toMatch(/Cannot query field "mee"/);
    expect(JSON.stringify(prodErr)).not.toMatch(/Did you mean/);
    expect(JSON.stringify(prodErr)).not.toContain('"me"');
    expect((await gql(dev.httpUrl, '{ mee { id } }')).errors?.[0]?.message).toMatch(/Did you mean "me"\?/);
  });

  it('does not serve GraphiQL to a browser, which development does', async () => {
    const page = (url: string) => fetch(url, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    const devPage = await page(dev.httpUrl);
    expect(devPage.status).toBe(200);
    expect(await devPage.text()).toMatch(/graphiql/i);

    const prodPage = await page(prod.httpUrl);
    expect(prodPage.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    expect(await prodPage.text()).not.toMatch(/graphiql/i);
  });
});

describe('the HTTP transport', () => {
  let srv: RunningServer;
  let user: Session;
  let room: string;
  beforeAll(async () => {
    srv = await startServer({ MESSAGE_RATE_LIMIT: '0' });
    user = await signUp(srv.httpUrl, 'ht');
    room = `ht-${process.pid}-${Date.now() % 1e6}`;
    expect((await gql(srv.httpUrl, 'mutation($n: String!) { createRoom(name: $n) { name } }', { n: room }, user.accessToken)).errors).toBeUndefined();
  });
  afterAll(() => srv.stop());
  afterEach(async () => {
    // whatever a test sent that should have been refused, nothing reached the room
    const r = await gql(srv.httpUrl, 'query($room: String!) { recentMessages(room: $room) { text } }', { room }, user.accessToken);
    expect(r.data?.recentMessages).toEqual([]);
  });

  const SEND = 'mutation($room: String!) { sendMessage(room: $room, text: "should not arrive") { id } }';
  const headers = () => ({ 'content-type': 'application/json', authorization: `Bearer ${user.accessToken}` });

  it('rejects a batched JSON array body with 4xx and runs none of it', async () => {
    const res = await fetch(srv.httpUrl, { method: 'POST', headers: headers(), body: JSON.stringify([{ query: SEND, variables: { room } }, { query: SEND, variables: { room } }]) });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const body = (await res.json()) as GraphQLResponse;
    expect(body.errors?.[0]?.message).toMatch(/[Bb]atching/);
  });

  it('refuses a mutation over GET with 405 and runs nothing; a query over GET works', async () => {
    const get = (query: string, variables: Record<string, unknown>) =>
      fetch(`${srv.httpUrl}?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify(variables))}`, { headers: { authorization: `Bearer ${user.accessToken}`, accept: 'application/json' } });
    const mutation = await get(SEND, { room });
    expect(mutation.status).toBe(405);
    expect(((await mutation.json()) as GraphQLResponse).errors?.[0]?.message).toMatch(/mutation/i);
    const query = await get('{ me { username } }', {});
    expect(query.status).toBe(200);
    expect(((await query.json()) as GraphQLResponse<{ me: { username: string } }>).data!.me.username).toBe(user.username);
  });

  /** A sendMessage request padded (with an unused variable) to `bytes`. */
  function padded(bytes: number): Buffer {
    const base = JSON.stringify({ query: SEND, variables: { room, pad: '' } });
    const body = Buffer.from(JSON.stringify({ query: SEND, variables: { room, pad: 'x'.repeat(bytes - Buffer.byteLength(base)) } }));
    expect(body.length).toBe(bytes);
    return body;
  }

  it('answers 413 to a body over 64 KiB with Content-Length, and takes one at 64 KiB', async () => {
    const over = await fetch(srv.httpUrl, { method: 'POST', headers: headers(), body: new Uint8Array(padded(64 * 1024 + 1)) });
    expect(over.status).toBe(413);
    // the server is fine afterwards, and a body at the cap is read (a query, so the room stays empty)
    const at = JSON.stringify({ query: '{ me { username } }', variables: { pad: '' } });
    const body = JSON.stringify({ query: '{ me { username } }', variables: { pad: 'x'.repeat(64 * 1024 - at.length) } });
    expect(Buffer.byteLength(body)).toBe(64 * 1024);
    const ok = await fetch(srv.httpUrl, { method: 'POST', headers: headers(), body });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as GraphQLResponse<{ me: { username: string } }>).data!.me.username).toBe(user.username);
  });

  it('answers 413 to a chunked body over 64 KiB without Content-Length', async () => {
    const body = padded(200 * 1024);
    const chunks = Array.from({ length: Math.ceil(body.length / 8192) }, (_, i) => body.subarray(i * 8192, (i + 1) * 8192));
    const { status, contentLength } = await new Promise<{ status: number; contentLength: unknown }>((resolve, reject) => {
      const req = httpRequest(srv.httpUrl, { method: 'POST', headers: headers() }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentLength: req.getHeader('content-length') }));
      });
      req.on('error', reject);
      Readable.from(chunks).pipe(req); // no Content-Length: Node sends Transfer-Encoding: chunked
    });
    expect(contentLength).toBeUndefined();
    expect(status).toBe(413);
    expect((await fetch(`${srv.url}/health`)).status).toBe(200);
  });
});

describe('alias brute force on login (LOGIN_RATE_LIMIT=10/60)', () => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServer({ LOGIN_RATE_LIMIT: '10/60', LOGIN_IP_RATE_LIMIT: '0' });
  });
  afterAll(() => srv.stop());

  const guesses = (n: number) => Array.from({ length: n }, (_, i) => `g${i}: login(username: $u, password: "wrong guess ${i}") { accessToken }`).join('\n');
  const LOGIN = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }';

  it('12 aliased wrong guesses: at most 10 are checked, the rest RATE_LIMITED, and then the right password is RATE_LIMITED too', async () => {
    const victim = await signUp(srv.httpUrl, 'victim');
    const seen: unknown[] = [];
    // login is AuthPayload!: mutation fields run one after another and the first failure nulls the
    // whole result, so a document checks one password and its remaining aliases never run
    const first = await gql(srv.httpUrl, `mutation($u: String!) { ${guesses(12)} }`, { u: victim.username });
    expect(first.data ?? null).toBeNull();
    expect(first.errors?.map((e) => [e.extensions?.code, (e as { path?: unknown[] }).path?.[0]])).toEqual([['UNAUTHENTICATED', 'g0']]);
    seen.push(codeOf(first));
    for (let i = 1; i < 12; i++) {
      const r = await gql(srv.httpUrl, `mutation($u: String!) { ${guesses(12)} }`, { u: victim.username });
      expect(r.errors).toHaveLength(1);
      seen.push(codeOf(r));
      if (codeOf(r) === 'RATE_LIMITED') expect(r.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(0);
    }
    expect(seen.filter((c) => c === 'UNAUTHENTICATED').length).toBeLessThanOrEqual(10);
    expect(seen.slice(10)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);

    const right = await gql(srv.httpUrl, LOGIN, { u: victim.username, p: victim.password });
    expect(codeOf(right)).toBe('RATE_LIMITED');
    expect(right.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(0);
  });

  it('aliases that do run together (the resolver called in parallel, as for query fields) each count before the password is checked', async () => {
    // the HTTP pipeline runs mutation fields serially; this is the worst case of parallel calls
    const services = memoryServices({ loginRateLimit: { count: 10, seconds: 60 } });
    await register({ services, viewer: null }, { username: 'victim', password: 'correct horse battery' });
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => login({ services, viewer: null }, { username: 'victim', password: `wrong guess ${i}` })));
    const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as GraphQLError).extensions.code : 'OK'));
    expect(codes.filter((c) => c === 'UNAUTHENTICATED').length).toBeLessThanOrEqual(10);
    expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBe(12 - codes.filter((c) => c === 'UNAUTHENTICATED').length);
    expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(2);
    const right = await Promise.allSettled([login({ services, viewer: null }, { username: 'victim', password: 'correct horse battery' })]);
    expect(right[0].status === 'rejected' && (right[0].reason as GraphQLError).extensions.code).toBe('RATE_LIMITED');
  });
});

describe('unexpected errors', () => {
  const LOGIN = 'mutation { login(username: "alice", password: "correct horse battery") { accessToken } }';
  const SECRET_DETAIL = 'ECONNREFUSED 10.1.2.3:6379 (internal detail)';

  /** A yoga built as the server builds it, on services whose store fails, logging into `lines`. */
  function yogaWithFailingStore(failure: () => Error) {
    const lines: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write: (chunk, _enc, done) => {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const base = memoryServices();
    const store = new Proxy(base.store, {
      get: () => () => Promise.reject(failure()),
    });
    const services: Services = { ...base, store };
    return { lines, yoga: createChatYoga({ schema, services, logger, production: false, clientAddress: () => null }) };
  }

  async function call(yoga: ReturnType<typeof yogaWithFailingStore>['yoga'], requestId: string) {
    const res = await yoga.fetch(
      new Request('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify({ query: LOGIN }),
      }),
    );
    return { status: res.status, text: await res.text() };
  }

  const savedNodeEnv = process.env.NODE_ENV;
  afterEach(() => {
    if (savedNodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = savedNodeEnv;
  });

  it.each([['unset', undefined], ['development', 'development'], ['production', 'production']])(
    'are masked as "Unexpected error." with INTERNAL_SERVER_ERROR (NODE_ENV %s) and logged with the request id and the real message',
    async (_label, nodeEnv) => {
      if (nodeEnv === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = nodeEnv;
      const { yoga, lines } = yogaWithFailingStore(() => new Error(SECRET_DETAIL));
      const { text } = await call(yoga, `req-hardening-${nodeEnv ?? 'unset'}`);
      const body = JSON.parse(text) as GraphQLResponse;
      expect(body.errors).toHaveLength(1);
      expect(body.errors?.[0]?.message).toBe('Unexpected error.');
      expect(body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(text).not.toContain('10.1.2.3');
      expect(text).not.toContain('internal detail');
      expect(text).not.toMatch(/stack|originalError|\.ts:\d+|at .*\(/);

      const logged = lines.map((l) => JSON.parse(l) as LogLine).filter((l) => l.requestId === `req-hardening-${nodeEnv ?? 'unset'}`);
      expect(logged.length).toBeGreaterThanOrEqual(1);
      expect(logged.some((l) => l.level === 50 && String(l.err?.message).includes(SECRET_DETAIL))).toBe(true);
    },
  );

  it('a BackendUnavailableError becomes SERVICE_UNAVAILABLE, logged as a warning with the request id', async () => {
    delete process.env.NODE_ENV;
    const { yoga, lines } = yogaWithFailingStore(() => new BackendUnavailableError('redis: command timed out (internal detail)'));
    const { text } = await call(yoga, 'req-hardening-backend');
    const body = JSON.parse(text) as GraphQLResponse;
    expect(body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(body.errors?.[0]?.message).toMatch(/temporarily unavailable/);
    expect(text).not.toContain('internal detail');
    const logged = lines.map((l) => JSON.parse(l) as LogLine).filter((l) => l.requestId === 'req-hardening-backend');
    expect(logged.some((l) => l.level === 40 && String(l.err?.message).includes('command timed out'))).toBe(true);
  });
});
