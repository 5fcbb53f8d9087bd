// The typed chat client: the contract's operations as typed documents, and createChatClient.
export * from './operations.js';
export * from './moderation.js';
export { ChatApiError, executeHttp, isRetriableSendFailure, newClientId, signIn, type ChatSession, type Credentials, type SignInMode } from './http.js';
export { compareMessageIds, resumingClient } from './resume.js';
export * from './chat-client.js';
export type * from './generated/graphql.js';
