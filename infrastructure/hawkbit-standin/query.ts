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

function compare(a: Value, b: string): number {
  if (Array.isArray(a)) return compare(a[0], b);
  if (typeof a === "number") return a - Number(b);
  return String(a ?? "").toLowerCase().localeCompare(b.toLowerCase());
}

function equals(actual: Value, expected: string): boolean {
  if (Array.isArray(actual)) return actual.length === 0 ? expected.toLowerCase() === "null" : actual.some((v) => equals(v, expected));
  if (actual === undefined || actual === null) return expected.toLowerCase() === "null";
  if (typeof actual === "number") return actual === Number(expected);
  return wildcardRegex(expected).test(String(actual).toLowerCase());
}

function comparison<T>(node: ComparisonNode, fields: FieldMap<T>): (e: T) => boolean {
  const read = resolve(fields, node.left.selector, rsqlField);
  const value = node.right.value;
  const values = Array.isArray(value) ? value : [value];
  const single = values[0] ?? "";
  switch (node.operator) {
    case "==": return (e) => equals(read(e), single);
    case "!=": return (e) => !equals(read(e), single);
    case "=in=": return (e) => values.some((v) => equals(read(e), v));
    case "=out=": return (e) => !values.some((v) => equals(read(e), v));
    case "<": case "=lt=": return (e) => compare(read(e), single) < 0;
    case "<=": case "=le=": return (e) => compare(read(e), single) <= 0;
    case ">": case "=gt=": return (e) => compare(read(e), single) > 0;
    case ">=": case "=ge=": return (e) => compare(read(e), single) >= 0;
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

function sorter<T>(sort: string | undefined, fields: FieldMap<T>): (a: T, b: T) => number {
  const keys = (sort ?? "id:ASC").split(",").filter((s) => s.trim() !== "").map((part) => {
    const [field, direction = "ASC", ...rest] = part.trim().split(":");
    if (!field || rest.length > 0) throw sortSyntax(`The given sort parameter ${sort} is not well formed`);
    const dir = direction.toUpperCase();
    if (dir !== "ASC" && dir !== "DESC") throw sortSyntax(`Sort direction ${direction} does not exist`);
    return { read: resolve(fields, field, sortField), sign: dir === "ASC" ? 1 : -1 };
  });
  return (a, b) => {
    for (const { read, sign } of keys) {
      const va = read(a);
      const vb = read(b);
      const c = typeof va === "number" && typeof vb === "number" ? va - vb : String(va ?? "").localeCompare(String(vb ?? ""));
      if (c !== 0) return c * sign;
    }
    return 0;
  };
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

export function page<T>(items: T[], params: PageParams, fields: FieldMap<T>): Page<T> {
  const offset = Math.max(0, intParam(params.offset, 0));
  const limit = Math.min(MAX_PAGE_LIMIT, Math.max(1, intParam(params.limit, DEFAULT_PAGE_LIMIT)));
  const matching = items.filter(rsqlFilter(params.q, fields)).sort(sorter(params.sort, fields));
  return { content: matching.slice(offset, offset + limit), total: matching.length };
}

/** hawkBit's paged list body. */
export function pagedBody<T, R>(p: Page<T>, map: (e: T) => R): { content: R[]; total: number; size: number } {
  const content = p.content.map(map);
  return { content, total: p.total, size: content.length };
}
