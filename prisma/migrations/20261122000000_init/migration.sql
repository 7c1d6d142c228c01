-- CreateTable
CREATE TABLE "devices" (
    "id" UUID NOT NULL,
    "controller_id" TEXT NOT NULL,
    "namespace" TEXT NOT NULL DEFAULT 'default',
    "name" TEXT,
    "hardware" TEXT,
    "update_client" TEXT,
    "attributes" JSONB NOT NULL DEFAULT '{}',
    "last_seen_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "devices_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device_identifiers" (
    "device_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "value" TEXT NOT NULL,

    CONSTRAINT "device_identifiers_pkey" PRIMARY KEY ("device_id","kind")
);

-- CreateTable
CREATE TABLE "releases" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "description" TEXT,
    "hawkbit_software_module_id" INTEGER,
    "hawkbit_distribution_set_id" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "releases_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "artifacts" (
    "id" UUID NOT NULL,
    "release_id" UUID,
    "filename" TEXT NOT NULL,
    "content_type" TEXT NOT NULL DEFAULT 'application/octet-stream',
    "hardware_type" TEXT,
    "s3_key" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,
    "hawkbit_artifact_id" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "artifacts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "signatures" (
    "id" UUID NOT NULL,
    "artifact_id" UUID NOT NULL,
    "format" TEXT NOT NULL,
    "key_name" TEXT NOT NULL,
    "key_version" INTEGER NOT NULL,
    "algorithm" TEXT NOT NULL,
    "digest" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "certificate" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "signatures_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "campaigns" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "release_id" UUID NOT NULL,
    "target_filter" TEXT NOT NULL,
    "groups" JSONB NOT NULL,
    "options" JSONB NOT NULL DEFAULT '{}',
    "status" TEXT NOT NULL DEFAULT 'created',
    "hawkbit_rollout_id" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "campaigns_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device_actions" (
    "id" UUID NOT NULL,
    "hawkbit_action_id" INTEGER NOT NULL,
    "device_id" UUID NOT NULL,
    "campaign_id" UUID,
    "status" TEXT NOT NULL,
    "detail" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "device_actions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "action_feedback" (
    "id" BIGSERIAL NOT NULL,
    "action_id" UUID NOT NULL,
    "message_id" TEXT,
    "execution" TEXT NOT NULL,
    "result" TEXT NOT NULL,
    "progress" INTEGER,
    "details" JSONB NOT NULL DEFAULT '[]',
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "action_feedback_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "telemetry" (
    "id" BIGSERIAL NOT NULL,
    "controller_id" TEXT NOT NULL,
    "message_id" TEXT NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "payload" JSONB NOT NULL,

    CONSTRAINT "telemetry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_events" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "details" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dead_letters" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "source" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "client_id" TEXT,
    "payload" BYTEA NOT NULL,

    CONSTRAINT "dead_letters_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "devices_controller_id_key" ON "devices"("controller_id");

-- CreateIndex
CREATE INDEX "devices_namespace_idx" ON "devices"("namespace");

-- CreateIndex
CREATE UNIQUE INDEX "device_identifiers_kind_value_key" ON "device_identifiers"("kind", "value");

-- CreateIndex
CREATE UNIQUE INDEX "releases_name_version_key" ON "releases"("name", "version");

-- CreateIndex
CREATE UNIQUE INDEX "artifacts_s3_key_key" ON "artifacts"("s3_key");

-- CreateIndex
CREATE INDEX "artifacts_release_id_idx" ON "artifacts"("release_id");

-- CreateIndex
CREATE INDEX "signatures_artifact_id_idx" ON "signatures"("artifact_id");

-- CreateIndex
CREATE UNIQUE INDEX "campaigns_name_key" ON "campaigns"("name");

-- CreateIndex
CREATE INDEX "campaigns_status_idx" ON "campaigns"("status");

-- CreateIndex
CREATE UNIQUE INDEX "device_actions_hawkbit_action_id_key" ON "device_actions"("hawkbit_action_id");

-- CreateIndex
CREATE INDEX "device_actions_device_id_idx" ON "device_actions"("device_id");

-- CreateIndex
CREATE INDEX "device_actions_campaign_id_status_idx" ON "device_actions"("campaign_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "action_feedback_action_id_message_id_key" ON "action_feedback"("action_id", "message_id");

-- CreateIndex
CREATE UNIQUE INDEX "telemetry_controller_id_message_id_key" ON "telemetry"("controller_id", "message_id");

-- CreateIndex
CREATE INDEX "telemetry_recorded_at_idx" ON "telemetry"("recorded_at");

-- CreateIndex
CREATE INDEX "audit_events_subject_idx" ON "audit_events"("subject");

-- CreateIndex
CREATE INDEX "audit_events_at_idx" ON "audit_events"("at");

-- CreateIndex
CREATE INDEX "dead_letters_at_idx" ON "dead_letters"("at");

-- AddForeignKey
ALTER TABLE "device_identifiers" ADD CONSTRAINT "device_identifiers_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "artifacts" ADD CONSTRAINT "artifacts_release_id_fkey" FOREIGN KEY ("release_id") REFERENCES "releases"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "signatures" ADD CONSTRAINT "signatures_artifact_id_fkey" FOREIGN KEY ("artifact_id") REFERENCES "artifacts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "campaigns" ADD CONSTRAINT "campaigns_release_id_fkey" FOREIGN KEY ("release_id") REFERENCES "releases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device_actions" ADD CONSTRAINT "device_actions_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device_actions" ADD CONSTRAINT "device_actions_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "action_feedback" ADD CONSTRAINT "action_feedback_action_id_fkey" FOREIGN KEY ("action_id") REFERENCES "device_actions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
