import SchemaBuilder from '@pothos/core';
import type { ChatContext } from '../resolvers/context.js';

/** The one Pothos builder. Defines no types: those live in one file per domain. */
export const builder = new SchemaBuilder<{
  Context: ChatContext;
  Scalars: { DateTime: { Input: Date; Output: Date | string } };
  DefaultFieldNullability: false;
}>({ defaultFieldNullability: false });
