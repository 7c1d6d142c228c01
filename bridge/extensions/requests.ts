// Device-initiated queries: request/{name} with a correlation id → response/{name} with the same id.
//   ping        → {serverTime}
//   deployment  → the device's open deployment notice (fresh offers), or null
//   device      → what the registry knows: {deviceId, controllerId, secondaryIds}
import type { RequestEvent } from "../event-bus.js";
import type { BridgeContext, Extension } from "../extension.js";
import type { DeviceResponse } from "../protocol/schemas.js";
import { FINAL_STATUSES } from "./action-status.js";

export class RequestsExtension implements Extension {
  readonly name = "requests";
  private readonly onRequest = (event: RequestEvent) => this.answer(event);

  constructor(private readonly ctx: BridgeContext) {}

  async start(): Promise<void> {
    this.ctx.bus.on("request", this.onRequest);
  }

  async stop(): Promise<void> {
    this.ctx.bus.off("request", this.onRequest);
  }

  private async answer({ controllerId, name, payload }: RequestEvent): Promise<void> {
    let response: DeviceResponse;
    try {
      response = { correlationId: payload.correlationId, ok: true, result: await this.resolve(controllerId, name) };
    } catch (error) {
      this.ctx.metrics.bridgeErrors.inc({ stage: "request" });
      const code = (error as { code?: string }).code ?? "internal";
      response = { correlationId: payload.correlationId, ok: false, error: { code, message: (error as Error).message } };
    }
    this.ctx.publish(this.ctx.topics.response(controllerId, name), JSON.stringify(response), { qos: 1 });
  }

  private async resolve(controllerId: string, name: string): Promise<unknown> {
    const { db } = this.ctx;
    if (name === "ping") return { serverTime: new Date().toISOString() };
    const device = await db.device.findUnique({ where: { controllerId }, include: { identifiers: true } });
    if (!device) throw Object.assign(new Error("unknown device: send hello first"), { code: "unknown-device" });
    if (name === "device") {
      return { deviceId: device.id, controllerId, secondaryIds: Object.fromEntries(device.identifiers.map((i) => [i.kind, i.value])) };
    }
    // name === "deployment" (the topic parser admits only known names)
    const action = await db.deviceAction.findFirst({ where: { deviceId: device.id, status: { notIn: [...FINAL_STATUSES, "canceling"] } }, orderBy: { hawkbitActionId: "asc" } });
    if (!action) return null;
    return this.ctx.notices.build({ actionId: action.hawkbitActionId, controllerId, consentRequired: action.status === "awaiting-consent" });
  }
}
