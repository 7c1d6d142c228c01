-- Telemetry becomes a table partitioned by day of "recorded_at" (native range partitioning).
-- Why: the insert's index upkeep grew with the table, and retention deleted rows in batches that
-- left bloat behind. A day's partition holds one day of rows whatever the table's total, and
-- retention drops whole partitions (no row deletes, no vacuum debt).
-- Why "recorded_at" (the device's time) and not "received_at": a unique constraint on a partitioned
-- table must contain the partition key. A message delivered twice (MQTT QoS 1 is at-least-once)
-- carries the same message id and the same "ts", so (controller_id, message_id, recorded_at) still
-- stores it once; with "received_at" in the key, each redelivery would be a new row.
-- Rows whose time falls outside the days created (a device with an unset clock, say) land in the
-- DEFAULT partition, which the retention sweep trims in batches as before.
ALTER TABLE "telemetry" RENAME TO "telemetry_unpartitioned";
ALTER TABLE "telemetry_unpartitioned" RENAME CONSTRAINT "telemetry_pkey" TO "telemetry_unpartitioned_pkey";
ALTER INDEX "telemetry_recorded_at_idx" RENAME TO "telemetry_unpartitioned_recorded_at_idx";
ALTER INDEX "telemetry_received_at_idx" RENAME TO "telemetry_unpartitioned_received_at_idx";

CREATE TABLE "telemetry" (
    "controller_id" TEXT COLLATE "C" NOT NULL,
    "message_id" TEXT COLLATE "C" NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "payload" JSONB NOT NULL,

    CONSTRAINT "telemetry_pkey" PRIMARY KEY ("controller_id", "message_id", "recorded_at")
) PARTITION BY RANGE ("recorded_at");
CREATE INDEX "telemetry_recorded_at_idx" ON "telemetry" USING BRIN ("recorded_at");
CREATE INDEX "telemetry_received_at_idx" ON "telemetry" USING BRIN ("received_at");
CREATE TABLE "telemetry_default" PARTITION OF "telemetry" DEFAULT;

-- Creates the partition for one UTC day unless it exists; returns its name. Rows of that day already
-- in the default partition move into it first (ATTACH refuses while the default holds any).
-- Called here and by the bridge's retention extension, which keeps a week of days ahead.
CREATE FUNCTION "aerie_telemetry_partition"(day DATE) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    name TEXT := 'telemetry_p' || to_char(day, 'YYYYMMDD');
    lower TIMESTAMPTZ := day::timestamp AT TIME ZONE 'UTC';
    upper TIMESTAMPTZ := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF to_regclass(quote_ident(name)) IS NOT NULL THEN
        RETURN name;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE "telemetry" INCLUDING DEFAULTS)', name);
    EXECUTE format('WITH moved AS (DELETE FROM "telemetry_default" WHERE "recorded_at" >= %L AND "recorded_at" < %L RETURNING *) INSERT INTO %I SELECT * FROM moved', lower, upper, name);
    EXECUTE format('ALTER TABLE "telemetry" ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, lower, upper);
    RETURN name;
END $$;

SELECT "aerie_telemetry_partition"(d::date)
FROM generate_series(current_date - 1, current_date + 7, interval '1 day') AS d;

-- Existing rows keep their key; those older than yesterday go to the default partition, where the
-- retention sweep reaches them.
INSERT INTO "telemetry" ("controller_id", "message_id", "recorded_at", "received_at", "payload")
SELECT "controller_id", "message_id", "recorded_at", "received_at", "payload" FROM "telemetry_unpartitioned";
DROP TABLE "telemetry_unpartitioned";
