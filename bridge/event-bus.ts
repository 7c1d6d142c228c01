// Typed in-process events between the dispatcher and the bridge's extensions, so that each feature
// (registration, telemetry, deployments, feedback) stays a separate module that only listens.
import { EventEmitter } from "node:events";
import type { Availability, Feedback, Health, Hello, Telemetry } from "./protocol/schemas.js";

export interface DeviceEvent<T> {
  controllerId: string;
  payload: T;
  receivedAt: Date;
}

export interface BridgeEvents {
  hello: [DeviceEvent<Hello>];
  availability: [DeviceEvent<Availability>];
  telemetry: [DeviceEvent<Telemetry>];
  feedback: [DeviceEvent<Feedback>];
  health: [DeviceEvent<Health>];
  /** A device was registered (in Postgres and hawkBit) and may need its pending deployment again. */
  deviceRegistered: [{ controllerId: string; deviceId: string }];
}

export class EventBus extends EventEmitter<BridgeEvents> {}
