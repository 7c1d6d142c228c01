// One Prometheus registry for the process; GET /metrics renders it. Labels stay low-cardinality
// (no per-device labels): a fleet of 100k devices must not become 100k series.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class AerieMetrics {
  readonly registry = new Registry();

  /**
   * Counted per message on the bridge's hot path: a labeled prom-client increment hashes and validates
   * its labels each time, so the tallies are plain numbers, moved into the counters when they are read.
   */
  private readonly messageTally = new Map<string, { messages: number; bytes: number }>();
  readonly mqttMessages: Counter<"kind"> = new Counter({ name: "aerie_bridge_messages_total", help: "Device messages received, by kind.", labelNames: ["kind"], registers: [this.registry], collect: () => this.flushMessageTally() });
  readonly mqttBytes: Counter<"kind"> = new Counter({ name: "aerie_bridge_message_bytes_total", help: "Payload bytes received from devices, by kind.", labelNames: ["kind"], registers: [this.registry], collect: () => this.flushMessageTally() });
  readonly deadLetters = new Counter({ name: "aerie_bridge_dead_letters_total", help: "Device messages rejected into the dead-letter table, by reason.", labelNames: ["reason"], registers: [this.registry] });
  readonly telemetryRows = new Counter({ name: "aerie_telemetry_rows_total", help: "Telemetry rows committed to PostgreSQL (duplicates excluded).", registers: [this.registry] });
  readonly telemetryIngestSeconds = new Histogram({ name: "aerie_telemetry_ingest_seconds", help: "Time from receipt to commit of a telemetry batch.", buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry] });
  readonly deploymentsSent = new Counter({ name: "aerie_bridge_deployments_sent_total", help: "Deployment notices published to devices.", registers: [this.registry] });
  readonly feedbackRelayed = new Counter({ name: "aerie_bridge_feedback_relayed_total", help: "Device feedback relayed to hawkBit, by status.", labelNames: ["status"], registers: [this.registry] });
  readonly feedbackPending = new Gauge({ name: "aerie_bridge_feedback_pending", help: "Device feedback and consent stored and not yet relayed to hawkBit (grows while hawkBit is unreachable).", registers: [this.registry] });
  readonly hawkbitRequests = new Counter({ name: "aerie_hawkbit_requests_total", help: "Requests made to hawkBit, by API.", labelNames: ["api"], registers: [this.registry] });
  readonly devicesOnline = new Gauge({ name: "aerie_devices_online", help: "Devices whose availability is online.", registers: [this.registry] });
  readonly devicesByVersion = new Gauge({ name: "aerie_devices_by_version", help: "Devices by reported installed version.", labelNames: ["version"], registers: [this.registry] });
  readonly campaignsByState = new Gauge({ name: "aerie_campaigns", help: "Campaigns by state.", labelNames: ["state"], registers: [this.registry] });
  readonly updateDurationSeconds = new Histogram({ name: "aerie_update_duration_seconds", help: "Time from deployment notice to a device's final result.", labelNames: ["result"], buckets: [1, 5, 15, 30, 60, 300, 900, 3600], registers: [this.registry] });
  readonly telemetryWriteErrors = new Counter({ name: "aerie_telemetry_write_errors_total", help: "Telemetry batches that failed to commit (and were retried).", registers: [this.registry] });
  readonly bridgeErrors = new Counter({ name: "aerie_bridge_errors_total", help: "Failures inside the bridge, by stage (relay, registration, request, sync).", labelNames: ["stage"], registers: [this.registry] });
  readonly bridgeInFlight = new Gauge({ name: "aerie_bridge_unacked_messages", help: "Device messages received but not yet acknowledged to the broker.", registers: [this.registry] });
  readonly bridgeLeader = new Gauge({ name: "aerie_bridge_leader", help: "1 when this instance leads hawkBit synchronisation.", registers: [this.registry] });
  readonly deviceActionsByStatus = new Gauge({ name: "aerie_device_actions", help: "Device actions (campaign members) by status.", labelNames: ["status"], registers: [this.registry] });
  readonly consentDecisions = new Counter({ name: "aerie_bridge_consent_total", help: "Consent decisions relayed to hawkBit, by decision.", labelNames: ["decision"], registers: [this.registry] });
  readonly cancelsSent = new Counter({ name: "aerie_bridge_cancels_sent_total", help: "Cancel notices published to devices.", registers: [this.registry] });
  readonly noticeLatencySeconds = new Histogram({ name: "aerie_bridge_notice_latency_seconds", help: "Time from an action's creation in hawkBit to its notice on MQTT.", buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60], registers: [this.registry] });
  readonly uploadedBytes = new Counter({ name: "aerie_artifact_uploaded_bytes_total", help: "Artifact bytes uploaded through the API.", registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "aerie_process_" });
  }

  /** One device message of this kind ("invalid" for a topic outside the protocol) and its payload size. */
  countDeviceMessage(kind: string, bytes: number): void {
    const tally = this.messageTally.get(kind);
    if (tally) {
      tally.messages++;
      tally.bytes += bytes;
    } else this.messageTally.set(kind, { messages: 1, bytes });
  }

  private flushMessageTally(): void {
    for (const [kind, tally] of this.messageTally) {
      // A kind seen at least once is exported even at zero bytes (an empty retained clear).
      this.mqttMessages.inc({ kind }, tally.messages);
      this.mqttBytes.inc({ kind }, tally.bytes);
      tally.messages = 0;
      tally.bytes = 0;
    }
  }
}
