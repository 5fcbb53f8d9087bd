// The operations of the chat contract as typed documents (TypedDocumentNode): pass them to the
// helper (createChatClient), to urql or to Apollo Client and the results and variables are typed.
// After changing one: npm run codegen.
import { graphql } from './generated/gql.js';

export const registerMutation = graphql(`
  mutation Register($username: String!, $password: String!) {
    register(username: $username, password: $password) {
      accessToken
      accessTokenExpiresAt
      refreshToken
      user { id username }
    }
  }
`);

export const loginMutation = graphql(`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      accessToken
      accessTokenExpiresAt
      refreshToken
      user { id username }
    }
  }
`);

export const refreshMutation = graphql(`
  mutation Refresh($refreshToken: String!) {
    refresh(refreshToken: $refreshToken) {
      accessToken
      accessTokenExpiresAt
      refreshToken
      user { id username }
    }
  }
`);

export const logoutMutation = graphql(`
  mutation Logout($refreshToken: String!) {
    logout(refreshToken: $refreshToken)
  }
`);

export const meQuery = graphql(`
  query Me {
    me { id username }
  }
`);

export const roomsQuery = graphql(`
  query Rooms {
    rooms { name private }
  }
`);

export const createRoomMutation = graphql(`
  mutation CreateRoom($name: String!, $private: Boolean) {
    createRoom(name: $name, private: $private) { name private }
  }
`);

export const joinRoomMutation = graphql(`
  mutation JoinRoom($name: String!) {
    joinRoom(name: $name) { name private }
  }
`);

export const recentMessagesQuery = graphql(`
  query RecentMessages($room: String!, $limit: Int, $before: ID) {
    recentMessages(room: $room, limit: $limit, before: $before) {
      id room text createdAt mine
      author { id username }
    }
  }
`);

export const sendMessageMutation = graphql(`
  mutation SendMessage($room: String!, $text: String!) {
    sendMessage(room: $room, text: $text) {
      id room text createdAt mine
      author { id username }
    }
  }
`);

/** Declares `$after`: the helper's graphql-ws client sets it to the last id seen on every resubscribe. */
export const messageAddedSubscription = graphql(`
  subscription MessageAdded($room: String!, $after: ID) {
    messageAdded(room: $room, after: $after) {
      id room text createdAt mine
      author { id username }
    }
  }
`);

export const directMessageAddedSubscription = graphql(`
  subscription DirectMessageAdded {
    directMessageAdded {
      id room text createdAt mine
      author { id username }
    }
  }
`);
