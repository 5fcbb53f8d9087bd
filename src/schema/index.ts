import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './user.js';
import './room.js';
import './message.js';
import './activity.js';
import './interactions.js';
import './moderation.js';

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

/** The executable schema; built once per process (Pothos builders are not reusable). */
export const schema: GraphQLSchema = builder.toSchema({ sortSchema: true });

/** The SDL committed as schema.graphql. */
export function printChatSchema(): string {
  return printSchema(lexicographicSortSchema(schema));
}
