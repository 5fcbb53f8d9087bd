import { randomBytes } from 'node:crypto';
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import {
  defaultFieldResolver,
  execute,
  getNullableType,
  getOperationAST,
  GraphQLBoolean,
  GraphQLEnumType,
  GraphQLFloat,
  GraphQLID,
  GraphQLInt,
  GraphQLString,
  isLeafType,
  isNonNullType,
  Kind,
  responsePathAsArray,
  visit,
  type ArgumentNode,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFieldResolver,
  type GraphQLLeafType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';

/**
 * The results of live events, made once for every subscriber they are the same for.
 *
 * What a result depends on: the event (the engines hand every local listener one object per
 * event), the selection set, the variables the selection uses, and the viewer. Not on the
 * arguments of the subscription field itself (`room`, `after`): they choose the event stream,
 * and a subscription field's resolve maps the event alone. So subscribers of one document whose
 * selection sees the same variables share one execution and one serialisation per event,
 * whatever cursor each resumed from.
 *
 * The viewer, safe by default: the shared execution runs with a context that holds the services
 * and nothing of any subscriber (no viewer at all), so it cannot carry one subscriber's data to
 * another. Every other property read on it is noticed. A field whose resolver reads one becomes a
 * hole: its value is left out of the shared JSON and resolved again for each subscriber with its
 * own context (Message.mine: one comparison per subscriber), spliced into the JSON made once.
 * Nobody marks such fields: a resolver that reads the viewer is found the moment it does. When a
 * hole cannot be filled in that way (an object-typed field, a read after an await, a resolver that
 * fails or returns null for a non-null field) the subscriber's result is executed for it alone.
 */
export interface LiveResults {
  /** How the results of one subscription operation are made (once per subscription). */
  plan(args: ExecutionArgs): LivePlan;
}

export interface LivePlan {
  /** The result of `event` for this subscriber, as the JSON of an ExecutionResult. */
  json(event: unknown): string | Promise<string>;
}

export interface LiveResultsOptions {
  readonly schema: GraphQLSchema;
  /**
   * Masks (and logs) the errors of a result before it is serialised: `ctx` is the subscriber's
   * context, or null for a result shared by several.
   */
  readonly present: (result: ExecutionResult, ctx: unknown) => ExecutionResult;
  /** Called for each execution of an event on the shared path. */
  readonly onSharedExecution?: () => void;
  /** Called for each execution of an event for one subscriber alone. */
  readonly onSubscriberExecution?: () => void;
}

/** A result prepared for every subscriber of one shape: JSON with holes to fill per subscriber. */
interface Prepared {
  /** The JSON around the holes: holes.length + 1 parts. */
  readonly parts: readonly string[];
  readonly holes: readonly Hole[];
  /** Filled JSON by the holes' values (Message.mine: two). */
  readonly variants: Map<string, string>;
}

/** A viewer-dependent leaf of a shared result. */
interface Hole {
  readonly parent: unknown;
  readonly args: Record<string, unknown>;
  readonly info: GraphQLResolveInfo;
  readonly resolve: GraphQLFieldResolver<unknown, unknown>;
  readonly type: GraphQLLeafType;
  readonly nonNull: boolean;
}

/** What the shared execution noticed. */
class Detection {
  reads = 0;
  /** Resolvers running (synchronously) right now: a read while none is means a read after an await. */
  depth = 0;
  /** A read nobody can be blamed for (after an await): nothing of this execution is shared. */
  tainted = false;
  /** A hole that cannot be filled per subscriber. */
  unfillable = false;
  readonly holes: { hole: Hole; path: (string | number)[] }[] = [];
}

const DETECTION = Symbol('live-results.detection');
/** Per process: a data string cannot be mistaken for a hole's marker without knowing it. */
const NONCE = randomBytes(6).toString('hex');

/** Not shared: each subscriber's result is executed for it alone. */
const UNSHARED = null;

export function createLiveResults(options: LiveResultsOptions): LiveResults {
  return new Results(options);
}

type Shaped = Prepared | typeof UNSHARED;

/** The state every plan shares (one per server). */
class Results implements LiveResults {
  readonly detecting: GraphQLSchema;
  readonly onShared: () => void;
  readonly onSubscriber: () => void;
  /** event -> shape key -> prepared result; entries go when the event is no longer referenced. */
  private readonly byEvent = new WeakMap<object, Map<string, Shaped | Promise<Shaped>>>();
  private readonly documentIds = new WeakMap<DocumentNode, number>();
  private nextDocumentId = 0;
  // every subscriber of an event asks in turn: the last event's shapes are at hand
  private lastEvent: object | undefined;
  private lastShapes: Map<string, Shaped | Promise<Shaped>> | undefined;

  constructor(readonly options: LiveResultsOptions) {
    this.detecting = detectingSchema(options.schema);
    this.onShared = options.onSharedExecution ?? (() => {});
    this.onSubscriber = options.onSubscriberExecution ?? (() => {});
  }

  plan(args: ExecutionArgs): LivePlan {
    let documentId = this.documentIds.get(args.document);
    if (documentId === undefined) this.documentIds.set(args.document, (documentId = this.nextDocumentId++));
    const values: Record<string, unknown> = {};
    for (const name of variablesOfSelection(args.document, args.operationName)) {
      if (args.variableValues && name in args.variableValues) values[name] = args.variableValues[name];
    }
    return new Plan(this, args, flat(`${documentId}\n${args.operationName ?? ''}\n${JSON.stringify(values)}`));
  }

  /** The shapes already made for `event`. */
  shapesOf(event: object): Map<string, Shaped | Promise<Shaped>> {
    let shapes = event === this.lastEvent ? this.lastShapes : this.byEvent.get(event);
    if (!shapes) this.byEvent.set(event, (shapes = new Map()));
    this.lastEvent = event;
    this.lastShapes = shapes;
    return shapes;
  }
}

/** One subscription's way to its results (one per subscription: a class, its methods shared). */
class Plan implements LivePlan {
  constructor(
    private readonly results: Results,
    private readonly args: ExecutionArgs,
    /** Its shape: subscriptions with the same key get the same result for an event, bar the holes. */
    private readonly key: string,
  ) {}

  json(event: unknown): string | Promise<string> {
    if (typeof event !== 'object' || event === null) return this.alone(event);
    const shapes = this.results.shapesOf(event);
    const { key } = this;
    let prepared = shapes.get(key);
    if (prepared === undefined) {
      prepared = this.prepare(event);
      shapes.set(key, prepared);
      // once settled, later subscribers take the synchronous path
      if (prepared instanceof Promise) void prepared.then((p) => shapes.set(key, p), () => shapes.delete(key));
    }
    return prepared instanceof Promise ? prepared.then((p) => this.fill(p, event)) : this.fill(prepared, event);
  }

  /** Executes `event` once for every subscriber of this shape, noting what reads the viewer. */
  private prepare(event: object): Shaped | Promise<Shaped> {
    const { results, args } = this;
    results.onShared();
    const detection = new Detection();
    const services = (args.contextValue as { services?: unknown } | null | undefined)?.services;
    const result = execute({ ...args, schema: results.detecting, rootValue: event, contextValue: sharedContext(services, detection) });
    const done = (r: ExecutionResult) => (detection.tainted || detection.unfillable ? UNSHARED : template(results.options.present(r, null), detection));
    return result instanceof Promise ? result.then(done) : done(result);
  }

  private fill(prepared: Shaped, event: unknown): string | Promise<string> {
    if (prepared === UNSHARED) return this.alone(event);
    if (prepared.holes.length === 0) return prepared.parts[0]!;
    return fillHoles(prepared, this.args.contextValue, () => this.alone(event));
  }

  /** This subscriber's result of `event`, executed for it alone. */
  private async alone(event: unknown): Promise<string> {
    this.results.onSubscriber();
    return serialise(this.results.options.present(await execute({ ...this.args, rootValue: event }), this.args.contextValue));
  }
}

/**
 * The string as one flat sequence: a string built by concatenation is a tree of pieces until V8
 * flattens it (reading a character does), which for a string kept per subscription costs more
 * than its characters.
 */
export function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}

/** The JSON of a result as graphql-ws sends it: data first, errors (masked already) after. */
function serialise(result: ExecutionResult): string {
  const { data, errors, extensions } = result;
  return JSON.stringify({ data, ...(errors ? { errors } : {}), ...(extensions ? { extensions } : {}) });
}

/** Splits the JSON of a shared result at its holes. */
function template(result: ExecutionResult, detection: Detection): Prepared {
  const markers: { hole: Hole; marker: string }[] = [];
  detection.holes.forEach(({ hole, path }, i) => {
    const marker = `\u0000${NONCE}:${i}\u0000`;
    // a hole under a parent that an error nulled is gone with it
    if (setAt(result.data, path, marker)) markers.push({ hole, marker: JSON.stringify(marker) });
  });
  const json = serialise(result);
  const placed = markers.map((m) => ({ ...m, at: json.indexOf(m.marker) })).sort((a, b) => a.at - b.at);
  const parts: string[] = [];
  let from = 0;
  for (const p of placed) {
    parts.push(json.slice(from, p.at));
    from = p.at + p.marker.length;
  }
  parts.push(json.slice(from));
  return { parts, holes: placed.map((p) => p.hole), variants: new Map() };
}

function setAt(data: unknown, path: readonly (string | number)[], value: string): boolean {
  let node = data as Record<string | number, unknown> | null | undefined;
  for (let i = 0; i < path.length - 1; i++) {
    node = node?.[path[i]!] as typeof node;
    if (typeof node !== 'object' || node === null) return false;
  }
  if (!node || !(path[path.length - 1]! in node)) return false;
  node[path[path.length - 1]!] = value;
  return true;
}

/** The shared JSON with this subscriber's values in its holes; `alone()` when one cannot be filled. */
function fillHoles(prepared: Prepared, ctx: unknown, alone: () => Promise<string>): string | Promise<string> {
  const { holes } = prepared;
  // one hole (Message.mine): no arrays, the leaf's JSON is the variant's key
  if (holes.length === 1) {
    const h = holes[0]!;
    let v: unknown;
    try {
      v = h.resolve(h.parent, h.args, ctx, h.info);
    } catch {
      return alone();
    }
    return v instanceof Promise ? v.then((value) => spliceOne(prepared, value, alone), alone) : spliceOne(prepared, v, alone);
  }
  const raw: unknown[] = [];
  let pending = false;
  try {
    for (const h of holes) {
      const v = h.resolve(h.parent, h.args, ctx, h.info);
      if (v instanceof Promise) pending = true;
      raw.push(v);
    }
  } catch {
    return alone();
  }
  return pending ? Promise.all(raw).then((values) => splice(prepared, values, alone), alone) : splice(prepared, raw, alone);
}

function spliceOne(prepared: Prepared, value: unknown, alone: () => Promise<string>): string | Promise<string> {
  const leaf = leafJson(prepared.holes[0]!, value);
  if (leaf === undefined) return alone();
  let filled = prepared.variants.get(leaf);
  if (filled === undefined) prepared.variants.set(leaf, (filled = prepared.parts[0]! + leaf + prepared.parts[1]!));
  return filled;
}

/** The JSON with `values` in the holes, made once per distinct set of values. */
function splice(prepared: Prepared, values: readonly unknown[], alone: () => Promise<string>): string | Promise<string> {
  const { holes, parts } = prepared;
  let key = '';
  const leaves: string[] = [];
  for (let i = 0; i < values.length; i++) {
    const leaf = leafJson(holes[i]!, values[i]);
    if (leaf === undefined) return alone();
    key = i === 0 ? leaf : `${key}\u0000${leaf}`;
    leaves.push(leaf);
  }
  let filled = prepared.variants.get(key);
  if (filled === undefined) {
    filled = parts[0]!;
    for (let i = 0; i < leaves.length; i++) filled += leaves[i]! + parts[i + 1]!;
    prepared.variants.set(key, filled);
  }
  return filled;
}

/** A leaf's value as graphql-js would complete it, as JSON; undefined when that would be an error. */
function leafJson(hole: Hole, value: unknown): string | undefined {
  if (value === null || value === undefined) return hole.nonNull ? undefined : 'null';
  let serialised: unknown;
  try {
    serialised = hole.type.serialize(value);
  } catch {
    return undefined;
  }
  if (serialised === true) return 'true';
  if (serialised === false) return 'false';
  return serialised === null || serialised === undefined ? undefined : JSON.stringify(serialised);
}

/**
 * The context of a shared execution: the services, and nothing of any subscriber. Reading any
 * other property (viewer, requestId, ...) is noticed, and yields undefined.
 */
function sharedContext(services: unknown, detection: Detection): object {
  const noticed = () => {
    detection.reads++;
    if (detection.depth === 0) detection.tainted = true;
  };
  return new Proxy(Object.create(null) as object, {
    get(_target, prop) {
      if (prop === 'services') return services;
      if (prop === DETECTION) return detection;
      noticed();
      return undefined;
    },
    has(_target, prop) {
      if (prop === 'services') return true;
      noticed();
      return false;
    },
  });
}

/** The schema for shared executions: each resolver, when it reads the subscriber's context, makes its field a hole. */
function detectingSchema(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field) => {
      const resolve = field.resolve ?? defaultFieldResolver;
      return {
        ...field,
        resolve(parent, args, ctx, info) {
          const detection = (ctx as { [DETECTION]?: Detection } | null)?.[DETECTION];
          if (!detection) return resolve(parent, args, ctx, info);
          const before = detection.reads;
          detection.depth++;
          let value: unknown;
          let failure: { error: unknown } | undefined;
          try {
            value = resolve(parent, args, ctx, info);
          } catch (error) {
            failure = { error };
          } finally {
            detection.depth--;
          }
          if (detection.reads !== before) {
            // what it gave the subscriber-less context is dropped (an async resolver may reject)
            if (value instanceof Promise) value.catch(() => {});
            return hole(detection, { parent, args, info, resolve });
          }
          if (failure) throw failure.error;
          return value;
        },
      };
    },
  });
}

/** Records a hole and returns what the shared execution puts there meanwhile. */
function hole(detection: Detection, at: Pick<Hole, 'parent' | 'args' | 'info' | 'resolve'>): unknown {
  const nonNull = isNonNullType(at.info.returnType);
  const type = getNullableType(at.info.returnType);
  if (!isLeafType(type)) {
    detection.unfillable = true;
    return null;
  }
  const stand = nonNull ? standIn(type) : null;
  if (stand === undefined) {
    detection.unfillable = true;
    return null;
  }
  detection.holes.push({ hole: { ...at, type, nonNull }, path: responsePathAsArray(at.info.path) });
  return stand;
}

/** A valid value of a leaf type (replaced in the JSON); undefined for a custom scalar. */
function standIn(type: GraphQLLeafType): unknown {
  if (type === GraphQLBoolean) return false;
  if (type === GraphQLInt || type === GraphQLFloat) return 0;
  if (type === GraphQLString || type === GraphQLID) return '';
  if (type instanceof GraphQLEnumType) return type.getValues()[0]?.value;
  return undefined;
}

const usedVariables = new WeakMap<DocumentNode, Map<string, readonly string[]>>();

/**
 * The variables the result can depend on: every variable the operation uses except in the
 * arguments of its root fields (they choose the event stream; `after` lives there).
 */
export function variablesOfSelection(document: DocumentNode, operationName: string | null | undefined): readonly string[] {
  let byOperation = usedVariables.get(document);
  if (!byOperation) usedVariables.set(document, (byOperation = new Map()));
  const known = byOperation.get(operationName ?? '');
  if (known) return known;
  const operation = getOperationAST(document, operationName);
  const used = new Set<string>();
  if (operation) {
    const streamArguments = new Set<ArgumentNode>();
    for (const selection of operation.selectionSet.selections) {
      if (selection.kind === Kind.FIELD) for (const a of selection.arguments ?? []) streamArguments.add(a);
    }
    const visitor = {
      VariableDefinition: () => false as const,
      Argument: (node: ArgumentNode) => (streamArguments.has(node) ? false : undefined),
      Variable: (node: { name: { value: string } }) => void used.add(node.name.value),
    };
    visit(operation, visitor);
    for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) visit(definition, visitor);
  }
  const names = [...used].sort();
  byOperation.set(operationName ?? '', names);
  return names;
}
