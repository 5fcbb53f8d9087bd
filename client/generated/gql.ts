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
    "\n  query Room($name: String!) {\n    room(name: $name) {\n      name private myRole unreadCount mentionCount\n      moderators { role user { id username } }\n    }\n  }\n": typeof types.RoomDocument,
    "\n  query RoomMembers($name: String!, $after: String) {\n    room(name: $name) {\n      name myRole\n      members(first: 100, after: $after) { role mutedUntil user { id username } }\n    }\n  }\n": typeof types.RoomMembersDocument,
    "\n  query RoomSanctions($name: String!) {\n    room(name: $name) {\n      name\n      bans { bannedAt user { id username } bannedBy { id username } }\n      mutes { until user { id username } mutedBy { id username } }\n    }\n  }\n": typeof types.RoomSanctionsDocument,
    "\n  mutation AddReaction($room: String!, $messageId: ID!, $emoji: String!) {\n    addReaction(room: $room, messageId: $messageId, emoji: $emoji) { ...ConversationMessage }\n  }\n": typeof types.AddReactionDocument,
    "\n  mutation RemoveReaction($room: String!, $messageId: ID!, $emoji: String!) {\n    removeReaction(room: $room, messageId: $messageId, emoji: $emoji) { ...ConversationMessage }\n  }\n": typeof types.RemoveReactionDocument,
    "\n  subscription Mentioned {\n    mentioned { id room text createdAt author { id username } }\n  }\n": typeof types.MentionedDocument,
    "\n  mutation MuteUser($room: String!, $username: String!, $seconds: Int!) {\n    muteUser(room: $room, username: $username, seconds: $seconds) { until user { id username } }\n  }\n": typeof types.MuteUserDocument,
    "\n  mutation UnmuteUser($room: String!, $username: String!) {\n    unmuteUser(room: $room, username: $username)\n  }\n": typeof types.UnmuteUserDocument,
    "\n  mutation BanUser($room: String!, $username: String!) {\n    banUser(room: $room, username: $username) { bannedAt user { id username } }\n  }\n": typeof types.BanUserDocument,
    "\n  mutation UnbanUser($room: String!, $username: String!) {\n    unbanUser(room: $room, username: $username)\n  }\n": typeof types.UnbanUserDocument,
    "\n  mutation SetModerator($room: String!, $username: String!, $moderator: Boolean!) {\n    setModerator(room: $room, username: $username, moderator: $moderator) { role user { id username } }\n  }\n": typeof types.SetModeratorDocument,
    "\n  mutation TransferOwnership($room: String!, $username: String!) {\n    transferOwnership(room: $room, username: $username) { name myRole }\n  }\n": typeof types.TransferOwnershipDocument,
    "\n  mutation BlockUser($username: String!) {\n    blockUser(username: $username)\n  }\n": typeof types.BlockUserDocument,
    "\n  mutation UnblockUser($username: String!) {\n    unblockUser(username: $username)\n  }\n": typeof types.UnblockUserDocument,
    "\n  query BlockedUsers {\n    blockedUsers { id username }\n  }\n": typeof types.BlockedUsersDocument,
    "\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n": typeof types.RegisterDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n": typeof types.LoginDocument,
    "\n  mutation Refresh($refreshToken: String!) {\n    refresh(refreshToken: $refreshToken) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n": typeof types.RefreshDocument,
    "\n  mutation Logout($refreshToken: String!) {\n    logout(refreshToken: $refreshToken)\n  }\n": typeof types.LogoutDocument,
    "\n  query Me {\n    me { id username }\n  }\n": typeof types.MeDocument,
    "\n  query Rooms {\n    rooms { name private unreadCount mentionCount }\n  }\n": typeof types.RoomsDocument,
    "\n  mutation InviteToRoom($room: String!, $username: String!) {\n    inviteToRoom(room: $room, username: $username) { name private }\n  }\n": typeof types.InviteToRoomDocument,
    "\n  mutation LeaveRoom($name: String!) {\n    leaveRoom(name: $name)\n  }\n": typeof types.LeaveRoomDocument,
    "\n  mutation RemoveFromRoom($room: String!, $username: String!) {\n    removeFromRoom(room: $room, username: $username) { name private }\n  }\n": typeof types.RemoveFromRoomDocument,
    "\n  mutation CreateRoom($name: String!, $private: Boolean) {\n    createRoom(name: $name, private: $private) { name private }\n  }\n": typeof types.CreateRoomDocument,
    "\n  mutation JoinRoom($name: String!) {\n    joinRoom(name: $name) { name private }\n  }\n": typeof types.JoinRoomDocument,
    "\n  query RecentMessages($room: String!, $limit: Int, $before: ID) {\n    recentMessages(room: $room, limit: $limit, before: $before) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": typeof types.RecentMessagesDocument,
    "\n  mutation SendMessage($room: String!, $text: String!, $clientId: String, $replyTo: ID) {\n    sendMessage(room: $room, text: $text, clientId: $clientId, replyTo: $replyTo) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": typeof types.SendMessageDocument,
    "\n  mutation SendDirectMessage($to: String!, $text: String!, $clientId: String, $replyTo: ID) {\n    sendDirectMessage(to: $to, text: $text, clientId: $clientId, replyTo: $replyTo) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": typeof types.SendDirectMessageDocument,
    "\n  subscription MessageAdded($room: String!, $after: ID) {\n    messageAdded(room: $room, after: $after) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": typeof types.MessageAddedDocument,
    "\n  subscription RoomActivity($room: String!, $after: ID) {\n    messageAdded(room: $room, after: $after) { id room }\n  }\n": typeof types.RoomActivityDocument,
    "\n  subscription DirectMessageAdded {\n    directMessageAdded {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": typeof types.DirectMessageAddedDocument,
    "\n  fragment ConversationMessage on Message {\n    id room text createdAt editedAt mine\n    author { id username }\n    replyTo { id deleted firstLine author { id username } }\n    mentions { id username }\n    reactions { emoji count mine }\n  }\n": typeof types.ConversationMessageFragmentDoc,
    "\n  query ConversationHistory($room: String!, $before: ID) {\n    recentMessages(room: $room, limit: 30, before: $before) { ...ConversationMessage }\n  }\n": typeof types.ConversationHistoryDocument,
    "\n  subscription RoomEvents($room: String!, $after: ID) {\n    roomEvents(room: $room, after: $after) {\n      id type messageId byModerator emoji until role\n      actor { id username }\n      target { id username }\n      message { ...ConversationMessage }\n    }\n  }\n": typeof types.RoomEventsDocument,
    "\n  mutation EditMessage($room: String!, $id: ID!, $text: String!) {\n    editMessage(room: $room, id: $id, text: $text) { ...ConversationMessage }\n  }\n": typeof types.EditMessageDocument,
    "\n  mutation DeleteMessage($room: String!, $id: ID!) {\n    deleteMessage(room: $room, id: $id)\n  }\n": typeof types.DeleteMessageDocument,
    "\n  mutation MarkRead($room: String!, $id: ID!) {\n    markRead(room: $room, id: $id) { name unreadCount lastReadId }\n  }\n": typeof types.MarkReadDocument,
    "\n  mutation StartTyping($room: String!) {\n    startTyping(room: $room)\n  }\n": typeof types.StartTypingDocument,
    "\n  subscription Typing($room: String!) {\n    typing(room: $room) {\n      room expiresAt\n      user { id username }\n    }\n  }\n": typeof types.TypingDocument,
    "\n  subscription PresenceChanged($room: String!) {\n    presenceChanged(room: $room) {\n      room online\n      user { id username }\n    }\n  }\n": typeof types.PresenceChangedDocument,
    "\n  query OnlineMembers($room: String!) {\n    onlineMembers(room: $room) { id username }\n  }\n": typeof types.OnlineMembersDocument,
};
const documents: Documents = {
    "\n  query Room($name: String!) {\n    room(name: $name) {\n      name private myRole unreadCount mentionCount\n      moderators { role user { id username } }\n    }\n  }\n": types.RoomDocument,
    "\n  query RoomMembers($name: String!, $after: String) {\n    room(name: $name) {\n      name myRole\n      members(first: 100, after: $after) { role mutedUntil user { id username } }\n    }\n  }\n": types.RoomMembersDocument,
    "\n  query RoomSanctions($name: String!) {\n    room(name: $name) {\n      name\n      bans { bannedAt user { id username } bannedBy { id username } }\n      mutes { until user { id username } mutedBy { id username } }\n    }\n  }\n": types.RoomSanctionsDocument,
    "\n  mutation AddReaction($room: String!, $messageId: ID!, $emoji: String!) {\n    addReaction(room: $room, messageId: $messageId, emoji: $emoji) { ...ConversationMessage }\n  }\n": types.AddReactionDocument,
    "\n  mutation RemoveReaction($room: String!, $messageId: ID!, $emoji: String!) {\n    removeReaction(room: $room, messageId: $messageId, emoji: $emoji) { ...ConversationMessage }\n  }\n": types.RemoveReactionDocument,
    "\n  subscription Mentioned {\n    mentioned { id room text createdAt author { id username } }\n  }\n": types.MentionedDocument,
    "\n  mutation MuteUser($room: String!, $username: String!, $seconds: Int!) {\n    muteUser(room: $room, username: $username, seconds: $seconds) { until user { id username } }\n  }\n": types.MuteUserDocument,
    "\n  mutation UnmuteUser($room: String!, $username: String!) {\n    unmuteUser(room: $room, username: $username)\n  }\n": types.UnmuteUserDocument,
    "\n  mutation BanUser($room: String!, $username: String!) {\n    banUser(room: $room, username: $username) { bannedAt user { id username } }\n  }\n": types.BanUserDocument,
    "\n  mutation UnbanUser($room: String!, $username: String!) {\n    unbanUser(room: $room, username: $username)\n  }\n": types.UnbanUserDocument,
    "\n  mutation SetModerator($room: String!, $username: String!, $moderator: Boolean!) {\n    setModerator(room: $room, username: $username, moderator: $moderator) { role user { id username } }\n  }\n": types.SetModeratorDocument,
    "\n  mutation TransferOwnership($room: String!, $username: String!) {\n    transferOwnership(room: $room, username: $username) { name myRole }\n  }\n": types.TransferOwnershipDocument,
    "\n  mutation BlockUser($username: String!) {\n    blockUser(username: $username)\n  }\n": types.BlockUserDocument,
    "\n  mutation UnblockUser($username: String!) {\n    unblockUser(username: $username)\n  }\n": types.UnblockUserDocument,
    "\n  query BlockedUsers {\n    blockedUsers { id username }\n  }\n": types.BlockedUsersDocument,
    "\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n": types.RegisterDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n": types.LoginDocument,
    "\n  mutation Refresh($refreshToken: String!) {\n    refresh(refreshToken: $refreshToken) {\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      user { id username }\n    }\n  }\n": types.RefreshDocument,
    "\n  mutation Logout($refreshToken: String!) {\n    logout(refreshToken: $refreshToken)\n  }\n": types.LogoutDocument,
    "\n  query Me {\n    me { id username }\n  }\n": types.MeDocument,
    "\n  query Rooms {\n    rooms { name private unreadCount mentionCount }\n  }\n": types.RoomsDocument,
    "\n  mutation InviteToRoom($room: String!, $username: String!) {\n    inviteToRoom(room: $room, username: $username) { name private }\n  }\n": types.InviteToRoomDocument,
    "\n  mutation LeaveRoom($name: String!) {\n    leaveRoom(name: $name)\n  }\n": types.LeaveRoomDocument,
    "\n  mutation RemoveFromRoom($room: String!, $username: String!) {\n    removeFromRoom(room: $room, username: $username) { name private }\n  }\n": types.RemoveFromRoomDocument,
    "\n  mutation CreateRoom($name: String!, $private: Boolean) {\n    createRoom(name: $name, private: $private) { name private }\n  }\n": types.CreateRoomDocument,
    "\n  mutation JoinRoom($name: String!) {\n    joinRoom(name: $name) { name private }\n  }\n": types.JoinRoomDocument,
    "\n  query RecentMessages($room: String!, $limit: Int, $before: ID) {\n    recentMessages(room: $room, limit: $limit, before: $before) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": types.RecentMessagesDocument,
    "\n  mutation SendMessage($room: String!, $text: String!, $clientId: String, $replyTo: ID) {\n    sendMessage(room: $room, text: $text, clientId: $clientId, replyTo: $replyTo) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": types.SendMessageDocument,
    "\n  mutation SendDirectMessage($to: String!, $text: String!, $clientId: String, $replyTo: ID) {\n    sendDirectMessage(to: $to, text: $text, clientId: $clientId, replyTo: $replyTo) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": types.SendDirectMessageDocument,
    "\n  subscription MessageAdded($room: String!, $after: ID) {\n    messageAdded(room: $room, after: $after) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": types.MessageAddedDocument,
    "\n  subscription RoomActivity($room: String!, $after: ID) {\n    messageAdded(room: $room, after: $after) { id room }\n  }\n": types.RoomActivityDocument,
    "\n  subscription DirectMessageAdded {\n    directMessageAdded {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n": types.DirectMessageAddedDocument,
    "\n  fragment ConversationMessage on Message {\n    id room text createdAt editedAt mine\n    author { id username }\n    replyTo { id deleted firstLine author { id username } }\n    mentions { id username }\n    reactions { emoji count mine }\n  }\n": types.ConversationMessageFragmentDoc,
    "\n  query ConversationHistory($room: String!, $before: ID) {\n    recentMessages(room: $room, limit: 30, before: $before) { ...ConversationMessage }\n  }\n": types.ConversationHistoryDocument,
    "\n  subscription RoomEvents($room: String!, $after: ID) {\n    roomEvents(room: $room, after: $after) {\n      id type messageId byModerator emoji until role\n      actor { id username }\n      target { id username }\n      message { ...ConversationMessage }\n    }\n  }\n": types.RoomEventsDocument,
    "\n  mutation EditMessage($room: String!, $id: ID!, $text: String!) {\n    editMessage(room: $room, id: $id, text: $text) { ...ConversationMessage }\n  }\n": types.EditMessageDocument,
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
export function graphql(source: "\n  query Room($name: String!) {\n    room(name: $name) {\n      name private myRole unreadCount mentionCount\n      moderators { role user { id username } }\n    }\n  }\n"): (typeof documents)["\n  query Room($name: String!) {\n    room(name: $name) {\n      name private myRole unreadCount mentionCount\n      moderators { role user { id username } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RoomMembers($name: String!, $after: String) {\n    room(name: $name) {\n      name myRole\n      members(first: 100, after: $after) { role mutedUntil user { id username } }\n    }\n  }\n"): (typeof documents)["\n  query RoomMembers($name: String!, $after: String) {\n    room(name: $name) {\n      name myRole\n      members(first: 100, after: $after) { role mutedUntil user { id username } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RoomSanctions($name: String!) {\n    room(name: $name) {\n      name\n      bans { bannedAt user { id username } bannedBy { id username } }\n      mutes { until user { id username } mutedBy { id username } }\n    }\n  }\n"): (typeof documents)["\n  query RoomSanctions($name: String!) {\n    room(name: $name) {\n      name\n      bans { bannedAt user { id username } bannedBy { id username } }\n      mutes { until user { id username } mutedBy { id username } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddReaction($room: String!, $messageId: ID!, $emoji: String!) {\n    addReaction(room: $room, messageId: $messageId, emoji: $emoji) { ...ConversationMessage }\n  }\n"): (typeof documents)["\n  mutation AddReaction($room: String!, $messageId: ID!, $emoji: String!) {\n    addReaction(room: $room, messageId: $messageId, emoji: $emoji) { ...ConversationMessage }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveReaction($room: String!, $messageId: ID!, $emoji: String!) {\n    removeReaction(room: $room, messageId: $messageId, emoji: $emoji) { ...ConversationMessage }\n  }\n"): (typeof documents)["\n  mutation RemoveReaction($room: String!, $messageId: ID!, $emoji: String!) {\n    removeReaction(room: $room, messageId: $messageId, emoji: $emoji) { ...ConversationMessage }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription Mentioned {\n    mentioned { id room text createdAt author { id username } }\n  }\n"): (typeof documents)["\n  subscription Mentioned {\n    mentioned { id room text createdAt author { id username } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation MuteUser($room: String!, $username: String!, $seconds: Int!) {\n    muteUser(room: $room, username: $username, seconds: $seconds) { until user { id username } }\n  }\n"): (typeof documents)["\n  mutation MuteUser($room: String!, $username: String!, $seconds: Int!) {\n    muteUser(room: $room, username: $username, seconds: $seconds) { until user { id username } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UnmuteUser($room: String!, $username: String!) {\n    unmuteUser(room: $room, username: $username)\n  }\n"): (typeof documents)["\n  mutation UnmuteUser($room: String!, $username: String!) {\n    unmuteUser(room: $room, username: $username)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation BanUser($room: String!, $username: String!) {\n    banUser(room: $room, username: $username) { bannedAt user { id username } }\n  }\n"): (typeof documents)["\n  mutation BanUser($room: String!, $username: String!) {\n    banUser(room: $room, username: $username) { bannedAt user { id username } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UnbanUser($room: String!, $username: String!) {\n    unbanUser(room: $room, username: $username)\n  }\n"): (typeof documents)["\n  mutation UnbanUser($room: String!, $username: String!) {\n    unbanUser(room: $room, username: $username)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetModerator($room: String!, $username: String!, $moderator: Boolean!) {\n    setModerator(room: $room, username: $username, moderator: $moderator) { role user { id username } }\n  }\n"): (typeof documents)["\n  mutation SetModerator($room: String!, $username: String!, $moderator: Boolean!) {\n    setModerator(room: $room, username: $username, moderator: $moderator) { role user { id username } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TransferOwnership($room: String!, $username: String!) {\n    transferOwnership(room: $room, username: $username) { name myRole }\n  }\n"): (typeof documents)["\n  mutation TransferOwnership($room: String!, $username: String!) {\n    transferOwnership(room: $room, username: $username) { name myRole }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation BlockUser($username: String!) {\n    blockUser(username: $username)\n  }\n"): (typeof documents)["\n  mutation BlockUser($username: String!) {\n    blockUser(username: $username)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UnblockUser($username: String!) {\n    unblockUser(username: $username)\n  }\n"): (typeof documents)["\n  mutation UnblockUser($username: String!) {\n    unblockUser(username: $username)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query BlockedUsers {\n    blockedUsers { id username }\n  }\n"): (typeof documents)["\n  query BlockedUsers {\n    blockedUsers { id username }\n  }\n"];
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
export function graphql(source: "\n  query Rooms {\n    rooms { name private unreadCount mentionCount }\n  }\n"): (typeof documents)["\n  query Rooms {\n    rooms { name private unreadCount mentionCount }\n  }\n"];
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
export function graphql(source: "\n  mutation SendMessage($room: String!, $text: String!, $clientId: String, $replyTo: ID) {\n    sendMessage(room: $room, text: $text, clientId: $clientId, replyTo: $replyTo) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n"): (typeof documents)["\n  mutation SendMessage($room: String!, $text: String!, $clientId: String, $replyTo: ID) {\n    sendMessage(room: $room, text: $text, clientId: $clientId, replyTo: $replyTo) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SendDirectMessage($to: String!, $text: String!, $clientId: String, $replyTo: ID) {\n    sendDirectMessage(to: $to, text: $text, clientId: $clientId, replyTo: $replyTo) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n"): (typeof documents)["\n  mutation SendDirectMessage($to: String!, $text: String!, $clientId: String, $replyTo: ID) {\n    sendDirectMessage(to: $to, text: $text, clientId: $clientId, replyTo: $replyTo) {\n      id room text createdAt editedAt mine\n      author { id username }\n    }\n  }\n"];
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
export function graphql(source: "\n  fragment ConversationMessage on Message {\n    id room text createdAt editedAt mine\n    author { id username }\n    replyTo { id deleted firstLine author { id username } }\n    mentions { id username }\n    reactions { emoji count mine }\n  }\n"): (typeof documents)["\n  fragment ConversationMessage on Message {\n    id room text createdAt editedAt mine\n    author { id username }\n    replyTo { id deleted firstLine author { id username } }\n    mentions { id username }\n    reactions { emoji count mine }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConversationHistory($room: String!, $before: ID) {\n    recentMessages(room: $room, limit: 30, before: $before) { ...ConversationMessage }\n  }\n"): (typeof documents)["\n  query ConversationHistory($room: String!, $before: ID) {\n    recentMessages(room: $room, limit: 30, before: $before) { ...ConversationMessage }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription RoomEvents($room: String!, $after: ID) {\n    roomEvents(room: $room, after: $after) {\n      id type messageId byModerator emoji until role\n      actor { id username }\n      target { id username }\n      message { ...ConversationMessage }\n    }\n  }\n"): (typeof documents)["\n  subscription RoomEvents($room: String!, $after: ID) {\n    roomEvents(room: $room, after: $after) {\n      id type messageId byModerator emoji until role\n      actor { id username }\n      target { id username }\n      message { ...ConversationMessage }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation EditMessage($room: String!, $id: ID!, $text: String!) {\n    editMessage(room: $room, id: $id, text: $text) { ...ConversationMessage }\n  }\n"): (typeof documents)["\n  mutation EditMessage($room: String!, $id: ID!, $text: String!) {\n    editMessage(room: $room, id: $id, text: $text) { ...ConversationMessage }\n  }\n"];
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