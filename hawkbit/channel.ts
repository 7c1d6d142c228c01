// What the MQTT bridge asks of hawkBit on behalf of a device. Transport-neutral: DDI over HTTP implements it
// today, a DMF (AMQP) implementation can later, so nothing here mentions URLs, headers or status codes.

export type DdiHandlingType = "skip" | "attempt" | "forced";

export interface DdiControllerState {
  /** The action the device should work on next, if any. */
  openActionId?: number;
  /** An action waiting for the device's consent (confirmationBase); answer with sendConfirmation. */
  confirmationActionId?: number;
  /** An action hawkBit wants cancelled; the device confirms with sendCancelFeedback. */
  cancelActionId?: number;
  /** Last successfully installed action. */
  installedActionId?: number;
  /** How long hawkBit wants the device to wait before asking again. */
  pollingSleepMs: number;
  /** hawkBit asks for the device's attributes (sendConfigData). */
  configDataRequested: boolean;
}

export interface DdiArtifactHashes {
  sha256?: string;
  sha1?: string;
  md5?: string;
}

export interface DdiArtifactLinks {
  downloadHttps?: string;
  downloadHttp?: string;
  md5sumHttps?: string;
  md5sumHttp?: string;
}

export interface DdiDeploymentArtifact {
  filename: string;
  size?: number;
  hashes: DdiArtifactHashes;
  links: DdiArtifactLinks;
}

export interface DdiDeploymentChunk {
  /** Software module type key, e.g. `os`. */
  part: string;
  name: string;
  version: string;
  encrypted: boolean;
  artifacts: DdiDeploymentArtifact[];
  metadata: { key: string; value: string }[];
}

export interface DdiDeployment {
  actionId: number;
  download: DdiHandlingType;
  update: DdiHandlingType;
  /** The assignment type as hawkBit's Management API names it, derived from the handling types. */
  type: "forced" | "soft" | "downloadonly";
  maintenanceWindow?: "available" | "unavailable";
  /** Set when the action waits for the device's confirmation (hawkBit's confirmation flow). */
  confirmationRequired?: boolean;
  chunks: DdiDeploymentChunk[];
}

export type DdiExecution = "closed" | "proceeding" | "canceled" | "scheduled" | "rejected" | "resumed" | "downloaded" | "download";
export type DdiFinished = "success" | "failure" | "none";

export interface DdiFeedback {
  execution: DdiExecution;
  finished: DdiFinished;
  progress?: { cnt: number; of?: number };
  details?: string[];
  code?: number;
}

export type ConfigDataMode = "merge" | "replace" | "remove";

export interface DdiCancelAction {
  actionId: number;
  stopActionId: number;
}

export interface DdiConfirmation {
  confirmation: "confirmed" | "denied";
  code?: number;
  details?: string[];
}

/** An action hawkBit pushed to one device (DMF), as it arrived: enough to announce it without asking hawkBit. */
export interface PushedAction {
  controllerId: string;
  actionId: number;
  /** notice: DOWNLOAD or DOWNLOAD_AND_INSTALL; consent: CONFIRM; canceling: CANCEL_DOWNLOAD. */
  phase: "notice" | "consent" | "canceling";
  /**
   * Actions with the same key get the same notice apart from their action id and per-device links (the same
   * software modules with the same topic), so one notice is built per key, as one is per rollout over DDI.
   */
  shareKey?: string;
}

export interface HawkbitDeviceChannel {
  /** DDI (HTTP per device, polled) unless said otherwise; DMF pushes over AMQP. */
  readonly transport?: "ddi" | "dmf";
  /**
   * Channels that push actions (DMF) call `listener` for each one as it arrives, so notices go out without
   * waiting for the Management API to list the action. Returns the unsubscribe.
   */
  onAction?(listener: (action: PushedAction) => void): () => void;
  /**
   * With onAction: changes whenever pushes may have been missed (each new connection). While it stays the same,
   * every action hawkBit created for a registered device has been pushed.
   */
  readonly pushEpoch?: number;
  /**
   * Registers many devices with their attributes at once, where the transport can (DMF: THING_CREATED with the
   * attributes). Without it, the caller creates targets in bulk through the Management API.
   */
  registerMany?(devices: readonly { controllerId: string; attributes: Record<string, string> }[]): Promise<void>;
  /** Also registers an unknown device with hawkBit. */
  pollController(controllerId: string): Promise<DdiControllerState>;
  getDeployment(controllerId: string, actionId: number): Promise<DdiDeployment>;
  sendFeedback(controllerId: string, actionId: number, feedback: DdiFeedback): Promise<void>;
  sendConfigData(controllerId: string, attributes: Record<string, string>, mode?: ConfigDataMode): Promise<void>;
  getCancelAction(controllerId: string, actionId: number): Promise<DdiCancelAction>;
  sendCancelFeedback(controllerId: string, actionId: number, feedback: DdiFeedback): Promise<void>;
  /** The deployment of an action that waits for the device's consent (same shape as getDeployment). */
  getConfirmation(controllerId: string, actionId: number): Promise<DdiDeployment>;
  /** Consent: confirmed starts the action; denied leaves it waiting (hawkBit has no "never"). */
  sendConfirmation(controllerId: string, actionId: number, confirmation: DdiConfirmation): Promise<void>;
}
