// The life of a device action as Aerie records it, and how a device's report maps onto hawkBit's
// DDI feedback (execution + finished). Drawn:
//
//   notified → downloading → downloaded → installing → rebooting → success
//        \           \             \            \           \→ failure
//         \→ rejected (device refused)                        closed (ended in hawkBit without us)
import type { FeedbackStatus } from "../protocol/schemas.js";
import type { DdiFeedback } from "../hawkbit/channel.js";

export type DeviceActionStatus = "notified" | FeedbackStatus | "closed";

export const FINAL_STATUSES: ReadonlySet<DeviceActionStatus> = new Set<DeviceActionStatus>(["success", "failure", "rejected", "closed"]);

export function toDdiFeedback(status: FeedbackStatus, progress: number | undefined, details: string[]): DdiFeedback {
  switch (status) {
    case "downloading":
      return { execution: "download", finished: "none", progress: progress === undefined ? undefined : { cnt: progress, of: 100 }, details };
    case "downloaded":
      return { execution: "downloaded", finished: "none", details };
    case "installing":
    case "rebooting":
      return { execution: "proceeding", finished: "none", details: [status, ...details] };
    case "success":
      return { execution: "closed", finished: "success", details };
    case "failure":
      return { execution: "closed", finished: "failure", details };
    case "rejected":
      return { execution: "rejected", finished: "none", details };
  }
}
