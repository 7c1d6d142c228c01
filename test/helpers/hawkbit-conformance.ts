// Runs the hawkBit stand-in in conformance mode: every request it receives (i.e. everything Aerie's clients
// send) and every JSON response it returns is validated against hawkBit's official OpenAPI documents.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { HawkbitError } from "../../hawkbit/errors.js";
import { type HawkbitStandin, type SpecViolation, startHawkbitStandin } from "../../infrastructure/hawkbit-standin/index.js";
import { freePort, tempDir } from "./env.js";

const SPEC_DIR = new URL("../../../shared/hawkbit/", import.meta.url);

type Json = Record<string, unknown>;

/**
 * Where the published documents lag or mis-render hawkBit's own code, each patched narrowly:
 * - DDI `DdiPolling.sleep` carries the literal pattern "HH:MM:SS"; hawkBit means hh:mm:ss.
 * - `MgmtRolloutSuccessAction.action` lists only NEXTGROUP, while hawkBit's MgmtRolloutSuccessAction.SuccessAction
 *   (hawkbit-mgmt-api, and docs/rollout-management.md "Pause success action") also has PAUSE.
 * - `MgmtSystemTenantConfigurationValue(Request).value` is Java's Object rendered as `type: object`; hawkBit takes and
 *   returns booleans, numbers and strings there (its own example value is `true`).
 * - The target tag endpoints declare their 4xx answers (401…429, e.g. the 409 of a duplicate name) with the success
 *   body's schema (an array of MgmtTag); hawkBit answers every error with an ExceptionInfo, so those become open.
 */
function patchKnownQuirks(spec: Json): Json {
  const schemas = (spec.components as Json | undefined)?.schemas as Json | undefined;
  const propertiesOf = (name: string) => (schemas?.[name] as Json | undefined)?.properties as Json | undefined;
  const sleep = propertiesOf("DdiPolling")?.sleep as Json | undefined;
  if (sleep?.pattern === "HH:MM:SS") sleep.pattern = "^\\d{2}:\\d{2}:\\d{2}$";
  const successAction = propertiesOf("MgmtRolloutSuccessAction")?.action as Json | undefined;
  if (Array.isArray(successAction?.enum) && !successAction.enum.includes("PAUSE")) successAction.enum = [...successAction.enum, "PAUSE"];
  for (const [path, item] of Object.entries((spec.paths ?? {}) as Record<string, Record<string, Json>>)) {
    if (!path.startsWith("/rest/v1/targettags")) continue;
    for (const operation of Object.values(item)) {
      for (const [status, response] of Object.entries((operation.responses ?? {}) as Record<string, Json>)) {
        const schema = JSON.stringify(response.content ?? {});
        if (/^4\d\d$/.test(status) && !schema.includes("ExceptionInfo") && schema.includes("MgmtTag")) response.content = { "application/json": {} };
      }
    }
  }
  for (const name of ["MgmtSystemTenantConfigurationValue", "MgmtSystemTenantConfigurationValueRequest"]) {
    const value = propertiesOf(name)?.value as Json | undefined;
    if (value?.type === "object") delete value.type;
  }
  return spec;
}

function loadSpec(file: string): Json {
  return patchKnownQuirks(JSON.parse(readFileSync(new URL(file, SPEC_DIR), "utf8")) as Json);
}

export const CREDENTIALS = { username: "aerie", password: "s3cret", gatewayToken: "gw-token-123", tenant: "DEFAULT" };

export interface ConformantStandin extends HawkbitStandin {
  violations: SpecViolation[];
  dataDir: string;
  /** Fails the test if any request or response broke the OpenAPI contract. */
  assertConformant(): void;
  /** Stops the server and removes its data directory. */
  dispose(): Promise<void>;
}

export async function startConformantStandin(opts: { dataDir?: string; schedulerIntervalMs?: number; validate?: boolean } = {}): Promise<ConformantStandin> {
  const tmp = opts.dataDir ? undefined : await tempDir("aerie-hawkbit-");
  const dataDir = opts.dataDir ?? tmp!.path;
  const violations: SpecViolation[] = [];
  const standin = await startHawkbitStandin({
    ...CREDENTIALS,
    dataDir,
    port: await freePort(),
    schedulerIntervalMs: opts.schedulerIntervalMs ?? 50,
    pollingSleep: "00:00:01",
    specValidation: opts.validate === false ? undefined : {
      specs: [loadSpec("mgmt-openapi.json"), loadSpec("ddi-openapi.json")],
      onViolation: (v) => violations.push(v),
    },
  });
  return {
    ...standin,
    violations,
    dataDir,
    assertConformant() {
      expect(violations, `OpenAPI violations:\n${violations.map((v) => `${v.direction} ${v.method} ${v.path}: ${v.message}`).join("\n")}`).to.deep.equal([]);
    },
    async dispose() {
      await standin.close();
      await tmp?.remove();
    },
  };
}

/** Polls `probe` until it returns a value satisfying `done`, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not reached within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The HawkbitError a call failed with; fails the test if it succeeded or failed otherwise. */
export async function rejectedByHawkbit(promise: Promise<unknown>): Promise<HawkbitError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(HawkbitError);
    return error as HawkbitError;
  }
  throw new Error("expected a hawkBit error");
}
