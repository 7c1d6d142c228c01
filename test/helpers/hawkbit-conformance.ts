// Runs the hawkBit stand-in in conformance mode: every request it receives (i.e. everything Aerie's clients
// send) and every JSON response it returns is validated against hawkBit's official OpenAPI documents.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { HawkbitError } from "../../hawkbit/errors.js";
import { type HawkbitStandin, type SpecViolation, startHawkbitStandin } from "../../infrastructure/hawkbit-standin/index.js";
import { overlayHawkbitSpec } from "../../infrastructure/hawkbit-standin/openapi-overlay.js";
import { freePort, tempDir } from "./env.js";

const SPEC_DIR = new URL("../../../shared/hawkbit/", import.meta.url);

type Json = Record<string, unknown>;

/** The published document patched to hawkBit 1.1.0 (see infrastructure/hawkbit-standin/openapi-overlay.ts for each patch's source). */
function loadSpec(file: string): Json {
  return overlayHawkbitSpec(JSON.parse(readFileSync(new URL(file, SPEC_DIR), "utf8")) as Json);
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

/**
 * The tenant configuration test stand-ins start with: gateway-token authentication on with the test key, as an operator
 * would set it (hawkBit's default is off; Aerie does not enable it itself yet). Pass `tenantConfig: {}` for a
 * stand-in with hawkBit's defaults.
 */
export const TEST_TENANT_CONFIG = {
  "authentication.gatewaytoken.enabled": true,
  "authentication.gatewaytoken.key": CREDENTIALS.gatewayToken,
  // Tests poll fast; a real server's hawkbit.controller.pollingTime property sets this global default.
};

export async function startConformantStandin(opts: {
  dataDir?: string; schedulerIntervalMs?: number; validate?: boolean; tenantConfig?: Record<string, unknown>;
} = {}): Promise<ConformantStandin> {
  const tmp = opts.dataDir ? undefined : await tempDir("aerie-hawkbit-");
  const dataDir = opts.dataDir ?? tmp!.path;
  const violations: SpecViolation[] = [];
  const { gatewayToken: _gatewayToken, ...credentials } = CREDENTIALS;
  const standin = await startHawkbitStandin({
    ...credentials,
    tenantConfig: opts.tenantConfig ?? TEST_TENANT_CONFIG,
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
