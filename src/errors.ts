import { GraphQLError } from 'graphql';

/** The `extensions.code` values of the contract, plus SERVICE_UNAVAILABLE for a backend outage. */
export const ErrorCode = {
  Unauthenticated: 'UNAUTHENTICATED',
  Forbidden: 'FORBIDDEN',
  BadUserInput: 'BAD_USER_INPUT',
  NotFound: 'NOT_FOUND',
  Conflict: 'CONFLICT',
  RateLimited: 'RATE_LIMITED',
  ServiceUnavailable: 'SERVICE_UNAVAILABLE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error a client caused (or may retry); everything else thrown is masked as unexpected. */
export function chatError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

export const unauthenticated = (message = 'Sign in first: a valid access token is required.') =>
  chatError(ErrorCode.Unauthenticated, message);
export const forbidden = (message: string) => chatError(ErrorCode.Forbidden, message);
export const badInput = (message: string, field?: string) =>
  chatError(ErrorCode.BadUserInput, message, field ? { field } : {});
export const notFound = (message: string) => chatError(ErrorCode.NotFound, message);
export const conflict = (message: string) => chatError(ErrorCode.Conflict, message);
export const rateLimited = (retryAfterSeconds: number) =>
  chatError(ErrorCode.RateLimited, `Too many requests; retry in ${retryAfterSeconds} s.`, {
    retryAfter: retryAfterSeconds,
  });

/** Thrown by stores and engines when their backend cannot answer in time; never a partial write. */
export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
}

export const serviceUnavailable = () =>
  chatError(ErrorCode.ServiceUnavailable, 'The service is temporarily unavailable; try again shortly.');
