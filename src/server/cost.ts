import { type DocumentNode, GraphQLError, getNullableType, isListType, Kind, visit, type ExecutionArgs } from 'graphql';
import { type ComplexityEstimator, getComplexity } from 'graphql-query-complexity';
import type { Plugin } from 'graphql-yoga';

/**
 * The result-size budget of one operation: fields it can return, a list counted as its size
 * (`first`/`limit` argument, from a literal, a variable or the default) times the cost of its
 * selection. graphql-armor's cost rule weighs the shape of a document but not list sizes, so 15
 * aliases of recentMessages(limit: 200) passed it and returned 12.5 MB.
 */
export const MAX_RESULT_COST = 5000;
/** The size assumed for a list field without a size argument (onlineMembers). */
export const UNSIZED_LIST = 20;
/** The largest page any list argument allows (larger ones are BAD_USER_INPUT in the resolver). */
const MAX_PAGE = 200;

/** One per field, plus a list's size times its items' cost; introspection costs nothing here (its depth is bounded, and it is off in production). */
export const resultSizeEstimator: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  if (type.name.startsWith('__') || field.name.startsWith('__')) return 0;
  if (!isListType(getNullableType(field.type))) return 1 + childComplexity;
  const sizeArg = field.args.find((a) => a.name === 'first' || a.name === 'limit');
  const given = sizeArg ? args[sizeArg.name] : undefined;
  // an explicit null gets the resolver's fallback, the argument's default; without either, the largest page
  const asked = !sizeArg ? UNSIZED_LIST : typeof given === 'number' ? given : typeof sizeArg.defaultValue === 'number' ? sizeArg.defaultValue : MAX_PAGE;
  const size = Math.min(Math.max(asked, 1), MAX_PAGE);
  return 1 + size * Math.max(1, childComplexity);
};

/** The cost of the operation `args` will run, with its variables; null when it cannot be computed (bad variables: execution reports them). */
export function resultCost(args: Pick<ExecutionArgs, 'schema' | 'document' | 'variableValues' | 'operationName'>): number | null {
  try {
    return getComplexity({
      schema: args.schema,
      query: args.document,
      variables: (args.variableValues ?? {}) as Record<string, unknown>,
      ...(args.operationName ? { operationName: args.operationName } : {}),
      estimators: [resultSizeEstimator],
    });
  } catch {
    return null;
  }
}

/** True when a variable sets a list size or an @include/@skip: then the cost differs per request. */
function variablesMatter(document: DocumentNode): boolean {
  let matter = false;
  visit(document, {
    Argument(node) {
      if (node.value.kind === Kind.VARIABLE && ['first', 'limit', 'if'].includes(node.name.value)) matter = true;
    },
  });
  return matter;
}

/**
 * Refuses an operation over the budget before it runs, on every transport: the check sits on
 * envelop's execute and subscribe, where the variables are known (validation rules never see them).
 * A document whose cost no variable changes (a send) is costed once: yoga's parser cache hands
 * every request of the same text the same DocumentNode.
 */
export function useResultCostLimit(maxCost = MAX_RESULT_COST): Plugin {
  const fixed = new WeakMap<DocumentNode, Map<string, number | null>>();
  const costOf = (args: ExecutionArgs): number | null => {
    let byOperation = fixed.get(args.document);
    if (!byOperation) {
      if (variablesMatter(args.document)) return resultCost(args);
      fixed.set(args.document, (byOperation = new Map()));
    }
    const name = args.operationName ?? '';
    if (!byOperation.has(name)) byOperation.set(name, resultCost(args));
    return byOperation.get(name)!;
  };
  const check = (args: ExecutionArgs, stop: (result: { errors: GraphQLError[] }) => void) => {
    const cost = costOf(args);
    if (cost === null || cost <= maxCost) return;
    stop({
      errors: [
        new GraphQLError(
          `Result size limit of ${maxCost} exceeded, found ${cost} (each list counts its first/limit times its selection): ask for fewer or smaller lists.`,
          { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { spec: true, status: 400 } } },
        ),
      ],
    });
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
  };
}
