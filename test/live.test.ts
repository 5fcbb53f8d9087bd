import { Writable } from 'node:stream';
import {
  extendSchema,
  type GraphQLObjectType,
  parse,
  type ExecutionArgs,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Viewer } from '../src/auth/tokens.js';
import { BackendUnavailableError } from '../src/errors.js';
import type { ChatContext, Services } from '../src/resolvers/context.js';
import { ensureDefaultRooms } from '../src/resolvers/rooms.js';
import { schema } from '../src/schema/index.js';
import { variablesOfSelection } from '../src/server/live-results.js';
import { createLivePath, type LivePath } from '../src/server/live.js';
import { createMetrics } from '../src/server/metrics.js';
import { waitFor } from './support/net.js';
import { memoryServices } from './support/services.js';

const viewer = (name: string): Viewer => ({ id: `id-${name}`, username: name, familyId: `login-${name}`, expiresAt: 2e9 });

/**
 * The schema of the server, extended with fields a later change could add to a subscription's
 * payload: one that reaches the viewer's read state (Room.unreadCount, Room.lastReadId), and a few
 * that misbehave. Their resolvers are set on the extended schema; the existing fields keep theirs.
 */
function extendedSchema(): GraphQLSchema {
  const extended = extendSchema(
    schema,
    parse(`
      extend type Message {
        roomInfo: Room!
        boom: String
        outage: String
        viewerLater: String
        viewerObject: User
        viewerStuck: String
      }
    `),
  );
  const fields = (extended.getType('Message') as GraphQLObjectType).getFields();
  const set = (name: string, resolve: GraphQLFieldResolver<{ room: string }, ChatContext>) => {
    fields[name]!.resolve = resolve as GraphQLFieldResolver<unknown, unknown>;
  };
  set('roomInfo', async (m, _a, ctx) => (await ctx.services.store.findRoom(m.room))!);
  set('boom', () => {
    throw new Error('ECONNREFUSED 10.1.2.3:6379 (internal detail)');
  });
  set('outage', () => {
    throw new BackendUnavailableError('redis: command timed out (internal detail)');
  });
  // reads the viewer only after an await: nothing can tell which field read it
  set('viewerLater', async (_m, _a, ctx) => {
    await Promise.resolve();
    return ctx.viewer?.username ?? null;
  });
  set('viewerObject', (_m, _a, ctx) => (ctx.viewer ? { id: ctx.viewer.id, username: ctx.viewer.username } : null));
  // reads the viewer, then never answers: a subscriber's results pile up behind it
  set('viewerStuck', (_m, _a, ctx) => (ctx.viewer ? new Promise<string>(() => {}) : null));
  return extended;
}

interface Subscriber {
  readonly frames: string[];
  /** How the operation ended: 'done', the error, or undefined while it lasts. */
  ended(): unknown;
  /** The `payload` of each `next` frame. */
  results(): { data?: Record<string, unknown>; errors?: { message: string; extensions?: { code?: string } }[] }[];
}

/** A live path over `graphQLSchema`, logging into `lines`, and a way to subscribe as someone. */
function harness(graphQLSchema: GraphQLSchema, pendingLimit?: number) {
  const lines: { level: number; err?: { message?: string }; requestId?: string }[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write: (chunk, _enc, done) => {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  const metrics = createMetrics();
  const path: LivePath = createLivePath({ schema: graphQLSchema, logger, metrics, ...(pendingLimit ? { pendingLimit } : {}) });
  const services: Services = memoryServices();
  let ids = 0;
  // one document per text, as yoga's parser cache gives it
  const documents = new Map<string, ReturnType<typeof parse>>();
  const subscribe = async (who: Viewer, query: string, variables: Record<string, unknown>): Promise<Subscriber> => {
    const frames: string[] = [];
    const args: ExecutionArgs = {
      schema: graphQLSchema,
      document: documents.get(query) ?? documents.set(query, parse(query)).get(query)!,
      variableValues: variables,
      contextValue: { services, viewer: who, requestId: `req-${who.username}` } satisfies ChatContext,
    };
    const id = String(++ids);
    path.route(args, { id, send: (frame) => frames.push(frame) });
    let run: ((a: ExecutionArgs) => Promise<unknown>) | undefined;
    (path.plugin.onSubscribe as (p: unknown) => void)({ args, setSubscribeFn: (fn: typeof run) => (run = fn) });
    const result = await run!(args);
    const operation = path.operation(args, result) as AsyncIterableIterator<never>;
    let ended: unknown;
    operation.next().then(
      () => (ended = 'done'),
      (err: unknown) => (ended = err),
    );
    return { frames, results: () => frames.map((f) => JSON.parse(f).payload), ended: () => ended };
  };
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await metrics.registry.metrics())?.[1] ?? 0);
  return { lines, services, subscribe, metric };
}

describe('live results: what depends on the viewer is never shared, found without anyone marking it', () => {
  it("a field reaching the viewer's read state (Room.unreadCount, Room.lastReadId) is each subscriber's own, on the shared path", async () => {
    const { services, subscribe, metric } = harness(extendedSchema());
    await ensureDefaultRooms(services);
    const alice = viewer('alice');
    const bob = viewer('bob');
    // alice wrote three messages (her read mark moves with each); bob read none
    for (const text of ['one', 'two', 'three']) await services.engine.log.append('general', { text, authorId: alice.id, authorName: alice.username });
    const query = 'subscription($room: String!) { messageAdded(room: $room) { text mine roomInfo { name unreadCount lastReadId } } }';
    const [a, b] = await Promise.all([subscribe(alice, query, { room: 'general' }), subscribe(bob, query, { room: 'general' })]);
    const sent = await services.engine.log.append('general', { text: 'four', authorId: bob.id, authorName: bob.username });
    await waitFor(() => a.frames.length === 1 && b.frames.length === 1, { what: 'one frame each' });
    const [ra] = a.results();
    const [rb] = b.results();
    expect(ra!.data!.messageAdded).toMatchObject({ text: 'four', mine: false, roomInfo: { name: 'general', unreadCount: 1 } });
    expect(rb!.data!.messageAdded).toEqual({ text: 'four', mine: true, roomInfo: { name: 'general', unreadCount: 0, lastReadId: sent.id } });
    expect((ra!.data!.messageAdded as { roomInfo: { lastReadId: string } }).roomInfo.lastReadId).not.toBe(sent.id);
    // executed once for both: only the holes were filled per subscriber
    expect(await metric('chat_shared_executions_total')).toBe(1);
    expect(await metric('chat_subscriber_executions_total')).toBe(0);
  });

  it('a field that reads the viewer after an await, or returns an object made from it, is executed per subscriber', async () => {
    const { services, subscribe, metric } = harness(extendedSchema());
    await ensureDefaultRooms(services);
    const query = 'subscription($room: String!) { messageAdded(room: $room) { text viewerLater viewerObject { username } } }';
    const [a, b] = await Promise.all([subscribe(viewer('alice'), query, { room: 'general' }), subscribe(viewer('bob'), query, { room: 'general' })]);
    await services.engine.log.append('general', { text: 'hi', authorId: 'someone', authorName: 'someone' });
    await waitFor(() => a.frames.length === 1 && b.frames.length === 1, { what: 'one frame each' });
    expect(a.results()[0]!.data!.messageAdded).toEqual({ text: 'hi', viewerLater: 'alice', viewerObject: { username: 'alice' } });
    expect(b.results()[0]!.data!.messageAdded).toEqual({ text: 'hi', viewerLater: 'bob', viewerObject: { username: 'bob' } });
    expect(await metric('chat_subscriber_executions_total')).toBe(2);
  });

  it('masks an unexpected error in a shared result as over HTTP, and logs the real one', async () => {
    const { services, subscribe, lines } = harness(extendedSchema());
    await ensureDefaultRooms(services);
    const query = 'subscription($room: String!) { messageAdded(room: $room) { text boom outage } }';
    const [a, b] = await Promise.all([subscribe(viewer('alice'), query, { room: 'general' }), subscribe(viewer('bob'), query, { room: 'general' })]);
    await services.engine.log.append('general', { text: 'hi', authorId: 'someone', authorName: 'someone' });
    await waitFor(() => a.frames.length === 1 && b.frames.length === 1, { what: 'one frame each' });
    for (const s of [a, b]) {
      const [r] = s.results();
      expect(r!.data!.messageAdded).toEqual({ text: 'hi', boom: null, outage: null });
      const byField = Object.fromEntries((r!.errors ?? []).map((e) => [(e as { path?: string[] }).path?.at(-1), e]));
      expect(byField.boom).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      expect(byField.outage).toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
      expect(s.frames[0]).not.toContain('internal detail');
    }
    expect(lines.some((l) => l.level === 50 && String(l.err?.message).includes('ECONNREFUSED'))).toBe(true);
    expect(lines.some((l) => l.level === 40 && String(l.err?.message).includes('command timed out'))).toBe(true);
  });
});

describe('live results: a slow subscriber on the shared path is bounded', () => {
  it('a subscriber whose results wait on an execution that never ends is ended with RATE_LIMITED after the pending limit; the others go on', async () => {
    const { services, subscribe } = harness(extendedSchema(), 3);
    await ensureDefaultRooms(services);
    const stuck = await subscribe(viewer('alice'), 'subscription($room: String!) { messageAdded(room: $room) { text viewerStuck } }', { room: 'general' });
    const fine = await subscribe(viewer('bob'), 'subscription($room: String!) { messageAdded(room: $room) { text } }', { room: 'general' });
    for (let i = 0; i < 5; i++) await services.engine.log.append('general', { text: `m${i}`, authorId: 'someone', authorName: 'someone' });
    await waitFor(() => stuck.ended() !== undefined && fine.frames.length === 5, { what: 'the stuck subscriber ended, the other served' });
    expect((stuck.ended() as { extensions?: { code?: string } }).extensions?.code).toBe('RATE_LIMITED');
    expect(stuck.frames).toEqual([]);
    expect(fine.results().map((r) => (r.data!.messageAdded as { text: string }).text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });
});

describe('live results: the shape a result depends on', () => {
  const variables = (query: string) => variablesOfSelection(parse(query), undefined);

  it("leaves out the subscription field's own arguments (they choose the stream), keeps every other variable", () => {
    expect(variables('subscription($r: String!, $a: ID) { messageAdded(room: $r, after: $a) { id text } }')).toEqual([]);
    expect(variables('subscription($r: String!, $s: Boolean!) { messageAdded(room: $r) @include(if: $s) { id } }')).toEqual(['s']);
    expect(variables('subscription($r: String!, $t: Boolean!) { messageAdded(room: $r) { ...F } } fragment F on Message { id text @skip(if: $t) }')).toEqual(['t']);
    // used in the stream's arguments and in the selection: it counts
    expect(variables('subscription($r: String!) { roomEvents(room: $r) { message { room @include(if: true) } id } }')).toEqual([]);
  });

  it("every subscription field's resolve maps the event alone, whatever its arguments (what leaving them out relies on)", () => {
    const event = { id: '1-0' };
    const fields = schema.getSubscriptionType()!.getFields();
    expect(Object.keys(fields).length).toBeGreaterThan(0);
    for (const field of Object.values(fields)) {
      const info = { fieldName: field.name } as never;
      expect(field.resolve!(event, { room: 'a', after: '5-5' }, {}, info)).toBe(event);
      expect(field.resolve!(event, {}, {}, info)).toBe(event);
    }
  });
});
