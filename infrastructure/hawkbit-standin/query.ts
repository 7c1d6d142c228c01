// `q` (RSQL/FIQL), `sort`, `offset`, `limit` as hawkBit's Management API interprets them:
// field names are case-insensitive, string comparison is case-insensitive, `*` is a wildcard in ==/!=,
// limit below 1 means the default 50 and above 500 means 500, offset below 0 means 0
// (hawkBit 1.1.0 PagingUtility.toPageable / sanitizePageLimitParam / sanitizeOffsetParam).
import { parse } from "@rsql/parser";
import type { ComparisonNode, ExpressionNode } from "@rsql/ast";
import { rsqlField, rsqlSyntax, rsqlValue, sortDirection, sortField, sortSyntax } from "./errors.js";

export const MAX_PAGE_LIMIT = 500;
export const DEFAULT_PAGE_LIMIT = 50;

type Scalar = string | number | boolean | undefined | null;
/** A multi-valued field (a target's tags) matches when any of its values does, as hawkBit's joins do. */
type Value = Scalar | string[];

/**
 * Maps a lower-cased selector to the value it reads. A resolver registered for `attribute` also serves
 * `attribute.<sub>`, receiving `sub` verbatim (attribute keys keep their case). A resolver made with `field()`
 * carries what hawkBit's QueryField enum declares (sub-attributes, map, value type) and is checked as
 * hawkBit 1.1.0 RsqlParser.resolveKey and SpecificationBuilder.convertValueIfNecessary check it.
 */
export type Resolver<T> = ((entity: T, sub?: string) => Value) & FieldInfo;
export type FieldMap<T> = Record<string, Resolver<T>>;

export interface FieldInfo {
  /** Lower-cased sub-attributes (QueryField.getSubEntityAttributes); one of them is required unless there is only one. */
  subs?: readonly string[];
  /** A map field (attribute, metadata): the part after the dot is a key, and a key is required. */
  map?: boolean;
  /** An enum field: values outside these (lower-cased) are a 400, as SpecificationBuilder.toEnumValue. */
  values?: readonly string[];
  /** A boolean field: only `true` and `false` are accepted. */
  boolean?: boolean;
  /** The sub-attribute a bare name stands for when there are several (QueryField.getDefaultSubEntityAttribute). */
  defaultSub?: string;
  /** Declared strictly (by field()): unknown sub-attributes are refused rather than passed through. */
  strict?: boolean;
}

/** A resolver with hawkBit's QueryField declaration attached. */
export function field<T>(read: (entity: T, sub?: string) => Value, info: FieldInfo = {}): Resolver<T> {
  return Object.assign(read, info, { strict: true });
}

interface Resolved<T> {
  read: (e: T) => Value;
  info: FieldInfo;
  key: string;
}

function resolveField<T>(fields: FieldMap<T>, selector: string, onUnknown: (f: string) => Error): Resolved<T> {
  const lower = selector.toLowerCase();
  const dot = selector.indexOf(".");
  const name = dot > 0 ? lower.slice(0, dot) : lower;
  const resolver = Object.prototype.hasOwnProperty.call(fields, name) ? fields[name] : undefined;
  if (!resolver) {
    // Legacy lax maps may register a dotted name directly.
    const direct = Object.prototype.hasOwnProperty.call(fields, lower) ? fields[lower] : undefined;
    if (direct) return { read: (e) => direct(e), info: direct, key: selector };
    throw onUnknown(selector);
  }
  if (!resolver.strict) {
    if (dot < 0) return { read: (e) => resolver(e), info: resolver, key: selector };
    const sub = selector.slice(dot + 1);
    return { read: (e) => resolver(e, sub), info: resolver, key: selector };
  }
  // hawkBit 1.1.0 RsqlParser.resolveKey: a field with sub-attributes needs one (unless it has exactly one, the
  // default); a map needs a key; a simple field takes none.
  const subs = resolver.subs ?? [];
  if (dot < 0) {
    if (resolver.map) throw onUnknown(selector);
    if (subs.length === 0) return { read: (e) => resolver(e), info: resolver, key: selector };
    const fallback = resolver.defaultSub ?? (subs.length === 1 ? subs[0] : undefined);
    if (fallback !== undefined) return { read: (e) => resolver(e, fallback), info: resolver, key: selector };
    throw onUnknown(selector);
  }
  const sub = selector.slice(dot + 1);
  if (resolver.map) return { read: (e) => resolver(e, sub), info: resolver, key: selector };
  if (!subs.includes(sub.toLowerCase())) throw onUnknown(selector);
  return { read: (e) => resolver(e, sub.toLowerCase()), info: resolver, key: selector };
}

function wildcardRegex(pattern: string): RegExp {
  const escaped = pattern.toLowerCase().replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`, "s");
}

/**
 * Whether a value equals any of `expected` (hawkBit's ==, =in=): compiled once per query rather than once per
 * entity, since listings filter thousands of them. A pattern without `*` is a case-insensitive string equality,
 * which is what its anchored regex would test; null matches a missing value or an empty multi-value.
 */
function equalsAny(expected: string[]): (actual: Value) => boolean {
  const matchesNull = expected.some((v) => v.toLowerCase() === "null");
  const numbers = new Set(expected.map(Number).filter((n) => !Number.isNaN(n)));
  const literals = new Set(expected.filter((v) => !v.includes("*")).map((v) => v.toLowerCase()));
  const patterns = expected.filter((v) => v.includes("*")).map(wildcardRegex);
  const scalar = (actual: Scalar): boolean => {
    if (actual === undefined || actual === null) return matchesNull;
    if (typeof actual === "number") return numbers.has(actual);
    const text = String(actual).toLowerCase();
    return literals.has(text) || patterns.some((p) => p.test(text));
  };
  return (actual) => (Array.isArray(actual) ? (actual.length === 0 ? matchesNull : actual.some(scalar)) : scalar(actual));
}

/** Orders a value against `bound` (hawkBit's <, <=, >, >=): numbers numerically, anything else as lower-cased text. */
function comparedTo(bound: string): (actual: Value) => number {
  const number = Number(bound);
  const text = bound.toLowerCase();
  const compare = (actual: Scalar): number => {
    if (typeof actual === "number") return actual - number;
    return String(actual ?? "").toLowerCase().localeCompare(text);
  };
  return (actual) => compare(Array.isArray(actual) ? actual[0] : actual);
}

function comparison<T>(node: ComparisonNode, fields: FieldMap<T>): (e: T) => boolean {
  const { read, info, key } = resolveField(fields, node.left.selector, rsqlField);
  const value = node.right.value;
  const values = Array.isArray(value) ? value : [value];
  const single = values[0] ?? "";
  // hawkBit 1.1.0 SpecificationBuilder.convertValueIfNecessary: enum values must name a constant (else
  // UNSUPPORTED_FIELD, 400), booleans must be exactly true/false (else INVALID_SYNTAX, 400), and neither
  // takes an ordering operator.
  const ordering = ["<", "=lt=", "<=", "=le=", ">", "=gt=", ">=", "=ge="].includes(node.operator);
  if (info.values) {
    for (const v of values) {
      if (v.toLowerCase() === "null") continue;
      if (!info.values.includes(v.toLowerCase())) throw rsqlValue(`Value of ${key} must be one of the following: [${info.values.join(", ")}]`);
    }
    if (ordering) throw rsqlSyntax(`${node.operator} operator could not be applied to enum or boolean field`);
  }
  if (info.boolean) {
    if (!values.every((v) => v === "true" || v === "false")) {
      throw rsqlSyntax(`The value of ${key.toUpperCase()} is not well formed. Only a boolean (true or false) value will be expected`);
    }
    if (ordering) throw rsqlSyntax(`${node.operator} operator could not be applied to enum or boolean field`);
  }
  if (values.length > 1 && node.operator !== "=in=" && node.operator !== "=out=") throw rsqlSyntax(`${node.operator} operator shall have exactly one value`);
  switch (node.operator) {
    case "==": { const eq = equalsAny([single]); return (e) => eq(read(e)); }
    case "!=": { const eq = equalsAny([single]); return (e) => !eq(read(e)); }
    case "=in=": { const eq = equalsAny(values); return (e) => eq(read(e)); }
    case "=out=": { const eq = equalsAny(values); return (e) => !eq(read(e)); }
    case "<": case "=lt=": { const cmp = comparedTo(single); return (e) => cmp(read(e)) < 0; }
    case "<=": case "=le=": { const cmp = comparedTo(single); return (e) => cmp(read(e)) <= 0; }
    case ">": case "=gt=": { const cmp = comparedTo(single); return (e) => cmp(read(e)) > 0; }
    case ">=": case "=ge=": { const cmp = comparedTo(single); return (e) => cmp(read(e)) >= 0; }
    default: throw rsqlSyntax(`Unsupported RSQL operator ${node.operator}`);
  }
}

function compile<T>(node: ExpressionNode, fields: FieldMap<T>): (e: T) => boolean {
  if (node.type === "COMPARISON") return comparison(node, fields);
  const left = compile(node.left, fields);
  const right = compile(node.right, fields);
  return node.operator === ";" || node.operator === "and" ? (e) => left(e) && right(e) : (e) => left(e) || right(e);
}

export function rsqlFilter<T>(q: string | undefined, fields: FieldMap<T>): (e: T) => boolean {
  if (q === undefined || q.trim() === "") return () => true;
  let ast: ExpressionNode;
  try {
    ast = parse(q);
  } catch (err) {
    throw rsqlSyntax(`RSQL syntax error: ${(err as Error).message}`);
  }
  return compile(ast, fields);
}

interface SortKey<T> {
  read: (e: T) => Value;
  sign: number;
}

/**
 * hawkBit 1.1.0 SortUtility.parse: `field:direction` tuples separated by commas; a tuple without exactly two parts is
 * a syntax error, the field must name a QueryField constant (no sub-attributes), the direction ASC or DESC (any case).
 * Without a sort parameter each listing has its own default (PagingUtility.sanitize*SortParam).
 */
function sortKeys<T>(sort: string | undefined, fields: FieldMap<T>, defaultSort: string): SortKey<T>[] {
  return (sort ?? defaultSort).split(",").filter((s) => s.trim() !== "").map((part) => {
    const tokens = part.trim().split(":").filter((t) => t !== "");
    if (tokens.length !== 2) throw sortSyntax("The given sort parameter is not well formed");
    const [field, direction] = tokens.map((t) => t.trim()) as [string, string];
    if (field.includes(".") || !Object.prototype.hasOwnProperty.call(fields, field.toLowerCase())) throw sortField(field);
    const dir = direction.toUpperCase();
    if (dir !== "ASC" && dir !== "DESC") throw sortDirection(direction);
    const resolver = fields[field.toLowerCase()]!;
    const subs = resolver.subs ?? [];
    const read = resolver.strict && subs.length > 0 ? (e: T) => resolver(e, subs[0]) : (e: T) => resolver(e);
    return { read, sign: dir === "ASC" ? 1 : -1 };
  });
}

function compareValues(va: Value, vb: Value): number {
  return typeof va === "number" && typeof vb === "number" ? va - vb : String(va ?? "").localeCompare(String(vb ?? ""));
}

/**
 * Sorts (stably, as Array.prototype.sort) by the keys, reading each entity's sort values once instead of in every
 * comparison: a listing sorts thousands of entities, some of whose values are looked up (a target's name).
 */
function sortBy<T>(items: T[], keys: SortKey<T>[]): T[] {
  // Nothing to compare: no value is read, as a plain sort would not call its comparator either.
  if (items.length < 2 || keys.length === 0) return items;
  const rows = items.map((entity) => ({ entity, values: keys.map((k) => k.read(entity)) }));
  rows.sort((a, b) => {
    for (let i = 0; i < keys.length; i++) {
      const c = compareValues(a.values[i], b.values[i]);
      if (c !== 0) return c * keys[i]!.sign;
    }
    return 0;
  });
  return rows.map((r) => r.entity);
}

export interface PageParams {
  q?: string;
  sort?: string;
  offset?: string | number;
  limit?: string | number;
}

export interface PageOptions {
  /** The listing's sort when the request has none (hawkBit: `id:ASC` for most, `id:DESC` for actions and statuses). */
  defaultSort?: string;
}

export interface Page<T> {
  content: T[];
  total: number;
}

function intParam(value: string | number | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  return Number.isFinite(n) ? Math.trunc(n) : fallback;
}

export function page<T>(items: readonly T[], params: PageParams, fields: FieldMap<T>, options: PageOptions = {}): Page<T> {
  const offset = Math.max(0, intParam(params.offset, 0));
  const requested = intParam(params.limit, DEFAULT_PAGE_LIMIT);
  // hawkBit 1.1.0 PagingUtility.sanitizePageLimitParam: below 1 is the default, not 1.
  const limit = requested < 1 ? DEFAULT_PAGE_LIMIT : Math.min(MAX_PAGE_LIMIT, requested);
  const filtered = items.filter(rsqlFilter(params.q, fields));
  const matching = sortBy(filtered, sortKeys(params.sort, fields, options.defaultSort ?? "id:ASC"));
  return { content: matching.slice(offset, offset + limit), total: matching.length };
}

/** hawkBit's paged list body. */
export function pagedBody<T, R>(p: Page<T>, map: (e: T) => R): { content: R[]; total: number; size: number } {
  const content = p.content.map(map);
  return { content, total: p.total, size: content.length };
}
