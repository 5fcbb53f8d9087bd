import { GraphQLError, Kind } from 'graphql';
import { builder } from './builder.js';

function toDate(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) throw new GraphQLError('DateTime is an ISO-8601 string.', { extensions: { code: 'BAD_USER_INPUT' } });
  return date;
}

builder.scalarType('DateTime', {
  description: 'An instant in time, serialised as an ISO-8601 UTC string, e.g. 2026-11-26T01:02:03.456Z.',
  serialize: (value) => (value instanceof Date ? value.toISOString() : new Date(value).toISOString()),
  parseValue: toDate,
  parseLiteral: (ast) => toDate(ast.kind === Kind.STRING ? ast.value : null),
});
