// Aerie's monitoring as code: every PromQL expression of the recording rules, alerts and Grafana panels, and
// every SQL panel query, is declared once here. generate.ts writes the Prometheus rule file and the Grafana
// dashboards from it; test/observability/monitoring.test.ts runs each expression against a real Prometheus
// scraping Aerie, and each SQL query against the real schema. A counter with labels has no series until its first
// increment, so sums over error counters end in `or vector(0)`: a quiet system shows 0, not "No data".

export interface RecordingRule { record: string; expr: string }
export interface AlertRule { alert: string; expr: string; for: string; severity: "warning" | "critical"; summary: string }

export const JOB = "aerie";

export const RECORDING_RULES: RecordingRule[] = [
  { record: "aerie:bridge_messages:rate5m", expr: "sum by (kind) (rate(aerie_bridge_messages_total[5m]))" },
  { record: "aerie:dead_letters:increase10m", expr: "sum(increase(aerie_bridge_dead_letters_total[10m])) or vector(0)" },
  { record: "aerie:telemetry_ingest_seconds:p95_5m", expr: "histogram_quantile(0.95, sum by (le) (rate(aerie_telemetry_ingest_seconds_bucket[5m])))" },
  { record: "aerie:device_actions:failure_ratio", expr: `sum(aerie_device_actions{status=~"failure|error"}) / clamp_min(sum(aerie_device_actions), 1)` },
  { record: "aerie:hawkbit_errors:rate5m", expr: `sum(rate(aerie_bridge_errors_total{stage=~"relay|sync|heartbeat|registration|notice"}[5m])) or vector(0)` },
  { record: "aerie:devices_online:sum", expr: "sum(aerie_devices_online)" },
];

export const ALERTS: AlertRule[] = [
  { alert: "AerieDown", expr: `up{job="${JOB}"} == 0`, for: "2m", severity: "critical", summary: "Prometheus cannot scrape Aerie (API and bridge share the process)" },
  { alert: "AerieBridgeNoLeader", expr: `sum(aerie_bridge_leader) == 0`, for: "5m", severity: "critical", summary: "No bridge instance leads hawkBit synchronisation: deployments and feedback stall" },
  { alert: "AerieIngestLag", expr: `aerie:telemetry_ingest_seconds:p95_5m > 2 or sum(aerie_bridge_unacked_messages) > 5000`, for: "10m", severity: "warning", summary: "Telemetry waits long for PostgreSQL, or many device messages wait for their acknowledgement" },
  { alert: "AerieDeadLettersRising", expr: `aerie:dead_letters:increase10m > 10`, for: "10m", severity: "warning", summary: "Device messages are being rejected into dead_letters" },
  { alert: "AerieCampaignFailureRate", expr: `aerie:device_actions:failure_ratio > 0.2`, for: "15m", severity: "warning", summary: "More than 20% of campaign device actions failed" },
  { alert: "AerieHawkbitErrors", expr: `aerie:hawkbit_errors:rate5m > 0.1`, for: "10m", severity: "warning", summary: "Calls to hawkBit keep failing (relay, sync, heartbeat, registration)" },
  { alert: "AerieFeedbackBacklog", expr: `sum(aerie_bridge_feedback_pending) > 100`, for: "15m", severity: "warning", summary: "Device feedback waits to be relayed to hawkBit" },
];

export interface PromPanel { kind: "prometheus"; title: string; expr: string; legend?: string; unit?: string; type?: "timeseries" | "stat" | "bargauge" }
export interface SqlPanel { kind: "sql"; title: string; sql: string; type?: "table" | "timeseries" | "stat" }
export type Panel = PromPanel | SqlPanel;
export interface Dashboard { uid: string; title: string; panels: Panel[] }

export const DASHBOARDS: Dashboard[] = [
  {
    uid: "aerie-fleet", title: "Aerie · Fleet overview",
    panels: [
      { kind: "prometheus", title: "Devices online", expr: "aerie:devices_online:sum", type: "stat" },
      { kind: "prometheus", title: "Devices by version", expr: "sum by (version) (aerie_devices_by_version)", legend: "{{version}}", type: "bargauge" },
      { kind: "sql", title: "Devices by hardware", sql: "SELECT COALESCE(hardware, 'unknown') AS hardware, count(*) AS devices FROM devices GROUP BY 1 ORDER BY 2 DESC", type: "table" },
      { kind: "sql", title: "Devices with problems (offline > 1 h or unhealthy)", type: "table",
        sql: "SELECT d.controller_id, d.hardware, d.last_seen_at, d.attributes->>'healthy' AS healthy FROM devices d LEFT JOIN device_presence p ON p.controller_id = d.controller_id WHERE (COALESCE(p.online, false) = false AND (d.last_seen_at IS NULL OR d.last_seen_at < now() - interval '1 hour')) OR d.attributes->>'healthy' = 'false' ORDER BY d.last_seen_at NULLS FIRST LIMIT 100" },
    ],
  },
  {
    uid: "aerie-campaigns", title: "Aerie · Campaigns and rollouts",
    panels: [
      { kind: "prometheus", title: "Campaigns by state", expr: "sum by (state) (aerie_campaigns)", legend: "{{state}}", type: "bargauge" },
      { kind: "prometheus", title: "Device actions by status", expr: "sum by (status) (aerie_device_actions)", legend: "{{status}}" },
      { kind: "prometheus", title: "Deployment notices sent per second", expr: "sum(rate(aerie_bridge_deployments_sent_total[5m]))" },
      { kind: "sql", title: "Campaigns", type: "table",
        sql: "SELECT c.name, c.status, r.name || ' ' || r.version AS release, c.started_at, c.finished_at, (SELECT count(*) FROM device_actions a WHERE a.campaign_id = c.id AND a.status = 'success') AS succeeded, (SELECT count(*) FROM device_actions a WHERE a.campaign_id = c.id AND a.status IN ('failure', 'error')) AS failed FROM campaigns c JOIN releases r ON r.id = c.release_id WHERE $__timeFilter(c.created_at) ORDER BY c.created_at DESC LIMIT 50" },
    ],
  },
  {
    uid: "aerie-release-health", title: "Aerie · Release health",
    panels: [
      { kind: "prometheus", title: "Campaign device failure ratio", expr: "aerie:device_actions:failure_ratio", unit: "percentunit" },
      { kind: "prometheus", title: "Update duration p50 / p95", expr: "histogram_quantile(0.95, sum by (le) (rate(aerie_update_duration_seconds_bucket[1h])))", unit: "s", legend: "p95" },
      { kind: "prometheus", title: "Updates finished by result", expr: "sum by (result) (increase(aerie_update_duration_seconds_count[1h]))", legend: "{{result}}" },
      { kind: "sql", title: "Success and failure by release", type: "table",
        sql: "SELECT r.name, r.version, count(*) FILTER (WHERE a.status = 'success') AS success, count(*) FILTER (WHERE a.status IN ('failure', 'error')) AS failure, round(100.0 * count(*) FILTER (WHERE a.status = 'success') / GREATEST(count(*), 1), 1) AS success_percent FROM device_actions a JOIN campaigns c ON c.id = a.campaign_id JOIN releases r ON r.id = c.release_id WHERE $__timeFilter(a.updated_at) GROUP BY r.name, r.version ORDER BY r.name, r.version" },
      { kind: "sql", title: "Unhealthy health reports", type: "table",
        sql: "SELECT at, actor, details->>'runningVersion' AS version, details->>'bootedSlot' AS slot FROM audit_events WHERE action = 'device.health' AND details->>'healthy' = 'false' AND $__timeFilter(at) ORDER BY at DESC LIMIT 100" },
    ],
  },
  {
    uid: "aerie-bridge", title: "Aerie · Bridge and ingest",
    panels: [
      { kind: "prometheus", title: "Bridge up", expr: `up{job="${JOB}"}`, type: "stat" },
      { kind: "prometheus", title: "Device messages per second by kind", expr: "aerie:bridge_messages:rate5m", legend: "{{kind}}" },
      { kind: "prometheus", title: "Telemetry rows per second", expr: "sum(rate(aerie_telemetry_rows_total[5m]))" },
      { kind: "prometheus", title: "Telemetry ingest p95", expr: "aerie:telemetry_ingest_seconds:p95_5m", unit: "s" },
      { kind: "prometheus", title: "Unacknowledged device messages", expr: "sum(aerie_bridge_unacked_messages)" },
      { kind: "prometheus", title: "Dead letters (10 min)", expr: "aerie:dead_letters:increase10m" },
      { kind: "prometheus", title: "Bridge errors per second by stage", expr: "sum by (stage) (rate(aerie_bridge_errors_total[5m])) or vector(0)", legend: "{{stage}}" },
      { kind: "prometheus", title: "hawkBit requests per second by API", expr: "sum by (api) (rate(aerie_hawkbit_requests_total[5m]))", legend: "{{api}}" },
      { kind: "prometheus", title: "Feedback waiting for hawkBit", expr: "sum(aerie_bridge_feedback_pending)" },
      { kind: "sql", title: "Dead letters by reason", type: "table", sql: "SELECT source, reason, count(*) AS messages, max(at) AS last FROM dead_letters WHERE $__timeFilter(at) GROUP BY source, reason ORDER BY messages DESC" },
    ],
  },
  {
    uid: "aerie-broker", title: "Aerie · Broker",
    panels: [
      { kind: "prometheus", title: "Payload bytes per second by kind", expr: "sum by (kind) (rate(aerie_bridge_message_bytes_total[5m]))", legend: "{{kind}}", unit: "Bps" },
      { kind: "prometheus", title: "Messages per second (all kinds)", expr: "sum(aerie:bridge_messages:rate5m)" },
      { kind: "prometheus", title: "Bridge leader", expr: "sum(aerie_bridge_leader)", type: "stat" },
      { kind: "sql", title: "Device presence changes (last hour)", type: "table", sql: "SELECT online, count(*) AS devices, max(changed_at) AS last_change FROM device_presence WHERE changed_at > now() - interval '1 hour' GROUP BY online" },
    ],
  },
];
