import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { createYoga, useErrorHandler, type YogaServerInstance } from 'graphql-yoga';
import { bearerToken, type Viewer } from '../auth/tokens.js';
import { BackendUnavailableError, serviceUnavailable } from '../errors.js';
import type { ChatContext, Services } from '../resolvers/context.js';
import type { Logger } from './logger.js';

/** The contract's bound on document depth, counted through fragments. */
export const MAX_DEPTH = 10;
/**
 * The depth graphql-armor counts for graphql-js's getIntrospectionQuery() (GraphiQL, codegen):
 * introspection may go that deep and no deeper. test/limits.test.ts checks both sides.
 */
export const INTROSPECTION_MAX_DEPTH = 15;

/** What a transport hands the context factory: the viewer when it already knows it (graphql-ws). */
export interface TransportContext {
  /** Set by graphql-ws, which signed the socket in at connection_init. */
  readonly viewer?: Viewer | null;
  /** Set by graphql-ws, from the upgrade request. */
  readonly clientAddress?: string | null;
  /** The Node request (HTTP and SSE). */
  readonly req?: IncomingMessage;
}

export type ChatYoga = YogaServerInstance<TransportContext, ChatContext>;

export interface YogaOptions {
  readonly schema: GraphQLSchema;
  readonly services: Services;
  readonly logger: Logger;
  readonly production: boolean;
  readonly clientAddress: (req: IncomingMessage) => string | null;
}

/**
 * The one envelop pipeline: HTTP, SSE and graphql-ws all run through it, so they share the
 * schema, the context, the limits and the error masking.
 */
export function createChatYoga({ schema, services, logger, production, clientAddress }: YogaOptions): ChatYoga {
  return createYoga<TransportContext, ChatContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // GraphiQL's subscriptions go over SSE, which carries the Headers tab (Authorization) as it is
    graphiql: production ? false : { title: 'GraphQL chat', defaultQuery: GRAPHIQL_DEFAULT_QUERY },
    logging: false,
    batching: false,
    context: async (initial) => {
      if (initial.viewer !== undefined) {
        return { services, viewer: initial.viewer, requestId: randomUUID(), clientAddress: initial.clientAddress ?? null };
      }
      const base = {
        services,
        requestId: requestIdOf(initial.request.headers.get('x-request-id')),
        clientAddress: initial.req ? clientAddress(initial.req) : null,
      };
      const token = bearerToken(initial.request.headers.get('authorization'));
      if (!token) return { ...base, viewer: null };
      const verified = await services.tokens.verifyAccess(token);
      return { ...base, viewer: verified.ok ? verified.viewer : null, tokenProblem: verified.ok ? undefined : verified.reason };
    },
    maskedErrors: {
      maskError: (error) => {
        if (error instanceof GraphQLError) {
          const original = error.originalError;
          if (!original || original instanceof GraphQLError) return error;
          if (original instanceof BackendUnavailableError) return located(serviceUnavailable(), error);
        }
        const masked = new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
        return error instanceof GraphQLError ? located(masked, error) : masked;
      },
    },
    plugins: [
      // logged here, where the request id is known; the client only sees the masked error
      useErrorHandler(({ errors, context, phase }) => {
        const requestId = (context as Partial<ChatContext>).requestId;
        for (const error of errors) {
          const original = error instanceof GraphQLError ? error.originalError : error;
          if (!original || original instanceof GraphQLError) continue;
          if (original instanceof BackendUnavailableError) logger.warn({ requestId, phase, err: original }, 'backend unavailable');
          else logger.error({ requestId, phase, err: original }, 'unexpected error');
        }
      }),
      ...(production ? [useDisableIntrospection()] : []),
      EnvelopArmorPlugin({
        maxDepth: { n: MAX_DEPTH, ignoreIntrospection: true, flattenFragments: true },
        maxAliases: { n: 15 },
        maxDirectives: { n: 50 },
        maxTokens: { n: 1000 },
        costLimit: { maxCost: 5000, flattenFragments: true },
        blockFieldSuggestion: { enabled: production },
      }),
      // introspection may go as deep as graphql-js's standard query (GraphiQL, codegen) and no deeper
      maxDepthPlugin({ n: INTROSPECTION_MAX_DEPTH, ignoreIntrospection: false, flattenFragments: true }),
    ],
  });
}

const GRAPHIQL_DEFAULT_QUERY = `# 1. Run Register (or Login), copy accessToken into Headers as
#    {"Authorization": "Bearer <accessToken>"}
# 2. Run General in this tab, and SendHello in another one.
mutation Register {
  register(username: "alice", password: "correct horse") {
    accessToken
    refreshToken
    user { id username }
  }
}

subscription General {
  messageAdded(room: "general") { id text createdAt author { username } }
}

mutation SendHello {
  sendMessage(room: "general", text: "hello") { id }
}
`;

/** The caller's X-Request-Id when it looks like one, else a new id. */
function requestIdOf(header: string | null): string {
  return header && /^[\w.:-]{1,128}$/.test(header) ? header : randomUUID();
}

function located(error: GraphQLError, at: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, { nodes: at.nodes, path: at.path, extensions: error.extensions });
}
