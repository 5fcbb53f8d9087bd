// The typed operations of roles, moderation, reactions, mentions and blocking (see operations.ts
// for messages and rooms). After changing one: npm run codegen.
import { graphql } from './generated/gql.js';

/** One room the viewer can see: their role, counts and who runs it (role badges). */
export const roomQuery = graphql(`
  query Room($name: String!) {
    room(name: $name) {
      name private myRole unreadCount mentionCount
      moderators { role user { id username } }
    }
  }
`);

/**
 * The members panel: a page of members with roles (members of a private room, moderators of a
 * public one; null for others), and for moderators the bans and mutes in force.
 */
export const roomMembersQuery = graphql(`
  query RoomMembers($name: String!, $after: String) {
    room(name: $name) {
      name myRole
      members(first: 100, after: $after) { role mutedUntil user { id username } }
    }
  }
`);

export const roomSanctionsQuery = graphql(`
  query RoomSanctions($name: String!) {
    room(name: $name) {
      name
      bans { bannedAt user { id username } bannedBy { id username } }
      mutes { until user { id username } mutedBy { id username } }
    }
  }
`);

export const addReactionMutation = graphql(`
  mutation AddReaction($room: String!, $messageId: ID!, $emoji: String!) {
    addReaction(room: $room, messageId: $messageId, emoji: $emoji) { ...ConversationMessage }
  }
`);

export const removeReactionMutation = graphql(`
  mutation RemoveReaction($room: String!, $messageId: ID!, $emoji: String!) {
    removeReaction(room: $room, messageId: $messageId, emoji: $emoji) { ...ConversationMessage }
  }
`);

/** Messages that mention the viewer, from any room, live. */
export const mentionedSubscription = graphql(`
  subscription Mentioned {
    mentioned { id room text createdAt author { id username } }
  }
`);

export const muteUserMutation = graphql(`
  mutation MuteUser($room: String!, $username: String!, $seconds: Int!) {
    muteUser(room: $room, username: $username, seconds: $seconds) { until user { id username } }
  }
`);

export const unmuteUserMutation = graphql(`
  mutation UnmuteUser($room: String!, $username: String!) {
    unmuteUser(room: $room, username: $username)
  }
`);

export const banUserMutation = graphql(`
  mutation BanUser($room: String!, $username: String!) {
    banUser(room: $room, username: $username) { bannedAt user { id username } }
  }
`);

export const unbanUserMutation = graphql(`
  mutation UnbanUser($room: String!, $username: String!) {
    unbanUser(room: $room, username: $username)
  }
`);

export const setModeratorMutation = graphql(`
  mutation SetModerator($room: String!, $username: String!, $moderator: Boolean!) {
    setModerator(room: $room, username: $username, moderator: $moderator) { role user { id username } }
  }
`);

export const transferOwnershipMutation = graphql(`
  mutation TransferOwnership($room: String!, $username: String!) {
    transferOwnership(room: $room, username: $username) { name myRole }
  }
`);

export const blockUserMutation = graphql(`
  mutation BlockUser($username: String!) {
    blockUser(username: $username)
  }
`);

export const unblockUserMutation = graphql(`
  mutation UnblockUser($username: String!) {
    unblockUser(username: $username)
  }
`);

export const blockedUsersQuery = graphql(`
  query BlockedUsers {
    blockedUsers { id username }
  }
`);
