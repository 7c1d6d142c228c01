// The stand-in's listing and lookups at fleet scale must answer exactly as the plain versions they replaced:
// compiled RSQL matchers and sorting on pre-read values against a straight filter-and-sort, and the indexes
// against `find`/`filter` over the state's arrays while those grow and get replaced.
import { parse } from "@rsql/parser";
import type { ComparisonNode, ExpressionNode } from "@rsql/ast";
import { expect } from "chai";
import { ArrayIndex } from "../../infrastructure/hawkbit-standin/indexes.js";
import { type FieldMap, page } from "../../infrastructure/hawkbit-standin/query.js";

type Value = string | number | boolean | undefined | null | string[];

/** The listing as it was before it was made fast: a regex per comparison, values read in every sort comparison. */
function referencePage<T>(items: T[], q: string | undefined, sort: string | undefined, offset: number, limit: number, fields: FieldMap<T>) {
  const read = (selector: string) => {
    const lower = selector.toLowerCase();
    const dot = selector.indexOf(".");
    const direct = fields[lower];
    if (direct) return (e: T) => direct(e);
    const prefix = fields[lower.slice(0, dot)]!;
    return (e: T) => prefix(e, selector.slice(dot + 1));
  };
  const wildcard = (p: string) => new RegExp(`^${p.toLowerCase().replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "s");
  const compare = (a: Value, b: string): number => {
    if (Array.isArray(a)) return compare(a[0], b);
    if (typeof a === "number") return a - Number(b);
    return String(a ?? "").toLowerCase().localeCompare(b.toLowerCase());
  };
  const equals = (a: Value, b: string): boolean => {
    if (Array.isArray(a)) return a.length === 0 ? b.toLowerCase() === "null" : a.some((v) => equals(v, b));
    if (a === undefined || a === null) return b.toLowerCase() === "null";
    if (typeof a === "number") return a === Number(b);
    return wildcard(b).test(String(a).toLowerCase());
  };
  const compile = (node: ExpressionNode): ((e: T) => boolean) => {
    if (node.type !== "COMPARISON") {
      const [l, r] = [compile(node.left), compile(node.right)];
      return node.operator === ";" || node.operator === "and" ? (e) => l(e) && r(e) : (e) => l(e) || r(e);
    }
    const c = node as ComparisonNode;
    const get = read(c.left.selector);
    const values = Array.isArray(c.right.value) ? c.right.value : [c.right.value];
    const single = values[0] ?? "";
    switch (c.operator) {
      case "==": return (e) => equals(get(e), single);
      case "!=": return (e) => !equals(get(e), single);
      case "=in=": return (e) => values.some((v) => equals(get(e), v));
      case "=out=": return (e) => !values.some((v) => equals(get(e), v));
      case "<": case "=lt=": return (e) => compare(get(e), single) < 0;
      case "<=": case "=le=": return (e) => compare(get(e), single) <= 0;
      case ">": case "=gt=": return (e) => compare(get(e), single) > 0;
      default: return (e) => compare(get(e), single) >= 0;
    }
  };
  const filter = q ? compile(parse(q)) : () => true;
  const keys = (sort ?? "id:ASC").split(",").filter((s) => s.trim() !== "").map((part) => {
    const [field, dir = "ASC"] = part.trim().split(":");
    return { get: read(field!), sign: dir.toUpperCase() === "ASC" ? 1 : -1 };
  });
  const matching = items.filter(filter).sort((a, b) => {
    for (const { get, sign } of keys) {
      const [va, vb] = [get(a), get(b)];
      const c = typeof va === "number" && typeof vb === "number" ? va - vb : String(va ?? "").localeCompare(String(vb ?? ""));
      if (c !== 0) return c * sign;
    }
    return 0;
  });
  return { content: matching.slice(offset, offset + limit), total: matching.length };
}

interface Row {
  id: number;
  name: string;
  active: boolean;
  status: string;
  modifiedAt: number;
  code?: number;
  tags: string[];
  attributes: Record<string, string>;
}

const fields: FieldMap<Row> = {
  id: (r) => r.id, name: (r) => r.name, status: (r) => (r.active ? "pending" : "finished"), detailstatus: (r) => r.status,
  lastmodifiedat: (r) => r.modifiedAt, laststatuscode: (r) => r.code, active: (r) => String(r.active), tag: (r) => r.tags,
  attribute: (r, sub) => (sub === undefined ? undefined : r.attributes[sub]),
};

/** Deterministic rows with repeated sort values (to exercise stability), missing values, odd names and tags. */
function rows(n: number): Row[] {
  const noAttributes: Record<string, string> = {};
  let seed = 7;
  const next = () => (seed = (seed * 48271) % 2147483647);
  const names = ["Node-1", "node-10", "node.2", "NODE_3", "gw (a)", "gw [b]", "Ünïcode", "null", "", "a*b"];
  const statuses = ["running", "finished", "error", "canceled", "scheduled", "retrieved"];
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    name: `${names[next() % names.length]}${next() % 3 === 0 ? "" : `-${next() % 50}`}`,
    active: next() % 3 !== 0,
    status: statuses[next() % statuses.length]!,
    modifiedAt: 1_700_000_000_000 + (next() % 40) * 1000,
    code: next() % 4 === 0 ? undefined : [200, 404, 500][next() % 3],
    tags: [[], ["canary"], ["canary", "Lab"], ["field"]][next() % 4]!,
    attributes: next() % 5 === 0 ? noAttributes : { hw: ["rev-a", "REV-B", "rev.c"][next() % 3]! },
  }));
}

describe("hawkBit stand-in: listings answer as the plain filter-and-sort", () => {
  const data = rows(3000);
  const queries = [
    undefined, "", "status==pending", "status==PENDING", "status!=pending", "lastModifiedAt=ge=1700000020000",
    "lastModifiedAt=gt=1700000020000;status==pending", "lastModifiedAt=lt=1700000005000,detailStatus==error",
    "name==node*", "name==*-1", "name==NULL", "name==a*b*", "name==\"gw (a)*\"", "name==node.2*", "name=in=(node-10,NODE_3-4,ünïcode)",
    "name=out=(null,\"\")", "detailStatus=in=(running,retrieved);active==true", "detailStatus=out=(error,canceled)",
    "lastStatusCode==null", "lastStatusCode==404", "lastStatusCode=in=(200,500,x)", "lastStatusCode!=404", "lastStatusCode=ge=404",
    "lastStatusCode=lt=abc", "tag==canary", "tag==lab", "tag==null", "tag!=canary", "tag=in=(field,lab)", "tag=out=(canary)",
    "tag=gt=d", "attribute.hw==rev-b", "attribute.hw==rev*", "attribute.hw==null", "attribute.hw=le=rev-a", "id=le=10", "id=in=(1,02,3.0,abc)",
    "name=gt=node", "name=le=NODE", "id==1*",
  ];
  const sorts = [undefined, "id:ASC", "id:DESC", "lastModifiedAt:ASC", "lastModifiedAt:DESC,id:ASC", "name:ASC", "name:DESC,lastModifiedAt:ASC",
    // No `attribute.hw:DESC`: hawkBit 1.1.0 SortUtility.parse sorts by QueryField constants only, so a sub-attribute is a 400.
    "lastStatusCode:ASC", "tag:ASC", "detailStatus:ASC,name:DESC,id:DESC"];

  it("gives the same page and total for every filter, sort and window", () => {
    const totals = new Set<number>();
    for (const q of queries) {
      for (const sort of sorts) {
        const expected = referencePage(data, q, sort, 0, data.length, fields);
        totals.add(expected.total);
        for (const [offset, limit] of [[0, 500], [500, 500], [2900, 500], [17, 3]] as const) {
          const actual = page(data, { q, sort, offset, limit }, fields);
          expect(actual.total, `q=${q} sort=${sort}`).to.equal(expected.total);
          const ids = expected.content.slice(offset, offset + limit).map((r) => r.id);
          expect(actual.content.map((r) => r.id), `q=${q} sort=${sort} offset=${offset}`).to.deep.equal(ids);
        }
      }
    }
    // The filters select very different parts of the data, not all or nothing.
    expect(totals.size).to.be.greaterThan(25);
  });
});

describe("hawkBit stand-in: indexes over the state's arrays", () => {
  interface Item { id: number; owner?: string }
  const state: { items: Item[] } = { items: [] };
  const byOwner = new ArrayIndex(() => state.items, (i) => i.owner);
  const byId = new ArrayIndex(() => state.items, (i) => i.id);
  const expectConsistent = () => {
    for (const owner of ["a", "b", "c", "nobody"]) expect(byOwner.all(owner)).to.deep.equal(state.items.filter((i) => i.owner === owner));
    for (let id = 0; id <= 12; id++) expect(byId.first(id)).to.equal(state.items.find((i) => i.id === id));
  };

  it("follows pushes, replaced arrays and emptied state, and skips entities without a key", () => {
    expectConsistent();
    state.items.push({ id: 1, owner: "a" }, { id: 2, owner: "b" }, { id: 3 });
    expectConsistent();
    state.items.push({ id: 4, owner: "a" });
    expectConsistent();
    state.items = state.items.filter((i) => i.id !== 1);
    expectConsistent();
    state.items.push({ id: 5, owner: "c" }, { id: 6, owner: "a" });
    expectConsistent();
    state.items = [];
    expectConsistent();
    state.items = [{ id: 7, owner: "b" }, { id: 7, owner: "c" }];
    expectConsistent();
  });
});
