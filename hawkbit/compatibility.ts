// Does the server answer like hawkBit 1.x? Aerie supports hawkBit 1.x (checked against 1.1.0) and relies on what
// 1.x has and 0.x lacks; asked once at start, so that a wrong server fails with the capability it lacks named,
// instead of an action sync that silently never sees an action. Reads only.
import { HawkbitError } from "./errors.js";
import type { HawkbitManagementClient } from "./management-client.js";

export class HawkbitIncompatibleError extends Error {
  constructor(readonly capability: string, detail: string) {
    super(`hawkBit at this URL does not answer like hawkBit 1.x (Aerie supports 1.x): missing ${capability}; ${detail}`);
    this.name = "HawkbitIncompatibleError";
  }
}

/** Whether the error says hawkBit was reached and refused the request (as opposed to being down). */
function refusal(error: unknown): error is HawkbitError {
  return error instanceof HawkbitError && error.status !== undefined && error.status >= 400 && error.status < 500 && error.status !== 401 && error.status !== 403 && error.status !== 429;
}

/**
 * Throws HawkbitIncompatibleError naming the first missing capability; rethrows anything that is not a refusal
 * (hawkBit down, credentials wrong) so the caller can tell "unreachable" from "not 1.x".
 */
export async function checkHawkbit1x(client: HawkbitManagementClient): Promise<void> {
  // ActionFields.ACTIVE and the full representation (MgmtActionResource.getActions, hawkBit 1.x).
  try {
    const page = await client.listActions({ q: "active==true", sort: "id:ASC", limit: 1, representation: "full" });
    const action = page.content[0];
    if (action && typeof action.active !== "boolean") {
      throw new HawkbitIncompatibleError("the action field `active` (MgmtAction.active)", "actions are listed without it");
    }
  } catch (error) {
    if (refusal(error)) throw new HawkbitIncompatibleError("the action query field `active` (ActionFields.ACTIVE)", `GET /rest/v1/actions?q=active==true answered ${error.status}: ${error.message}`);
    throw error;
  }
  // Action.Status values as `status` (1.x; 0.x knew only pending/finished there).
  try {
    await client.listActions({ q: "status==wait_for_confirmation", sort: "id:ASC", limit: 1 });
  } catch (error) {
    if (refusal(error)) throw new HawkbitIncompatibleError("action statuses as query values (status==wait_for_confirmation)", `answered ${error.status}: ${error.message}`);
    throw error;
  }
  // The rollout stop endpoint (POST /rest/v1/rollouts/{id}/stop) came with the same 1.x line as the action fields above;
  // it is not probed: the only harmless probe, a stop of a rollout that does not exist, draws an answer (404) that
  // hawkBit's published contract does not declare for it.
}
