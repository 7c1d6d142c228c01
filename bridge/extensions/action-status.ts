// The life of a device action as Aerie records it, and how a device's report maps onto hawkBit's
// DDI feedback (execution + finished). Drawn:
//
//   awaiting-consent ─accept→ notified → downloading → downloaded → installing → rebooting → success
//        │  └─reject→ rejected           \           \             \            \           \→ failure
//        │                                 \→ rejected (device refused)      canceling → canceled
//        └──────────────────────────────────────────────── closed (ended in hawkBit without us)
import type { FeedbackStatus } from "../protocol/schemas.js";
import type { DdiFeedback } from "../../hawkbit/channel.js";

export type DeviceActionStatus = "awaiting-consent" | "notified" | "canceling" | Exclude<FeedbackStatus, "cancel-rejected"> | "closed";

export const FINAL_STATUSES: ReadonlySet<DeviceActionStatus> = new Set<DeviceActionStatus>(["success", "failure", "rejected", "canceled", "closed"]);
export const CANCEL_ANSWERS: ReadonlySet<FeedbackStatus> = new Set<FeedbackStatus>(["canceled", "cancel-rejected"]);

export function toDdiFeedback(status: FeedbackStatus, progress: number | undefined, details: string[], code?: number): DdiFeedback {
  const withCode = code === undefined ? {} : { code };
  switch (status) {
    case "downloading":
      return { execution: "download", finished: "none", progress: progress === undefined ? undefined : { cnt: progress, of: 100 }, details, ...withCode };
    case "downloaded":
      return { execution: "downloaded", finished: "none", details, ...withCode };
    case "installing":
    case "rebooting":
      return { execution: "proceeding", finished: "none", details: [status, ...details], ...withCode };
    case "success":
      return { execution: "closed", finished: "success", details, ...withCode };
    case "failure":
      return { execution: "closed", finished: "failure", details, ...withCode };
    case "rejected":
      return { execution: "rejected", finished: "none", details, ...withCode };
    // Answers to a cancel notice, sent to hawkBit's cancelAction feedback.
    case "canceled":
      return { execution: "closed", finished: "success", details, ...withCode };
    case "cancel-rejected":
      return { execution: "rejected", finished: "none", details, ...withCode };
  }
}
