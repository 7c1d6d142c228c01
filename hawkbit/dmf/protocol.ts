// hawkBit's Device Management Federation API (DMF, AMQP 0-9-1) as hawkBit 1.1.0 defines it: names, headers and
// bodies, from hawkbit-dmf/hawkbit-dmf-api (org.eclipse.hawkbit.dmf.amqp.api.*, org.eclipse.hawkbit.dmf.json.model.*)
// and docs/device-management-federation-api.md. Shared by Aerie's DMF channel and the hawkBit stand-in.

/** AmqpSettings.DMF_EXCHANGE: the fanout exchange hawkBit reads from (bound to its `dmf_receiver` queue). */
export const DMF_EXCHANGE = "dmf.exchange";
/** AmqpProperties.receiverQueue default. */
export const DMF_RECEIVER_QUEUE = "dmf_receiver";
/** AmqpProperties.deadLetterExchange / deadLetterQueue defaults. */
export const DMF_DEAD_LETTER_EXCHANGE = "dmf.connector.deadletter";
export const DMF_DEAD_LETTER_QUEUE = "dmf_connector_deadletter_ttl";

/** MessageHeaderKey. */
export const HEADER = { type: "type", tenant: "tenant", thingId: "thingId", sender: "sender", topic: "topic", contentType: "content-type" } as const;

/** MessageType. */
export type DmfMessageType = "EVENT" | "THING_CREATED" | "THING_DELETED" | "THING_REMOVED" | "PING" | "PING_RESPONSE";
export const DMF_MESSAGE_TYPES: readonly DmfMessageType[] = ["EVENT", "THING_CREATED", "THING_DELETED", "THING_REMOVED", "PING", "PING_RESPONSE"];

/** EventTopic. */
export type DmfEventTopic =
  | "UPDATE_ACTION_STATUS" | "DOWNLOAD_AND_INSTALL" | "CANCEL_DOWNLOAD" | "UPDATE_ATTRIBUTES" | "UPDATE_AUTO_CONFIRM" | "DOWNLOAD"
  | "REQUEST_ATTRIBUTES_UPDATE" | "MULTI_ACTION" | "BATCH_DOWNLOAD" | "BATCH_DOWNLOAD_AND_INSTALL" | "CONFIRM";

/** DmfActionStatus. */
export type DmfActionStatus = "DOWNLOAD" | "RETRIEVED" | "RUNNING" | "FINISHED" | "ERROR" | "WARNING" | "CANCELED" | "CANCEL_REJECTED" | "DOWNLOADED" | "CONFIRMED" | "DENIED";
export const DMF_ACTION_STATUSES: readonly DmfActionStatus[] = ["DOWNLOAD", "RETRIEVED", "RUNNING", "FINISHED", "ERROR", "WARNING", "CANCELED", "CANCEL_REJECTED", "DOWNLOADED", "CONFIRMED", "DENIED"];

/** DmfUpdateMode. */
export type DmfUpdateMode = "MERGE" | "REPLACE" | "REMOVE";

/** DmfAttributeUpdate. */
export interface DmfAttributeUpdate {
  attributes: Record<string, string>;
  mode?: DmfUpdateMode;
}

/** DmfCreateThing (THING_CREATED body, optional). */
export interface DmfCreateThing {
  name?: string;
  type?: string;
  attributeUpdate?: DmfAttributeUpdate;
}

/** DmfActionUpdateStatus (UPDATE_ACTION_STATUS body). */
export interface DmfActionUpdateStatus {
  actionId: number;
  actionStatus: DmfActionStatus;
  timestamp?: number;
  softwareModuleId?: number;
  message?: string[];
  code?: number;
}

/** DmfArtifactHash: 1.1.0 sends sha1 and md5 only (no sha256). */
export interface DmfArtifactHash {
  sha1?: string;
  md5?: string;
}

/** DmfArtifact: `urls` maps ArtifactUrl.protocol (e.g. HTTP, HTTPS) to the link. */
export interface DmfArtifact {
  filename: string;
  hashes: DmfArtifactHash;
  size: number;
  lastModified: number;
  urls: Record<string, string>;
}

/** DmfSoftwareModule. */
export interface DmfSoftwareModule {
  moduleId: number;
  moduleType: string;
  moduleVersion: string;
  encrypted?: boolean;
  artifacts: DmfArtifact[];
  metadata?: { key: string; value: string }[];
}

/** DmfActionRequest (CANCEL_DOWNLOAD body). */
export interface DmfActionRequest {
  actionId: number;
}

/** DmfDownloadAndUpdateRequest (DOWNLOAD_AND_INSTALL, DOWNLOAD) and DmfConfirmRequest (CONFIRM): same shape. */
export interface DmfDownloadAndUpdateRequest extends DmfActionRequest {
  targetSecurityToken?: string;
  softwareModules: DmfSoftwareModule[] | null;
}

/** DmfMultiActionRequest.DmfMultiActionElement. */
export interface DmfMultiActionElement {
  topic: DmfEventTopic;
  action: DmfActionRequest | DmfDownloadAndUpdateRequest;
  weight: number;
}

/** DmfTarget and DmfBatchDownloadAndUpdateRequest (BATCH_* topics, tenant config batch.assignments.enabled). */
export interface DmfTarget {
  actionId: number;
  controllerId: string;
  targetSecurityToken?: string;
}
export interface DmfBatchDownloadAndUpdateRequest {
  timestamp: number;
  targets: DmfTarget[];
  softwareModules: DmfSoftwareModule[] | null;
}

export const JSON_CONTENT_TYPE = "application/json";

/** Headers hawkBit's AmqpMessageDispatcherService.createConnectorMessageProperties* set on an event for one thing. */
export function eventHeaders(tenant: string, thingId: string, topic: DmfEventTopic): Record<string, string> {
  return { [HEADER.type]: "EVENT", [HEADER.topic]: topic, [HEADER.thingId]: thingId, [HEADER.tenant]: tenant, [HEADER.contentType]: JSON_CONTENT_TYPE };
}
