// Deleting a device (decommissioning, as hawkBit's DELETE /targets and Mender's decommission): it leaves hawkBit
// (over DMF, hawkBit then sends THING_DELETED), Aerie's registry with its action history, its presence and its MQTT
// credentials, and its live connection is closed. Refused while the device has an action that is not over: its
// campaign would count a device that no longer exists, and hawkBit would cancel the action behind Aerie's back.
// Its telemetry stays until retention drops the partitions it is in (history, not identity).
import type pg from "pg";
import { FINAL_STATUSES } from "../../bridge/extensions/action-status.js";
import { HawkbitError } from "../../hawkbit/errors.js";
import type { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { conflict, notFound } from "../http-error.js";

export interface DeviceRemovalDeps {
  pool: pg.Pool;
  hawkbit: Pick<HawkbitManagementClient, "deleteTarget">;
  /** Closes the device's live MQTT connection and rewrites the broker's credentials (see device-credentials.ts). */
  credentialsChanged: (disconnect?: string) => Promise<void>;
}

export async function removeDevice(deps: DeviceRemovalDeps, controllerId: string): Promise<void> {
  const { pool } = deps;
  const device = await pool.query<{ id: string }>("SELECT id FROM devices WHERE controller_id = $1", [controllerId]);
  if (device.rowCount === 0) throw notFound(`device ${controllerId}`);
  const open = await pool.query<{ hawkbit_action_id: number; campaign: string | null }>(
    `SELECT a.hawkbit_action_id, c.name AS campaign FROM device_actions a LEFT JOIN campaigns c ON c.id = a.campaign_id
     WHERE a.device_id = $1 AND a.status <> ALL($2::text[]) ORDER BY a.created_at LIMIT 1`,
    [device.rows[0]!.id, [...FINAL_STATUSES]],
  );
  const action = open.rows[0];
  if (action) {
    throw conflict(`device ${controllerId} has action ${action.hawkbit_action_id}${action.campaign ? ` of campaign ${action.campaign}` : ""} still open; cancel it or let it end first`);
  }
  // hawkBit first: if it cannot be reached, nothing has changed here and the request can simply be repeated.
  try {
    await deps.hawkbit.deleteTarget(controllerId);
  } catch (error) {
    if (!(error instanceof HawkbitError && error.kind === "not-found")) throw error;
  }
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("DELETE FROM device_credentials WHERE controller_id = $1", [controllerId]);
    await client.query("DELETE FROM device_presence WHERE controller_id = $1", [controllerId]);
    // Identifiers, actions and their feedback go with it (ON DELETE CASCADE).
    await client.query("DELETE FROM devices WHERE controller_id = $1", [controllerId]);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  await deps.credentialsChanged(controllerId);
}
