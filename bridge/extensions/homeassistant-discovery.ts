// What Aerie tells Home Assistant about one device, as pure functions of its registry row (homeassistant.ts
// publishes them). Follows Home Assistant's documented MQTT `update` platform
// (https://www.home-assistant.io/integrations/update.mqtt/ and the discovery section of
// https://www.home-assistant.io/integrations/mqtt/): full key names, no abbreviations.
//
// The discovery topic's node id and object id may hold only [a-zA-Z0-9_-]; a controller id may also hold `.`
// and `:`, so such ids are rewritten and get a short hash of the original (two ids never share a topic).
// The state is a JSON object with only the keys HA's update platform takes there (installed_version,
// latest_version, title, release_summary, in_progress, update_percentage): HA validates it and drops a
// message with any other key, or with null where it expects a string, as a whole.
import { createHash } from "node:crypto";
import type { Topics } from "../protocol/topics.js";

/** One device with its latest action (if any) and the release that action's campaign installs. */
export interface DeviceUpdateRow {
  controller_id: string;
  name: string | null;
  hardware: string | null;
  installed: string | null;
  hawkbit_action_id: number | null;
  status: string | null;
  campaign: string | null;
  release_name: string | null;
  release_version: string | null;
  /** The latest progress (0–100) the device reported for that action. */
  progress: number | null;
}

export interface EntityNames {
  nodeId: string;
  objectId: string;
  uniqueId: string;
  stateTopic: string;
}

export interface DiscoveryNames {
  of(controllerId: string): EntityNames;
}

/** Statuses in which the device is busy with the update (Aerie's action statuses, bridge/extensions/action-status.ts). */
const IN_PROGRESS = new Set(["downloading", "downloaded", "installing", "rebooting"]);
/** The action ended without the release being wanted any more: nothing newer is offered. */
const WITHDRAWN = new Set(["canceled", "closed"]);
/** HA shows at most 255 characters of a release summary. */
const SUMMARY_MAX = 255;

function topicSafe(value: string): string {
  const safe = value.replace(/[^a-zA-Z0-9_-]/g, "_");
  return safe === value ? value : `${safe}_${createHash("sha256").update(value).digest("hex").slice(0, 8)}`;
}

export function discoveryNames(prefix: string, topics: Topics): DiscoveryNames {
  // One Aerie installation (base topic) is one node: two on the same broker do not overwrite each other's entities.
  const nodeId = topics.base.replace(/[^a-zA-Z0-9_-]/g, "_");
  return {
    of: (controllerId) => {
      const objectId = topicSafe(controllerId);
      return { nodeId, objectId, uniqueId: `${nodeId}_${objectId}_update`, stateTopic: `${topics.operators}/homeassistant/${controllerId}` };
    },
  };
}

export function discoveryTopic(prefix: string, names: EntityNames): string {
  return `${prefix}/update/${names.nodeId}/${names.objectId}/config`;
}

/** The retained discovery config of the device's update entity. */
export function discoveryConfig(row: DeviceUpdateRow, names: EntityNames, topics: Topics): Record<string, unknown> {
  const device: Record<string, unknown> = { identifiers: [`aerie:${row.controller_id}`], name: row.name ?? row.controller_id, manufacturer: "Aerie" };
  if (row.hardware) device.model = row.hardware;
  if (row.installed) device.sw_version = row.installed;
  return {
    name: "Firmware",
    unique_id: names.uniqueId,
    device_class: "firmware",
    // As zigbee2mqtt's firmware update entities: a setting of the device, not a sensor reading.
    entity_category: "config",
    state_topic: names.stateTopic,
    // The device's own retained presence ({"state":"online"|"offline"}, its last will: bridge/protocol/README.md).
    availability_topic: topics.device(row.controller_id, "availability"),
    availability_template: "{{ value_json.state }}",
    payload_available: "online",
    payload_not_available: "offline",
    qos: 1,
    device,
    origin: { name: "Aerie" },
  };
}

/** The retained JSON state of the entity; `report` is a newer progress report of the same action, if any. */
export function updateState(row: DeviceUpdateRow, report?: { status: string; progress: number | null }): Record<string, unknown> {
  const targeted = row.release_version !== null && row.status !== null && !WITHDRAWN.has(row.status);
  const status = report ?? (row.status ? { status: row.status, progress: row.progress } : undefined);
  const inProgress = targeted && status !== undefined && IN_PROGRESS.has(status.status);
  const percentage = inProgress && typeof status!.progress === "number" ? Math.max(0, Math.min(100, Math.round(status!.progress))) : null;
  const latest = targeted ? row.release_version : row.installed;
  const state: Record<string, unknown> = {};
  if (row.installed) state.installed_version = row.installed;
  // HA keeps a key a later message leaves out, so the descriptive ones are always sent.
  if (latest) state.latest_version = latest;
  state.title = targeted ? `${row.release_name} ${row.release_version}` : "Firmware";
  state.release_summary = targeted ? `Campaign ${row.campaign}: ${status!.status}`.slice(0, SUMMARY_MAX) : "";
  state.in_progress = inProgress;
  state.update_percentage = percentage;
  return state;
}
