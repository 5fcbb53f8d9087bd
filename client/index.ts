// The typed chat client: the contract's operations as typed documents, and createChatClient.
export * from './operations.js';
export * from './chat-client.js';
export type * from './generated/graphql.js';
