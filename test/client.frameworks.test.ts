// Apollo Client and urql, each with the typed documents and the chat client's transports, against a
// real server: the code of client/README-section.md.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { cacheExchange, Client as UrqlClient, fetchExchange, subscriptionExchange } from '@urql/core';
import { OperationTypeNode } from 'graphql';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createChatClient,
  createRoomMutation,
  messageAddedSubscription,
  roomsQuery,
  sendMessageMutation,
  type ChatClient,
  type MessageAddedSubscription,
} from '../client/index.js';
import { signUp, type Session } from './support/client.js';
import { waitFor } from './support/net.js';
import { startServer, type RunningServer } from './support/server.js';

let server: RunningServer;
let alice: Session;
const chats: ChatClient[] = [];
beforeAll(async () => {
  server = await startServer({ MESSAGE_RATE_LIMIT: '0' });
  alice = await signUp(server.httpUrl, 'alice');
});
afterAll(async () => {
  await Promise.all(chats.map((c) => c.dispose()));
  await server.stop();
});

function chatFor(user: Session) {
  const chat = createChatClient({
    httpUrl: server.httpUrl,
    wsUrl: server.wsUrl,
    credentials: { username: user.username, password: user.password },
    webSocketImpl: WebSocket,
  });
  chats.push(chat);
  return chat;
}

type Message = MessageAddedSubscription['messageAdded'];

describe('Apollo Client (split link: HttpLink for queries and mutations, GraphQLWsLink for subscriptions)', () => {
  it('runs a typed query and mutation and receives the message on a subscription', async () => {
    const chat = chatFor(alice);
    await chat.signIn();
    const apollo = new ApolloClient({
      cache: new InMemoryCache({ typePolicies: { Room: { keyFields: ['name'] } } }),
      link: ApolloLink.split(
        ({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION,
        new GraphQLWsLink(chat.ws), // refreshes the token, resumes messageAdded with `after`
        new HttpLink({ uri: server.httpUrl, fetch: chat.fetch }), // Authorization: Bearer <fresh token>
      ),
    });

    const room = `apollo-${Date.now()}`;
    const created = await apollo.mutate({ mutation: createRoomMutation, variables: { name: room } });
    expect(created.data?.createRoom.name).toBe(room);
    const { data } = await apollo.query({ query: roomsQuery, fetchPolicy: 'network-only' });
    expect(data?.rooms.map((r) => r.name)).toContain(room);

    const received: Message[] = [];
    // after '0-0': every message of the (new) room, so none is missed while the subscription starts
    const sub = apollo.subscribe({ query: messageAddedSubscription, variables: { room, after: '0-0' } }).subscribe({
      next: ({ data }) => data && received.push(data.messageAdded),
    });
    const sent = await apollo.mutate({ mutation: sendMessageMutation, variables: { room, text: 'hello from Apollo' } });
    expect(sent.data?.sendMessage.text).toBe('hello from Apollo');
    await waitFor(() => received.length > 0, { what: 'the message on the Apollo subscription' });
    expect(received[0]).toMatchObject({ id: sent.data!.sendMessage.id, text: 'hello from Apollo', author: { username: alice.username } });
    sub.unsubscribe();
    apollo.stop();
  });
});

describe('urql (@urql/core with subscriptionExchange over graphql-ws)', () => {
  it('runs a typed query and mutation and receives the message on a subscription', async () => {
    const chat = chatFor(alice);
    await chat.signIn();
    const urql = new UrqlClient({
      url: server.httpUrl,
      fetch: chat.fetch, // Authorization: Bearer <fresh token>
      exchanges: [
        cacheExchange,
        fetchExchange,
        subscriptionExchange({
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({ unsubscribe: chat.ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
          }),
        }),
      ],
    });

    const room = `urql-${Date.now()}`;
    const created = await urql.mutation(createRoomMutation, { name: room }).toPromise();
    expect(created.error).toBeUndefined();
    expect(created.data?.createRoom.name).toBe(room);
    const rooms = await urql.query(roomsQuery, {}, { requestPolicy: 'network-only' }).toPromise();
    expect(rooms.error).toBeUndefined();
    expect(rooms.data?.rooms.map((r) => r.name)).toContain(room);

    const received: Message[] = [];
    const sub = urql.subscription(messageAddedSubscription, { room, after: '0-0' }).subscribe((result) => {
      if (result.data) received.push(result.data.messageAdded);
    });
    const sent = await urql.mutation(sendMessageMutation, { room, text: 'hello from urql' }).toPromise();
    expect(sent.error).toBeUndefined();
    await waitFor(() => received.length > 0, { what: 'the message on the urql subscription' });
    expect(received[0]).toMatchObject({ id: sent.data!.sendMessage.id, text: 'hello from urql', author: { username: alice.username } });
    sub.unsubscribe();
  });
});
