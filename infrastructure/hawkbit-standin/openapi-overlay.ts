// An overlay that brings hawkBit's published OpenAPI documents (../shared/hawkbit/*.json, regenerated before hawkBit
// 1.0) up to hawkBit 1.1.0 as its code behaves, so conformance tests validate against what 1.1.0 sends and accepts.
// Each patch names the 1.1.0 source it follows (eclipse-hawkbit/hawkbit at tag 1.1.0; paths relative to the repository).
// Patches are narrow and idempotent; `overlayHawkbitSpec` returns a patched deep copy and never touches its input.

type Json = Record<string, unknown>;

interface Patch {
  /** What changes and why, with the 1.1.0 source file(s) it follows. */
  source: string;
  apply(spec: Json): void;
}

const schemasOf = (spec: Json) => ((spec.components as Json | undefined)?.schemas ?? {}) as Record<string, Json>;
const propertiesOf = (spec: Json, name: string) => (schemasOf(spec)[name]?.properties ?? undefined) as Record<string, Json> | undefined;
const pathsOf = (spec: Json) => (spec.paths ?? {}) as Record<string, Record<string, Json>>;
const isMgmt = (spec: Json) => Object.keys(pathsOf(spec)).some((p) => p.startsWith("/rest/v1/"));

const EXCEPTION_INFO = { "application/json": { schema: { $ref: "#/components/schemas/ExceptionInfo" } } };
const noContent = (description: string) => ({ description });

/** hawkBit 1.1.0 Action.Status (hawkbit-repository-api .../repository/model/Action.java), lower-cased by MgmtTargetMapper. */
export const ACTION_STATUS_VALUES = [
  "finished", "error", "warning", "running", "canceled", "canceling", "retrieved", "download", "scheduled", "cancel_rejected",
  "downloaded", "wait_for_confirmation",
];

/**
 * Operations that answer 204 without a body in 1.1.0 (`ResponseEntity.noContent()` or `@ResponseStatus(NO_CONTENT)`),
 * where the published document says 200: hawkbit-mgmt/hawkbit-mgmt-resource/.../resource/Mgmt*Resource.java and
 * hawkbit-mgmt/hawkbit-mgmt-api/.../MgmtTenantManagementRestApi.java.
 */
const NO_CONTENT_OPERATIONS: [string, string][] = [
  ["put", "/rest/v1/system/configs"], ["put", "/rest/v1/system/configs/{keyName}"], ["delete", "/rest/v1/system/configs/{keyName}"],
  ["put", "/rest/v1/targets/{targetId}/metadata/{metadataKey}"], ["put", "/rest/v1/softwaremodules/{softwareModuleId}/metadata/{metadataKey}"],
  ["put", "/rest/v1/distributionsets/{distributionSetId}/metadata/{metadataKey}"],
  ["put", "/rest/v1/targets/{targetId}/actions/{actionId}/confirmation"],
];

/** GETs that answer 204 when there is nothing (MgmtTargetResource.getAssignedDistributionSet / getInstalledDistributionSet / getAttributes). */
const EMPTY_AS_NO_CONTENT: [string, string][] = [
  ["get", "/rest/v1/targets/{targetId}/assignedDS"], ["get", "/rest/v1/targets/{targetId}/installedDS"],
  ["get", "/rest/v1/targets/{targetId}/attributes"], ["get", "/rest/v1/targetfilters/{filterId}/autoAssignDS"],
];

/** createMetadata answers `ResponseEntity.status(CREATED).build()`: 201 without a body (MgmtTargetResource, MgmtSoftwareModuleResource, MgmtDistributionSetResource). */
const CREATED_WITHOUT_BODY: [string, string][] = [
  ["post", "/rest/v1/targets/{targetId}/metadata"], ["post", "/rest/v1/softwaremodules/{softwareModuleId}/metadata"],
  ["post", "/rest/v1/distributionsets/{distributionSetId}/metadata"],
];

const PATCHES: Patch[] = [
  {
    source: "DDI DdiPolling.sleep: the document carries the literal pattern \"HH:MM:SS\"; hawkbit-ddi/hawkbit-ddi-api/.../DdiPolling.java renders hh:mm:ss (e.g. 00:05:00)",
    apply(spec) {
      const sleep = propertiesOf(spec, "DdiPolling")?.sleep;
      if (sleep?.pattern === "HH:MM:SS") sleep.pattern = "^\\d{2}:\\d{2}:\\d{2}$";
    },
  },
  {
    source: "MgmtRolloutSuccessAction.action: PAUSE next to NEXTGROUP (hawkbit-mgmt/hawkbit-mgmt-api/.../rollout/MgmtRolloutSuccessAction.java, enum SuccessAction)",
    apply(spec) {
      const action = propertiesOf(spec, "MgmtRolloutSuccessAction")?.action;
      if (Array.isArray(action?.enum) && !action.enum.includes("PAUSE")) action.enum = [...action.enum, "PAUSE"];
    },
  },
  {
    source: "MgmtSystemTenantConfigurationValue(Request).value is Java's Object rendered as `type: object`; 1.1.0 takes and returns booleans, numbers and strings (hawkbit-mgmt/hawkbit-mgmt-api/.../system/MgmtSystemTenantConfigurationValue.java, example `true`)",
    apply(spec) {
      for (const name of ["MgmtSystemTenantConfigurationValue", "MgmtSystemTenantConfigurationValueRequest"]) {
        const value = propertiesOf(spec, name)?.value;
        if (value?.type === "object") delete value.type;
      }
    },
  },
  {
    source: "PUT /rest/v1/system/configs takes Map<String, Object> (hawkbit-mgmt/hawkbit-mgmt-api/.../MgmtTenantManagementRestApi.java updateTenantConfiguration); the document renders the values as `type: object`, 1.1.0 takes booleans, numbers and strings",
    apply(spec) {
      const body = pathsOf(spec)["/rest/v1/system/configs"]?.put?.requestBody as Json | undefined;
      for (const media of Object.values((body?.content ?? {}) as Record<string, Json>)) {
        const additional = (media.schema as Json | undefined)?.additionalProperties as Json | undefined;
        if (additional?.type === "object") delete additional.type;
      }
      // The answer is 204 without a body, not the documented array.
    },
  },
  {
    source: "Target tag endpoints declare their 4xx answers with the success body's schema (MgmtTag); 1.1.0 answers every error with an ExceptionInfo (hawkbit-rest/hawkbit-rest-core/.../RestConfiguration.java ResponseExceptionHandler)",
    apply(spec) {
      for (const [path, item] of Object.entries(pathsOf(spec))) {
        if (!path.startsWith("/rest/v1/targettags")) continue;
        for (const operation of Object.values(item)) {
          for (const [status, response] of Object.entries((operation.responses ?? {}) as Record<string, Json>)) {
            const schema = JSON.stringify(response.content ?? {});
            if (/^4\d\d$/.test(status) && !schema.includes("ExceptionInfo") && schema.includes("MgmtTag")) response.content = { "application/json": {} };
          }
        }
      }
    },
  },
  {
    source: "MgmtAction 1.1.0: `active` (boolean) and `status` = the lower-cased Action.Status; `detailStatus` is gone (hawkbit-mgmt/hawkbit-mgmt-api/.../action/MgmtAction.java, MgmtTargetMapper.toResponse). Closed to other properties so a stale field is a violation",
    apply(spec) {
      const action = schemasOf(spec).MgmtAction;
      const props = action?.properties as Record<string, Json> | undefined;
      if (!action || !props) return;
      delete props.detailStatus;
      props.active = { type: "boolean", description: "If acton is active" };
      props.status = { type: "string", description: "Status of action", enum: ACTION_STATUS_VALUES };
      action.additionalProperties = false;
      if ((action.example as Json | undefined)?.detailStatus !== undefined) {
        const example: Json = { ...(action.example as Json), active: false };
        delete example.detailStatus;
        action.example = example;
      }
    },
  },
  {
    source: "MgmtUserInfo has `permissions` (hawkbit-mgmt/hawkbit-mgmt-api/.../MgmtUserInfo.java, filled by MgmtBasicAuthResource.validateBasicAuth)",
    apply(spec) {
      const props = propertiesOf(spec, "MgmtUserInfo");
      if (props && !props.permissions) props.permissions = { type: "array", items: { type: "string" } };
    },
  },
  {
    source: "POST /rest/v1/rollouts/{rolloutId}/stop (hawkbit-mgmt/hawkbit-mgmt-api/.../MgmtRolloutRestApi.java stop; MgmtRolloutResource.stop answers 204)",
    apply(spec) {
      const paths = pathsOf(spec);
      const pause = paths["/rest/v1/rollouts/{rolloutId}/pause"]?.post;
      if (!pause || paths["/rest/v1/rollouts/{rolloutId}/stop"]) return;
      const stop = structuredClone(pause);
      stop.operationId = "stop";
      stop.summary = "Stop a Rollout";
      stop.description = "Handles the POST request of stopping a running rollout. Required Permission: HANDLE_ROLLOUT";
      paths["/rest/v1/rollouts/{rolloutId}/stop"] = { post: stop };
    },
  },
  {
    source: "Void operations answer 204 No Content in 1.1.0 (hawkbit-mgmt/hawkbit-mgmt-resource/.../Mgmt*Resource.java `ResponseEntity.noContent()`; MgmtTenantManagementRestApi `@ResponseStatus(NO_CONTENT)`); a documented 200 without a body gets a 204 next to it",
    apply(spec) {
      if (!isMgmt(spec)) return;
      for (const item of Object.values(pathsOf(spec))) {
        for (const operation of Object.values(item)) {
          const responses = operation.responses as Record<string, Json> | undefined;
          if (responses?.["200"] && !responses["200"].content && !responses["204"]) responses["204"] = noContent("No Content");
        }
      }
      for (const [method, path] of [...NO_CONTENT_OPERATIONS, ...EMPTY_AS_NO_CONTENT]) {
        const responses = pathsOf(spec)[path]?.[method]?.responses as Record<string, Json> | undefined;
        if (responses && !responses["204"]) responses["204"] = noContent("No Content");
      }
      for (const [method, path] of CREATED_WITHOUT_BODY) {
        const responses = pathsOf(spec)[path]?.[method]?.responses as Record<string, Json> | undefined;
        if (responses?.["201"]) responses["201"] = noContent("Created");
      }
    },
  },
  {
    source: "423 LOCKED for changes to a locked set or module (SpServerError.SP_LOCKED → LOCKED in hawkbit-rest/hawkbit-rest-core/.../RestConfiguration.java; LockedException from JpaDistributionSetManagement / JpaSoftwareModuleManagement)",
    apply(spec) {
      if (!isMgmt(spec)) return;
      for (const item of Object.values(pathsOf(spec))) {
        for (const [method, operation] of Object.entries(item)) {
          const responses = operation.responses as Record<string, Json> | undefined;
          if (["post", "put", "delete"].includes(method) && responses && !responses["423"]) {
            responses["423"] = { description: "The set or module is locked", content: EXCEPTION_INFO };
          }
        }
      }
    },
  },
  {
    source: "409 for deleting a target type still in use (TargetTypeInUseException, SP_TARGET_TYPE_IN_USE → CONFLICT in RestConfiguration; JpaTargetTypeManagement.delete)",
    apply(spec) {
      const responses = pathsOf(spec)["/rest/v1/targettypes/{targetTypeId}"]?.delete?.responses as Record<string, Json> | undefined;
      if (responses && !responses["409"]) responses["409"] = { description: "Target type in use", content: EXCEPTION_INFO };
    },
  },
  {
    source: "405 for actions that cannot be cancelled or force quit (SpServerError.SP_ACTION_NOT_CANCELABLE / SP_ACTION_NOT_FORCE_QUITABLE → METHOD_NOT_ALLOWED in hawkbit-rest/hawkbit-rest-core/.../RestConfiguration.java; DDI cancel feedback via JpaControllerManagement.addCancelActionStatus)",
    apply(spec) {
      const paths = pathsOf(spec);
      for (const [path, method] of [["/rest/v1/targets/{targetId}/actions/{actionId}", "delete"], ["/{tenant}/controller/v1/{controllerId}/cancelAction/{actionId}/feedback", "post"]]) {
        const responses = paths[path!]?.[method!]?.responses as Record<string, Json> | undefined;
        if (responses) responses["405"] = { description: "The action cannot be cancelled (not active, already canceling or canceled) or is not being cancelled", content: EXCEPTION_INFO };
      }
    },
  },
];

/** The patches, for documentation and tests: each one's cited source. */
export const OVERLAY_SOURCES: readonly string[] = PATCHES.map((p) => p.source);

/** A deep copy of a published hawkBit OpenAPI document, patched to hawkBit 1.1.0. */
export function overlayHawkbitSpec<T extends object>(spec: T): T {
  const copy = structuredClone(spec) as unknown as Json;
  for (const patch of PATCHES) patch.apply(copy);
  return copy as unknown as T;
}
