import { GraphQLError } from 'graphql';
import { expect } from 'vitest';
import type { ErrorCode } from '../../src/errors.js';
import { register, type AuthResult } from '../../src/resolvers/auth.js';
import type { ChatContext, Services } from '../../src/resolvers/context.js';
import { anonymous, signedIn } from './services.js';

/** Helpers for tests that call the resolvers (src/resolvers) directly, without HTTP. */

export const PASSWORD = 'correct horse battery staple';

/** Runs `work` and returns the GraphQLError it fails with; fails the test when it succeeds or throws anything else. */
export async function failure(work: Promise<unknown> | (() => unknown)): Promise<GraphQLError> {
  let result: unknown;
  try {
    result = await (typeof work === 'function' ? work() : work);
  } catch (err) {
    expect(err, `expected a GraphQLError, got ${String(err)}`).toBeInstanceOf(GraphQLError);
    return err as GraphQLError;
  }
  throw new Error(`expected a GraphQL error, but it succeeded with ${JSON.stringify(result)?.slice(0, 200)}`);
}

/** Asserts `work` fails with `extensions.code === code`; returns the error for further checks. */
export async function expectCode(work: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<GraphQLError> {
  const err = await failure(work);
  expect(err.extensions.code, err.message).toBe(code);
  return err;
}

export interface TestUser {
  readonly auth: AuthResult;
  readonly ctx: ChatContext;
  readonly id: string;
  readonly username: string;
}

/** Registers `username` and returns a resolver context signed in as them. */
export async function newUser(services: Services, username: string, password = PASSWORD): Promise<TestUser> {
  const auth = await register(anonymous(services), { username, password });
  return { auth, ctx: await signedIn(services, auth.accessToken), id: auth.user.id, username: auth.user.username };
}

/** Compares two `<ms>-<seq>` ids by their two numbers. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

/** Asserts every id is of the form `<ms>-<seq>` and each is greater than the one before. */
export function expectStrictlyIncreasing(ids: readonly string[]): void {
  for (const id of ids) expect(id).toMatch(/^\d+-\d+$/);
  for (let i = 1; i < ids.length; i++) {
    expect(compareIds(ids[i - 1]!, ids[i]!), `${ids[i - 1]} before ${ids[i]}`).toBeLessThan(0);
  }
}
