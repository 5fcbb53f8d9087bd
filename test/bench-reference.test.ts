// The benchmark compares the server with a reference broadcaster that builds its frames by hand:
// they must be the bytes the server sends for the same documents, or the comparison is of
// different work (a larger frame costs more to write).
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCUMENTS } from '../bench/documents.js';
import { dataOf, type Shape } from '../bench/reference-frames.js';
import { roomActivitySubscription } from '../client/operations.js';
import { collectFrom, gql, signUp, wsClient, type Session } from './support/client.js';
import { waitFor } from './support/net.js';
import { startServer, type RunningServer } from './support/server.js';

const CASES: { shape: Shape; query: string; operationName?: string }[] = [
  { shape: 'basic', query: DOCUMENTS.basic.query },
  { shape: 'MessageAdded', query: DOCUMENTS.resume.query, operationName: 'MessageAdded' },
  { shape: 'RoomEvents', query: DOCUMENTS.roomEvents.query, operationName: 'RoomEvents' },
  { shape: 'RoomActivity', query: print(roomActivitySubscription), operationName: 'RoomActivity' },
];

describe("the reference broadcaster's frames", () => {
  let server: RunningServer;
  let author: Session;
  let reader: Session;
  beforeAll(async () => {
    server = await startServer();
    author = await signUp(server.httpUrl, 'refauthor');
    reader = await signUp(server.httpUrl, 'refreader');
    await gql(server.httpUrl, 'mutation { createRoom(name: "ref-frames") { name } }', {}, author.accessToken);
  });
  afterAll(() => server.stop());

  it.each(CASES)('are the server\'s results for $shape, for the author and for another reader', async ({ shape, query, operationName }) => {
    const subscribe = (session: Session) => {
      const client = wsClient(server.wsUrl, session.accessToken);
      return collectFrom((sink) => {
        const dispose = client.subscribe({ query, variables: { room: 'ref-frames' }, ...(operationName ? { operationName } : {}) }, sink);
        return () => {
          dispose();
          void client.dispose();
        };
      });
    };
    const mine = subscribe(author);
    const theirs = subscribe(reader);
    const send = async (text: string) =>
      (
        await gql<{ sendMessage: { id: string; createdAt: string } }>(
          server.httpUrl,
          'mutation($t: String!) { sendMessage(room: "ref-frames", text: $t) { id createdAt } }',
          { t: text },
          author.accessToken,
        )
      ).data!.sendMessage;
    // live once a message sent after subscribing reached both
    await waitFor(
      async () => {
        await send('warm-up');
        return mine.results.length > 0 && theirs.results.length > 0;
      },
      { what: 'both subscriptions live' },
    );
    const text = 'a "quoted" line\twith a tab';
    const sent = await send(text);
    const resultOf = async (c: typeof mine) => {
      await waitFor(() => c.results.some((r) => JSON.stringify(r.data).includes(sent.id)), { what: `the result of ${sent.id}` });
      return JSON.stringify(c.results.find((r) => JSON.stringify(r.data).includes(sent.id))!.data);
    };
    const stored = { id: sent.id, room: 'ref-frames', text, authorId: author.userId, authorName: author.username, createdAt: sent.createdAt };
    expect(await resultOf(mine)).toBe(dataOf(shape, stored, true));
    expect(await resultOf(theirs)).toBe(dataOf(shape, stored, false));
    mine.dispose();
    theirs.dispose();
  });
});
