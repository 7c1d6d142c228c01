// `q` (RSQL/FIQL), `sort`, `offset`, `limit` as hawkBit's Management API interprets them:
// field names are case-insensitive, string comparison is case-insensitive, `*` is a wildcard in ==/!=,
// limit is clamped to 1..500 and offset to >= 0.
import { parse } from "@rsql/parser";
import type { ComparisonNode, ExpressionNode } from "@rsql/ast";
import { rsqlField, rsqlSyntax, sortField, sortSyntax } from "./errors.js";

export const MAX_PAGE_LIMIT = 500;
export const DEFAULT_PAGE_LIMIT = 50;

type Scalar = string | number | boolean | undefined | null;
/** A multi-valued field (a target's tags) matches when any of its values does, as hawkBit's joins do. */
type Value = Scalar | string[];

/**
 * Maps a lower-cased selector to the value it reads. A resolver registered for `attribute` also serves
 * `attribute.<sub>`, receiving `sub` verbatim (attribute keys keep their case).
 */
export type FieldMap<T> = Record<string, (entity: T, sub?: string) => Value>;

function resolve<T>(fields: FieldMap<T>, selector: string, onUnknown: (f: string) => Error): (e: T) => Value {
  const lower = selector.toLowerCase();
  const direct = fields[lower];
  if (direct) return (e) => direct(e);
  const dot = selector.indexOf(".");
  if (dot > 0) {
    const prefix = fields[lower.slice(0, dot)];
    const sub = selector.slice(dot + 1);
    if (prefix) return (e) => prefix(e, sub);
  }
  throw onUnknown(selector);
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
  const read = resolve(fields, node.left.selector, rsqlField);
  const value = node.right.value;
  const values = Array.isArray(value) ? value : [value];
  const single = values[0] ?? "";
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

function sortKeys<T>(sort: string | undefined, fields: FieldMap<T>): SortKey<T>[] {
  return (sort ?? "id:ASC").split(",").filter((s) => s.trim() !== "").map((part) => {
    const [field, direction = "ASC", ...rest] = part.trim().split(":");
    if (!field || rest.length > 0) throw sortSyntax(`The given sort parameter ${sort} is not well formed`);
    const dir = direction.toUpperCase();
    if (dir !== "ASC" && dir !== "DESC") throw sortSyntax(`Sort direction ${direction} does not exist`);
    return { read: resolve(fields, field, sortField), sign: dir === "ASC" ? 1 : -1 };
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

export interface Page<T> {
  content: T[];
  total: number;
}

function intParam(value: string | number | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  return Number.isFinite(n) ? Math.trunc(n) : fallback;
}

export function page<T>(items: readonly T[], params: PageParams, fields: FieldMap<T>): Page<T> {
  const offset = Math.max(0, intParam(params.offset, 0));
  const limit = Math.min(MAX_PAGE_LIMIT, Math.max(1, intParam(params.limit, DEFAULT_PAGE_LIMIT)));
  const filtered = items.filter(rsqlFilter(params.q, fields));
  const matching = sortBy(filtered, sortKeys(params.sort, fields));
  return { content: matching.slice(offset, offset + limit), total: matching.length };
}

/** hawkBit's paged list body. */
export function pagedBody<T, R>(p: Page<T>, map: (e: T) => R): { content: R[]; total: number; size: number } {
  const content = p.content.map(map);
  return { content, total: p.total, size: content.length };
}
