// Typed in-process events between the dispatcher and the bridge's extensions, so that each feature
// (registration, telemetry, deployments, feedback, …) stays a separate module that only listens.
// `dispatch` also waits for what the listeners return: the bridge acknowledges a device's QoS1 message
// to the broker only once every listener has finished with it (stored, relayed or dead-lettered).
import { EventEmitter } from "node:events";
import type { Availability, Consent, DeviceRequest, Feedback, Health, Hello, Telemetry } from "./protocol/schemas.js";

export interface DeviceEvent<T> {
  controllerId: string;
  payload: T;
  receivedAt: Date;
  /** Size of the MQTT payload, for byte counters. */
  bytes: number;
}

export interface RequestEvent extends DeviceEvent<DeviceRequest> {
  name: string;
}

export interface BridgeEvents {
  hello: [DeviceEvent<Hello>];
  availability: [DeviceEvent<Availability>];
  telemetry: [DeviceEvent<Telemetry>];
  feedback: [DeviceEvent<Feedback>];
  consent: [DeviceEvent<Consent>];
  health: [DeviceEvent<Health>];
  request: [RequestEvent];
  /** A device's feedback or consent was stored and waits for the relay to hawkBit (feedback-relay.ts). */
  reportQueued: [];
  /** Devices were registered (in Postgres and hawkBit), one batch of hellos; each may need its pending deployment again. */
  devicesRegistered: [{ controllerId: string; deviceId: string }[]];
  /** This instance became (true) or stopped being (false) the leader of hawkBit synchronisation. */
  leadership: [boolean];
}

type Listener<K extends keyof BridgeEvents> = (...args: BridgeEvents[K]) => unknown;

const SETTLED: Promise<void> = Promise.resolve();
const ignore = () => undefined;

export class EventBus extends EventEmitter<BridgeEvents> {
  /**
   * Calls every listener and settles once all the promises they returned have settled; never rejects.
   * Telemetry passes here for every message: the common case of one listener costs one promise.
   */
  dispatch<K extends keyof BridgeEvents>(kind: K, ...args: BridgeEvents[K]): Promise<void> {
    const listeners = this.listeners(kind as never) as unknown as Listener<K>[];
    if (listeners.length === 1) {
      try {
        const result = listeners[0]!(...args);
        return result instanceof Promise ? result.then(ignore, ignore) : SETTLED;
      } catch {
        return SETTLED;
      }
    }
    // Listeners that return nothing (e.g. last-seen noting a time) cost no promise.
    const pending: Promise<unknown>[] = [];
    for (const listener of listeners) {
      try {
        const result = listener(...args);
        if (result instanceof Promise) pending.push(result);
      } catch {
        // like a rejected promise: settled
      }
    }
    if (pending.length === 0) return SETTLED;
    if (pending.length === 1) return pending[0]!.then(ignore, ignore);
    return Promise.allSettled(pending).then(ignore);
  }
}
