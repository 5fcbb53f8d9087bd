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

/** The sidebar: every room the viewer can see, with how many messages arrived since its read mark. */
export const roomsQuery = graphql(`
  query Rooms {
    rooms { name private unreadCount mentionCount }
  }
`);

/** A member of a private room adds a user to it. */
export const inviteToRoomMutation = graphql(`
  mutation InviteToRoom($room: String!, $username: String!) {
    inviteToRoom(room: $room, username: $username) { name private }
  }
`);

/** Leaves a room (a private one: access ends at once); true when the viewer was a member. */
export const leaveRoomMutation = graphql(`
  mutation LeaveRoom($name: String!) {
    leaveRoom(name: $name)
  }
`);

/** The creator of a private room removes a member. */
export const removeFromRoomMutation = graphql(`
  mutation RemoveFromRoom($room: String!, $username: String!) {
    removeFromRoom(room: $room, username: $username) { name private }
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
      id room text createdAt editedAt mine
      author { id username }
    }
  }
`);

/**
 * Declares `$clientId`, the send's idempotency key: the helper's `request()` fills in a new one
 * when it is not given and retries the same send with it after SERVICE_UNAVAILABLE or a dropped
 * connection (the server answers a repeated key with the message it stored the first time).
 */
export const sendMessageMutation = graphql(`
  mutation SendMessage($room: String!, $text: String!, $clientId: String, $replyTo: ID) {
    sendMessage(room: $room, text: $text, clientId: $clientId, replyTo: $replyTo) {
      id room text createdAt editedAt mine
      author { id username }
    }
  }
`);

/** Into the direct conversation with `to` (dm:<a>:<b>), created on first use; `$clientId` as for sendMessage. */
export const sendDirectMessageMutation = graphql(`
  mutation SendDirectMessage($to: String!, $text: String!, $clientId: String, $replyTo: ID) {
    sendDirectMessage(to: $to, text: $text, clientId: $clientId, replyTo: $replyTo) {
      id room text createdAt editedAt mine
      author { id username }
    }
  }
`);

/** Declares `$after`: the helper's graphql-ws client sets it to the last id seen on every resubscribe. */
export const messageAddedSubscription = graphql(`
  subscription MessageAdded($room: String!, $after: ID) {
    messageAdded(room: $room, after: $after) {
      id room text createdAt editedAt mine
      author { id username }
    }
  }
`);

/**
 * Only that a message arrived in a room (for unread badges): two fields and no viewer-dependent
 * one (`mine`), so it is cheap to keep open for every room. Resumed with `$after` like messageAdded.
 */
export const roomActivitySubscription = graphql(`
  subscription RoomActivity($room: String!, $after: ID) {
    messageAdded(room: $room, after: $after) { id room }
  }
`);

export const directMessageAddedSubscription = graphql(`
  subscription DirectMessageAdded {
    directMessageAdded {
      id room text createdAt editedAt mine
      author { id username }
    }
  }
`);

// ------------------------------------------------------------------ beyond messages

/**
 * A message as a conversation shows it: with the message it answers (or its tombstone), whom it
 * mentions and its reactions (`mine`: the viewer's own).
 */
export const conversationMessageFragment = graphql(`
  fragment ConversationMessage on Message {
    id room text createdAt editedAt mine
    author { id username }
    replyTo { id deleted firstLine author { id username } }
    mentions { id username }
    reactions { emoji count mine }
  }
`);

/**
 * A page of a conversation's history (30 messages before `$before`, oldest first), each message
 * whole: a fixed page size keeps the richer selection within the server's result-size budget.
 */
export const conversationHistoryQuery = graphql(`
  query ConversationHistory($room: String!, $before: ID) {
    recentMessages(room: $room, limit: 30, before: $before) { ...ConversationMessage }
  }
`);

/**
 * Everything that happens in a room in log order: messages ADDED, EDITED, DELETED (byModerator
 * when a moderator removed it), REACTION_ADDED/REMOVED (the message with every reaction), and
 * moderators' actions on users (MUTED, UNMUTED, BANNED, UNBANNED, ROLE_CHANGED). Declares `$after`
 * like messageAdded: the helper's graphql-ws client resumes it from the last event id it delivered.
 */
export const roomEventsSubscription = graphql(`
  subscription RoomEvents($room: String!, $after: ID) {
    roomEvents(room: $room, after: $after) {
      id type messageId byModerator emoji until role
      actor { id username }
      target { id username }
      message { ...ConversationMessage }
    }
  }
`);

export const editMessageMutation = graphql(`
  mutation EditMessage($room: String!, $id: ID!, $text: String!) {
    editMessage(room: $room, id: $id, text: $text) { ...ConversationMessage }
  }
`);

export const deleteMessageMutation = graphql(`
  mutation DeleteMessage($room: String!, $id: ID!) {
    deleteMessage(room: $room, id: $id)
  }
`);

/** Moves the viewer's read mark to the newest message at or before `id` (never backwards). */
export const markReadMutation = graphql(`
  mutation MarkRead($room: String!, $id: ID!) {
    markRead(room: $room, id: $id) { name unreadCount lastReadId }
  }
`);

/** "I am typing": lasts 5 s on the server; rate limited (RATE_LIMITED when sent too often). */
export const startTypingMutation = graphql(`
  mutation StartTyping($room: String!) {
    startTyping(room: $room)
  }
`);

/** Others typing in a room; show each until its expiresAt. */
export const typingSubscription = graphql(`
  subscription Typing($room: String!) {
    typing(room: $room) {
      room expiresAt
      user { id username }
    }
  }
`);

export const presenceChangedSubscription = graphql(`
  subscription PresenceChanged($room: String!) {
    presenceChanged(room: $room) {
      room online
      user { id username }
    }
  }
`);

export const onlineMembersQuery = graphql(`
  query OnlineMembers($room: String!) {
    onlineMembers(room: $room) { id username }
  }
`);
