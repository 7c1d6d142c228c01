// Which action listings hawkBit 1.1.0 refuses, for a proxy that answers them 400 the way hawkBit does
// (written from the 1.1.0 source, not copied): whatever Aerie's stand-in happens to accept, Aerie must only
// send what the real server takes.
//  - RsqlParser.resolveKey: a field is the upper-cased name of an ActionFields constant (ID, ACTIVE, STATUS,
//    LASTSTATUSCODE, CREATEDAT, CREATEDBY, LASTMODIFIEDAT, LASTMODIFIEDBY, WEIGHT, TARGET, DISTRIBUTIONSET,
//    ROLLOUT, ROLLOUTGROUP, EXTERNALREF); a sub-attribute only on those with sub-entity attributes.
//  - SpecificationBuilder.toEnumValue: a value of an enum field (`status`: Action.Status) must name a constant.
//  - SortUtility.parse: sort fields resolve against the same enum, directions ASC/DESC.
import { parse } from "@rsql/parser";
import type { ExpressionNode } from "@rsql/ast";

const ACTION_FIELDS: Record<string, string[]> = {
  ID: [], ACTIVE: [], STATUS: [], LASTSTATUSCODE: [], CREATEDAT: [], CREATEDBY: [], LASTMODIFIEDAT: [],
  LASTMODIFIEDBY: [], WEIGHT: [], EXTERNALREF: [],
  TARGET: ["controllerid", "name", "updatestatus", "address"],
  DISTRIBUTIONSET: ["id", "name", "version", "type"],
  ROLLOUT: ["id", "name"],
  ROLLOUTGROUP: ["id", "name"],
};

/** Action.Status (hawkbit-repository-api, model/Action.java). */
const ACTION_STATUSES = new Set([
  "FINISHED", "ERROR", "WARNING", "RUNNING", "CANCELED", "CANCELING", "RETRIEVED", "DOWNLOAD", "SCHEDULED",
  "CANCEL_REJECTED", "DOWNLOADED", "WAIT_FOR_CONFIRMATION",
]);

function fieldProblem(selector: string): string | undefined {
  const dot = selector.indexOf(".");
  const name = (dot === -1 ? selector : selector.slice(0, dot)).toUpperCase();
  const subs = ACTION_FIELDS[name];
  if (!subs) return `unsupported field ${selector}`;
  if (dot === -1) return subs.length > 1 ? `field ${selector} requires one of the sub-attributes ${subs.join(", ")}` : undefined;
  if (subs.length === 0) return `sub-attributes not supported for simple field ${name}`;
  return subs.includes(selector.slice(dot + 1).toLowerCase()) ? undefined : `unsupported sub-attribute in ${selector}`;
}

function walk(node: ExpressionNode): string | undefined {
  if (node.type === "LOGIC") return walk(node.left) ?? walk(node.right);
  const selector = node.left.selector;
  const problem = fieldProblem(selector);
  if (problem) return problem;
  if (selector.toUpperCase() === "STATUS") {
    const values = Array.isArray(node.right.value) ? node.right.value : [node.right.value];
    const bad = values.find((v) => !ACTION_STATUSES.has(v.toUpperCase()));
    if (bad !== undefined) return `value of status must be one of ${[...ACTION_STATUSES].map((s) => s.toLowerCase()).join(", ")} (got ${bad})`;
  }
  if (selector.toUpperCase() === "ACTIVE") {
    const values = Array.isArray(node.right.value) ? node.right.value : [node.right.value];
    if (values.some((v) => !["true", "false"].includes(v.toLowerCase()))) return "value of active must be true or false";
  }
  return undefined;
}

/** Why hawkBit 1.1.0 would answer this request 400, or undefined if it would take it. Only action listings are judged. */
export function refusedByHawkbit11(method: string, rawUrl: string): string | undefined {
  if (method !== "GET") return undefined;
  const url = new URL(rawUrl, "http://x");
  if (!/^\/rest\/v1\/(actions|targets\/[^/]+\/actions)\/?$/.test(url.pathname)) return undefined;
  const q = url.searchParams.get("q");
  if (q) {
    let ast: ExpressionNode;
    try {
      ast = parse(q);
    } catch (error) {
      return `invalid RSQL syntax: ${(error as Error).message}`;
    }
    const problem = walk(ast);
    if (problem) return problem;
  }
  const sort = url.searchParams.get("sort");
  if (sort) {
    for (const part of sort.split(",")) {
      const [field = "", direction = "", ...rest] = part.trim().split(":");
      if (rest.length > 0 || !["ASC", "DESC"].includes(direction.toUpperCase())) return `malformed sort ${sort}`;
      if (!ACTION_FIELDS[field.toUpperCase()]) return `unsupported sort field ${field}`;
    }
  }
  return undefined;
}
