import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { GraphQLError, Kind, type ASTVisitor, type GraphQLFormattedError, type GraphQLSchema, type SelectionSetNode, type ValidationContext } from 'graphql';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { createYoga, useErrorHandler, type GraphiQLOptions, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { bearerToken, type Viewer } from '../auth/tokens.js';
import { BackendUnavailableError, serviceUnavailable } from '../errors.js';
import { useResultCostLimit } from './cost.js';
import { useCompressedPages } from './compression.js';
import { useHttpSubscriptionLifetime } from './http-subscriptions.js';
import { createOriginPolicy, useOriginPolicy, type OriginPolicy } from './origins.js';
import { createStreamLimits, type StreamLimits } from './stream-limits.js';
import type { ChatContext, Services } from '../resolvers/context.js';
import { flat } from './live-results.js';
import type { Logger } from './logger.js';

/** The contract's bound on document depth, counted through fragments. */
export const MAX_DEPTH = 10;
/**
 * The depth graphql-armor counts for graphql-js's getIntrospectionQuery() (GraphiQL, codegen):
 * introspection may go that deep and no deeper. test/limits.test.ts checks both sides.
 */
export const INTROSPECTION_MAX_DEPTH = 15;
/** graphql-armor's settings (README, "Security and limits"); cost uses armor's default weights. */
export const MAX_ALIASES = 15;
export const MAX_DIRECTIVES = 50;
export const MAX_TOKENS = 1000;
export const MAX_COST = 5000;

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
  /** The live path's plugin (src/server/live.ts): runs WebSocket subscriptions. */
  readonly livePlugin?: Plugin;
  /** GraphiQL's page with its assets inlined (@graphql-yoga/render-graphiql); loaded only outside production. */
  readonly renderGraphiQL?: (options?: GraphiQLOptions) => string;
  /** Which browser origins may call the API (CORS, and a 403 for the others). @default ALLOWED_ORIGINS unset */
  readonly origins?: OriginPolicy;
  /** Caps on live connections per user and address, shared with the WebSockets. @default 16 per user, 128 per address */
  readonly streams?: StreamLimits;
}

/**
 * The one envelop pipeline: HTTP, SSE and graphql-ws all run through it, so they share the
 * schema, the context, the limits and the error masking.
 */
export function createChatYoga(options: YogaOptions): ChatYoga {
  const { schema, services, logger, production, clientAddress, livePlugin, renderGraphiQL } = options;
  return createYoga<TransportContext, ChatContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // GraphiQL's subscriptions go over SSE, which carries the Headers tab (Authorization) as it is
    graphiql: production ? false : { title: 'GraphQL chat', defaultQuery: GRAPHIQL_DEFAULT_QUERY },
    // GraphiQL's assets from the package, not a CDN: it works offline and behind strict networks
    ...(renderGraphiQL ? { renderGraphiQL } : {}),
    logging: false,
    batching: false,
    // only JSON bodies (src/server/http.ts refuses the rest before yoga), and no file uploads
    multipart: false,
    // replaced by useOriginPolicy: yoga's default reflects any Origin, with credentials
    cors: false,
    // http.ts reads every body before yoga, bounded (HttpOptions.maxBodyBytes): yoga's own limit
    // would pipe it through a TransformStream once more, a third of a small request's cost
    maxRequestBodySize: false,
    context: async (initial) => {
      if (initial.viewer !== undefined) {
        return {
          services,
          viewer: initial.viewer,
          // kept as long as the operation: one flat string, not randomUUID's tree of pieces
          requestId: flat(randomUUID()),
          clientAddress: initial.clientAddress ?? null,
        };
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
      maskError: (error) => maskError(error),
    },
    plugins: [
      // logged here, where the request id is known; the client only sees the masked error
      useErrorHandler(({ errors, context, phase }) => {
        // in the execution phase envelop hands over the execution args, whose contextValue is ours
        const ctx = context as Partial<ChatContext> & { contextValue?: Partial<ChatContext> };
        reportErrors(logger, errors, { requestId: ctx.requestId ?? ctx.contextValue?.requestId, phase });
      }),
      ...(production ? [useDisableIntrospection()] : []),
      useOriginPolicy(options.origins ?? createOriginPolicy([])),
      // before anything that holds resources for an operation: an operation over the budget holds none
      useResultCostLimit(),
      useHttpSubscriptionLifetime({ revocations: services.revocations, streams: options.streams ?? createStreamLimits(), now: services.now }),
      // GraphiQL's page (megabytes) gzipped; GraphQL results as they are
      useCompressedPages(),
      ...(livePlugin ? [livePlugin] : []),
      EnvelopArmorPlugin({
        maxDepth: { n: MAX_DEPTH, ignoreIntrospection: true, flattenFragments: true, ...reported },
        maxAliases: { n: MAX_ALIASES, ...reported },
        maxDirectives: { n: MAX_DIRECTIVES, ...reported },
        maxTokens: { n: MAX_TOKENS },
        costLimit: { maxCost: MAX_COST, flattenFragments: true, ...reported },
        blockFieldSuggestion: { enabled: production },
      }),
      // introspection may go as deep as graphql-js's standard query (GraphiQL, codegen) and no deeper
      maxDepthPlugin({ n: INTROSPECTION_MAX_DEPTH, ignoreIntrospection: false, flattenFragments: true, ...reported }),
      // closes two holes in graphql-armor 3.2.0's counting (test/hardening.http.test.ts)
      armorGaps,
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

/**
 * What a client may see of an error, in one place for every transport: ours (with a contract
 * code) and graphql-js's own go out as they are, a backend outage becomes SERVICE_UNAVAILABLE,
 * anything else "Unexpected error." with INTERNAL_SERVER_ERROR.
 */
export function maskError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) {
    const original = error.originalError;
    if (!original || original instanceof GraphQLError) return coded(error);
    if (original instanceof BackendUnavailableError) return located(serviceUnavailable(), error);
  }
  // thrown by a subscription's source (a stream, not a resolver): not wrapped in a GraphQLError
  if (error instanceof BackendUnavailableError) return serviceUnavailable();
  const masked = new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  return error instanceof GraphQLError ? located(masked, error) : masked;
}

/**
 * Logs what the client will only see masked: a backend outage as a warning, anything else that
 * is not one of ours (or graphql-js's) as an error. Our own errors and graphql-js's are not logged.
 */
export function reportErrors(logger: Logger, errors: readonly unknown[], where: { requestId?: string | undefined; phase: string }): void {
  for (const error of errors) {
    const original = error instanceof GraphQLError ? error.originalError : error;
    if (!original || original instanceof GraphQLError) continue;
    if (original instanceof BackendUnavailableError) logger.warn({ ...where, err: original }, 'backend unavailable');
    else logger.error({ ...where, err: original }, 'unexpected error');
  }
}

/** The caller's X-Request-Id when it looks like one, else a new id. */
function requestIdOf(header: string | null): string {
  return header && /^[\w.:-]{1,128}$/.test(header) ? header : randomUUID();
}

/**
 * graphql-armor reports through the validation context rather than throwing, so its rejections
 * are ordinary validation errors with extensions.code GRAPHQL_VALIDATION_FAILED.
 */
const reported = {
  propagateOnRejection: false,
  onReject: [(ctx: ValidationContext | null, error: GraphQLError) => ctx?.reportError(error)],
};

const armorGaps: Plugin = {
  onValidate({ addValidationRule }) {
    addValidationRule(reservedAliasRule);
    addValidationRule(directivesThroughSpreadsRule);
  },
};

/**
 * Aliases starting with `__` are refused (such names are reserved for introspection): armor's
 * alias count skips any alias named `__typename`, so `__typename: login(...)` would get past the cap.
 */
function reservedAliasRule(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      const alias = node.alias?.value;
      if (alias?.startsWith('__') && alias !== node.name.value) {
        context.reportError(new GraphQLError(`The alias "${alias}" is reserved: names starting with "__" belong to introspection.`, { nodes: node.alias }));
      }
    },
  };
}

/**
 * Directives per operation through fragments, counting the ones on every fragment spread: armor's
 * count drops the directives of a spread of a fragment it has seen before (`...F @include @skip` repeated).
 */
function directivesThroughSpreadsRule(context: ValidationContext): ASTVisitor {
  const perFragment = new Map<string, number>();
  const inSet = (set: SelectionSetNode | undefined, visiting: Set<string>): number => {
    let n = 0;
    for (const sel of set?.selections ?? []) {
      n += sel.directives?.length ?? 0;
      if (sel.kind !== Kind.FRAGMENT_SPREAD) n += inSet(sel.selectionSet, visiting);
      else n += inFragment(sel.name.value, visiting);
    }
    return n;
  };
  const inFragment = (name: string, visiting: Set<string>): number => {
    const known = perFragment.get(name);
    if (known !== undefined) return known;
    const fragment = context.getFragment(name);
    if (!fragment || visiting.has(name)) return 0; // unknown or cyclic: other rules report it
    visiting.add(name);
    const n = (fragment.directives?.length ?? 0) + inSet(fragment.selectionSet, visiting);
    visiting.delete(name);
    perFragment.set(name, n);
    return n;
  };
  return {
    OperationDefinition(op) {
      const n = (op.directives?.length ?? 0) + inSet(op.selectionSet, new Set());
      if (n > MAX_DIRECTIVES) context.reportError(new GraphQLError(`Directives limit of ${MAX_DIRECTIVES} exceeded, found ${n}.`, { nodes: op }));
    },
  };
}

/**
 * Errors of the caller's making that graphql-js (or graphql-ws) reports with no code: a variable
 * of the wrong type or a required one missing (BAD_USER_INPUT, naming the variable, as Apollo
 * Server does), a document over the token limit (GRAPHQL_PARSE_FAILED, like any syntax error),
 * and no operation to run (OPERATION_RESOLUTION_FAILURE, yoga's code for it over HTTP).
 */
function coded(error: GraphQLError): GraphQLError {
  const code = error.extensions.code;
  const variable = /^Variable "\$(\w+)"/.exec(error.message)?.[1];
  // yoga codes some variable errors itself (over SSE), without the variable's name
  if (variable && (code === undefined || code === 'BAD_USER_INPUT') && error.extensions.variable === undefined) {
    return withExtensions(error, { code: 'BAD_USER_INPUT', variable });
  }
  if (code !== undefined) return error;
  if (error.message.startsWith('Syntax Error')) return withExtensions(error, { code: 'GRAPHQL_PARSE_FAILED' });
  if (/^Unable to identify operation|^Must provide operation name|^Unknown operation named/.test(error.message)) {
    return withExtensions(error, { code: 'OPERATION_RESOLUTION_FAILURE' });
  }
  return error;
}

function withExtensions(error: GraphQLError, extensions: Record<string, unknown>): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, ...extensions },
  });
}

/**
 * An error as a client outside HTTP sees it: yoga's `http` extension sets the HTTP answer's status
 * and is dropped from HTTP answers; over WebSocket it would go out as is.
 */
export function withoutHttp(error: GraphQLFormattedError): GraphQLFormattedError {
  if (!error.extensions || !('http' in error.extensions)) return error;
  const { http: _, ...extensions } = error.extensions;
  return { ...error, extensions };
}

function located(error: GraphQLError, at: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, { nodes: at.nodes, path: at.path, extensions: error.extensions });
}
