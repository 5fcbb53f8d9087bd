/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n": typeof types.RegisterDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n": typeof types.LoginDocument,
    "\n  mutation Refresh($refreshToken: String!) {\n    refresh(refreshToken: $refreshToken) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n": typeof types.RefreshDocument,
    "\n  mutation Logout($refreshToken: String!) {\n    logout(refreshToken: $refreshToken)\n  }\n": typeof types.LogoutDocument,
    "\n  query Me {\n    me { id username }\n  }\n": typeof types.MeDocument,
    "\n  query Rooms {\n    rooms { name private unreadCount }\n  }\n": typeof types.RoomsDocument,
    "\n  mutation InviteToRoom($room: String!, $username: String!) {\n    inviteToRoom(room: $room, username: $username) { name private }\n  }\n": typeof types.InviteToRoomDocument,
    "\n  mutation LeaveRoom($name: String!) {\n    leaveRoom(name: $name)\n  }\n": typeof types.LeaveRoomDocument,
    "\n  mutation RemoveFromRoom($room: String!, $username: String!) {\n    removeFromRoom(room: $room, username: $username) { name private }\n  }\n": typeof types.RemoveFromRoomDocument,
    "\n  mutation CreateRoom($name: String!, $private: Boolean) {\n    createRoom(name: $name, private: $private) { name private }\n  }\n": typeof types.CreateRoomDocument,
    "\n  mutation JoinRoom($name: String!) {\n    joinRoom(name: $name) { name private }\n  }\n": typeof types.JoinRoomDocument,
    "\n  query RecentMessages($room: String!, $limit: Int, $before: ID) {\n    recentMessages(room: $room, limit: $limit, before: $before) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": typeof types.RecentMessagesDocument,
    "\n  mutation SendMessage($room: String!, $text: String!, $clientId: String) {\n    sendMessage(room: $room, text: $text, clientId: $clientId) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": typeof types.SendMessageDocument,
    "\n  mutation SendDirectMessage($to: String!, $text: String!, $clientId: String) {\n    sendDirectMessage(to: $to, text: $text, clientId: $clientId) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": typeof types.SendDirectMessageDocument,
    "\n  subscription MessageAdded($room: String!, $after: ID) {\n    messageAdded(room: $room, after: $after) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": typeof types.MessageAddedDocument,
    "\n  subscription RoomActivity($room: String!, $after: ID) {\n    messageAdded(room: $room, after: $after) { id room }\n  }\n": typeof types.RoomActivityDocument,
    "\n  subscription DirectMessageAdded {\n    directMessageAdded {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": typeof types.DirectMessageAddedDocument,
    "\n  subscription RoomEvents($room: String!, $after: ID) {\n    roomEvents(room: $room, after: $after) {\n      id type messageId\n      message {\n        id room text createdAt editedAt mine\n        author { id username }\n      }\n    }\n  }\n": typeof types.RoomEventsDocument,
    "\n  mutation EditMessage($room: String!, $id: ID!, $text: String!) {\n    editMessage(room: $room, id: $id, text: $text) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": typeof types.EditMessageDocument,
    "\n  mutation DeleteMessage($room: String!, $id: ID!) {\n    deleteMessage(room: $room, id: $id)\n  }\n": typeof types.DeleteMessageDocument,
    "\n  mutation MarkRead($room: String!, $id: ID!) {\n    markRead(room: $room, id: $id) { name unreadCount lastReadId }\n  }\n": typeof types.MarkReadDocument,
    "\n  mutation StartTyping($room: String!) {\n    startTyping(room: $room)\n  }\n": typeof types.StartTypingDocument,
    "\n  subscription Typing($room: String!) {\n    typing(room: $room) {\n      room expiresAt\n      user { id username }\n    }\n  }\n": typeof types.TypingDocument,
    "\n  subscription PresenceChanged($room: String!) {\n    presenceChanged(room: $room) {\n      room online\n      user { id username }\n    }\n  }\n": typeof types.PresenceChangedDocument,
    "\n  query OnlineMembers($room: String!) {\n    onlineMembers(room: $room) { id username }\n  }\n": typeof types.OnlineMembersDocument,
};
const documents: Documents = {
    "\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n": types.RegisterDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n": types.LoginDocument,
    "\n  mutation Refresh($refreshToken: String!) {\n    refresh(refreshToken: $refreshToken) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n": types.RefreshDocument,
    "\n  mutation Logout($refreshToken: String!) {\n    logout(refreshToken: $refreshToken)\n  }\n": types.LogoutDocument,
    "\n  query Me {\n    me { id username }\n  }\n": types.MeDocument,
    "\n  query Rooms {\n    rooms { name private unreadCount }\n  }\n": types.RoomsDocument,
    "\n  mutation InviteToRoom($room: String!, $username: String!) {\n    inviteToRoom(room: $room, username: $username) { name private }\n  }\n": types.InviteToRoomDocument,
    "\n  mutation LeaveRoom($name: String!) {\n    leaveRoom(name: $name)\n  }\n": types.LeaveRoomDocument,
    "\n  mutation RemoveFromRoom($room: String!, $username: String!) {\n    removeFromRoom(room: $room, username: $username) { name private }\n  }\n": types.RemoveFromRoomDocument,
    "\n  mutation CreateRoom($name: String!, $private: Boolean) {\n    createRoom(name: $name, private: $private) { name private }\n  }\n": types.CreateRoomDocument,
    "\n  mutation JoinRoom($name: String!) {\n    joinRoom(name: $name) { name private }\n  }\n": types.JoinRoomDocument,
    "\n  query RecentMessages($room: String!, $limit: Int, $before: ID) {\n    recentMessages(room: $room, limit: $limit, before: $before) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": types.RecentMessagesDocument,
    "\n  mutation SendMessage($room: String!, $text: String!, $clientId: String) {\n    sendMessage(room: $room, text: $text, clientId: $clientId) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": types.SendMessageDocument,
    "\n  mutation SendDirectMessage($to: String!, $text: String!, $clientId: String) {\n    sendDirectMessage(to: $to, text: $text, clientId: $clientId) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": types.SendDirectMessageDocument,
    "\n  subscription MessageAdded($room: String!, $after: ID) {\n    messageAdded(room: $room, after: $after) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": types.MessageAddedDocument,
    "\n  subscription RoomActivity($room: String!, $after: ID) {\n    messageAdded(room: $room, after: $after) { id room }\n  }\n": types.RoomActivityDocument,
    "\n  subscription DirectMessageAdded {\n    directMessageAdded {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": types.DirectMessageAddedDocument,
    "\n  subscription RoomEvents($room: String!, $after: ID) {\n    roomEvents(room: $room, after: $after) {\n      id type messageId\n      message {\n        id room text createdAt editedAt mine\n        author { id username }\n      }\n    }\n  }\n": types.RoomEventsDocument,
    "\n  mutation EditMessage($room: String!, $id: ID!, $text: String!) {\n    editMessage(room: $room, id: $id, text: $text) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": types.EditMessageDocument,
    "\n  mutation DeleteMessage($room: String!, $id: ID!) {\n    deleteMessage(room: $room, id: $id)\n  }\n": types.DeleteMessageDocument,
    "\n  mutation MarkRead($room: String!, $id: ID!) {\n    markRead(room: $room, id: $id) { name unreadCount lastReadId }\n  }\n": types.MarkReadDocument,
    "\n  mutation StartTyping($room: String!) {\n    startTyping(room: $room)\n  }\n": types.StartTypingDocument,
    "\n  subscription Typing($room: String!) {\n    typing(room: $room) {\n      room expiresAt\n      user { id username }\n    }\n  }\n": types.TypingDocument,
    "\n  subscription PresenceChanged($room: String!) {\n    presenceChanged(room: $room) {\n      room online\n      user { id username }\n    }\n  }\n": types.PresenceChangedDocument,
    "\n  query OnlineMembers($room: String!) {\n    onlineMembers(room: $room) { id username }\n  }\n": types.OnlineMembersDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n"): (typeof documents)["\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n"): (typeof documents)["\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Refresh($refreshToken: String!) {\n    refresh(refreshToken: $refreshToken) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n"): (typeof documents)["\n  mutation Refresh($refreshToken: String!) {\n    refresh(refreshToken: $refreshToken) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Logout($refreshToken: String!) {\n    logout(refreshToken: $refreshToken)\n  }\n"): (typeof documents)["\n  mutation Logout($refreshToken: String!) {\n    logout(refreshToken: $refreshToken)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me { id username }\n  }\n"): (typeof documents)["\n  query Me {\n    me { id username }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Rooms {\n    rooms { name private unreadCount }\n  }\n"): (typeof documents)["\n  query Rooms {\n    rooms { name private unreadCount }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation InviteToRoom($room: String!, $username: String!) {\n    inviteToRoom(room: $room, username: $username) { name private }\n  }\n"): (typeof documents)["\n  mutation InviteToRoom($room: String!, $username: String!) {\n    inviteToRoom(room: $room, username: $username) { name private }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LeaveRoom($name: String!) {\n    leaveRoom(name: $name)\n  }\n"): (typeof documents)["\n  mutation LeaveRoom($name: String!) {\n    leaveRoom(name: $name)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveFromRoom($room: String!, $username: String!) {\n    removeFromRoom(room: $room, username: $username) { name private }\n  }\n"): (typeof documents)["\n  mutation RemoveFromRoom($room: String!, $username: String!) {\n    removeFromRoom(room: $room, username: $username) { name private }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateRoom($name: String!, $private: Boolean) {\n    createRoom(name: $name, private: $private) { name private }\n  }\n"): (typeof documents)["\n  mutation CreateRoom($name: String!, $private: Boolean) {\n    createRoom(name: $name, private: $private) { name private }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation JoinRoom($name: String!) {\n    joinRoom(name: $name) { name private }\n  }\n"): (typeof documents)["\n  mutation JoinRoom($name: String!) {\n    joinRoom(name: $name) { name private }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RecentMessages($room: String!, $limit: Int, $before: ID) {\n    recentMessages(room: $room, limit: $limit, before: $before) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n"): (typeof documents)["\n  query RecentMessages($room: String!, $limit: Int, $before: ID) {\n    recentMessages(room: $room, limit: $limit, before: $before) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SendMessage($room: String!, $text: String!, $clientId: String) {\n    sendMessage(room: $room, text: $text, clientId: $clientId) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n"): (typeof documents)["\n  mutation SendMessage($room: String!, $text: String!, $clientId: String) {\n    sendMessage(room: $room, text: $text, clientId: $clientId) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SendDirectMessage($to: String!, $text: String!, $clientId: String) {\n    sendDirectMessage(to: $to, text: $text, clientId: $clientId) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n"): (typeof documents)["\n  mutation SendDirectMessage($to: String!, $text: String!, $clientId: String) {\n    sendDirectMessage(to: $to, text: $text, clientId: $clientId) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription MessageAdded($room: String!, $after: ID) {\n    messageAdded(room: $room, after: $after) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n"): (typeof documents)["\n  subscription MessageAdded($room: String!, $after: ID) {\n    messageAdded(room: $room, after: $after) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription RoomActivity($room: String!, $after: ID) {\n    messageAdded(room: $room, after: $after) { id room }\n  }\n"): (typeof documents)["\n  subscription RoomActivity($room: String!, $after: ID) {\n    messageAdded(room: $room, after: $after) { id room }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription DirectMessageAdded {\n    directMessageAdded {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n"): (typeof documents)["\n  subscription DirectMessageAdded {\n    directMessageAdded {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription RoomEvents($room: String!, $after: ID) {\n    roomEvents(room: $room, after: $after) {\n      id type messageId\n      message {\n        id room text createdAt editedAt mine\n        author { id username }\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription RoomEvents($room: String!, $after: ID) {\n    roomEvents(room: $room, after: $after) {\n      id type messageId\n      message {\n        id room text createdAt editedAt mine\n        author { id username }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation EditMessage($room: String!, $id: ID!, $text: String!) {\n    editMessage(room: $room, id: $id, text: $text) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n"): (typeof documents)["\n  mutation EditMessage($room: String!, $id: ID!, $text: String!) {\n    editMessage(room: $room, id: $id, text: $text) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteMessage($room: String!, $id: ID!) {\n    deleteMessage(room: $room, id: $id)\n  }\n"): (typeof documents)["\n  mutation DeleteMessage($room: String!, $id: ID!) {\n    deleteMessage(room: $room, id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation MarkRead($room: String!, $id: ID!) {\n    markRead(room: $room, id: $id) { name unreadCount lastReadId }\n  }\n"): (typeof documents)["\n  mutation MarkRead($room: String!, $id: ID!) {\n    markRead(room: $room, id: $id) { name unreadCount lastReadId }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartTyping($room: String!) {\n    startTyping(room: $room)\n  }\n"): (typeof documents)["\n  mutation StartTyping($room: String!) {\n    startTyping(room: $room)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription Typing($room: String!) {\n    typing(room: $room) {\n      room expiresAt\n      user { id username }\n    }\n  }\n"): (typeof documents)["\n  subscription Typing($room: String!) {\n    typing(room: $room) {\n      room expiresAt\n      user { id username }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription PresenceChanged($room: String!) {\n    presenceChanged(room: $room) {\n      room online\n      user { id username }\n    }\n  }\n"): (typeof documents)["\n  subscription PresenceChanged($room: String!) {\n    presenceChanged(room: $room) {\n      room online\n      user { id username }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query OnlineMembers($room: String!) {\n    onlineMembers(room: $room) { id username }\n  }\n"): (typeof documents)["\n  query OnlineMembers($room: String!) {\n    onlineMembers(room: $room) { id username }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;