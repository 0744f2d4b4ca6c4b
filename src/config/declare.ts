/**
 * One declaration per variable: its name, its parser, its default as an
 * operator would write it, its line in docs/configuration.md, and (by where
 * it stands in the tree of `src/config.ts`) the field of `Config` it feeds.
 * The zod schema, the `Config` type and the reference are all read from it.
 */
import { z } from 'zod';
import type { SectionId } from './sections.js';

type Env = Record<string, string | undefined>;

export interface Variable<T> {
  readonly kind: 'variable';
  readonly name: string;
  /** The parser behind the shared handling of empty values and defaults. */
  readonly schema: z.ZodType;
  readonly fallback: string | undefined;
  /** Its table in docs/configuration.md; its row's text is its doc comment (`@default` when the default is no literal). */
  readonly section: SectionId;
  /** The field's value from the parsed one (a path resolved, a default the environment cannot write). */
  readonly toField: (parsed: unknown) => T;
}

/** A field computed from several variables, as the Docker CLI reads its own. */
export interface Derived<T> {
  readonly kind: 'derived';
  readonly inputs: readonly Variable<unknown>[];
  readonly compute: (parsed: Readonly<Record<string, unknown>>) => T;
}

export type ConfigNode = Variable<unknown> | Derived<unknown> | { readonly [field: string]: ConfigNode };

/** The type of the value a tree of declarations builds. */
export type Shape<N> = N extends Variable<infer T> ? T : N extends Derived<infer T> ? T : { -readonly [K in keyof N]: Shape<N[K]> };

// An empty value means "not set": shells and Procfiles often export `X=`.
export const unsetIfEmpty = (value: unknown): unknown => (value === '' ? undefined : value);

/** A variable with its default, written as an operator would write it and validated like one. */
export function withDefault<P>(name: string, parser: z.ZodType<P, string>, fallback: string, section: SectionId): Variable<P> {
  const schema = z.preprocess(unsetIfEmpty, parser.prefault(fallback));
  return { kind: 'variable', name, schema, fallback, section, toField: (parsed) => parsed as P };
}

/** A variable without a default. */
export function optional<P>(name: string, parser: z.ZodType<P, string>, section: SectionId): Variable<P | undefined> {
  const schema = z.preprocess(unsetIfEmpty, parser.optional());
  return { kind: 'variable', name, schema, fallback: undefined, section, toField: (parsed) => parsed as P | undefined };
}

/** The same variable feeding its field through `map`. */
export function mapped<T, U>(variable: Variable<T>, map: (value: T) => U): Variable<U> {
  return { ...variable, toField: (parsed) => map(variable.toField(parsed)) };
}

type Inputs = Readonly<Record<string, Variable<unknown>>>;

export function derived<const I extends Inputs, T>(inputs: I, compute: (values: { [K in keyof I]: Shape<I[K]> }) => T): Derived<T> {
  const entries = Object.entries(inputs);
  return {
    kind: 'derived',
    inputs: entries.map(([, variable]) => variable),
    compute: (parsed) => compute(Object.fromEntries(entries.map(([key, v]) => [key, v.toField(parsed[v.name])])) as { [K in keyof I]: Shape<I[K]> }),
  };
}

const isVariable = (node: ConfigNode): node is Variable<unknown> => 'kind' in node && node.kind === 'variable';
const isDerived = (node: ConfigNode): node is Derived<unknown> => 'kind' in node && node.kind === 'derived';

/** Every variable of the tree, once each, in the order of its fields. */
export function variablesOf(node: ConfigNode): Variable<unknown>[] {
  const all = isVariable(node) ? [node] : isDerived(node) ? [...node.inputs] : Object.values(node).flatMap((child) => variablesOf(child));
  return [...new Map(all.map((v) => [v.name, v])).values()];
}

/** The value the tree describes, from the parsed variables keyed by name. */
export function build<N extends ConfigNode>(node: N, parsed: Readonly<Record<string, unknown>>): Shape<N> {
  if (isVariable(node)) return node.toField(parsed[node.name]) as Shape<N>;
  if (isDerived(node)) return node.compute(parsed) as Shape<N>;
  return Object.fromEntries(Object.entries(node).map(([field, child]) => [field, build(child, parsed)])) as Shape<N>;
}

/** One variable read alone (a command that needs only it), failing with the line boot would print. */
export function readVariable<T>(variable: Variable<T>, env: Env): T {
  const result = variable.schema.safeParse(env[variable.name]);
  if (!result.success) throw new Error(`${variable.name}: ${result.error.issues[0]?.message ?? 'invalid'}`);
  return variable.toField(result.data);
}
