-- CreateTable
CREATE TABLE "device_credentials" (
    "controller_id" TEXT NOT NULL,
    "token_sha256" TEXT NOT NULL,
    "mosquitto_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "device_credentials_pkey" PRIMARY KEY ("controller_id")
);

-- CreateTable
CREATE TABLE "device_presence" (
    "controller_id" TEXT NOT NULL,
    "online" BOOLEAN NOT NULL DEFAULT false,
    "changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "running_version" TEXT,
    "attributes_sha256" TEXT,
    "hawkbit_contact_at" TIMESTAMPTZ(3),

    CONSTRAINT "device_presence_pkey" PRIMARY KEY ("controller_id")
);

-- CreateIndex
CREATE INDEX "device_presence_online_hawkbit_contact_at_idx" ON "device_presence"("online", "hawkbit_contact_at");

-- CreateIndex
CREATE INDEX "telemetry_received_at_idx" ON "telemetry"("received_at");
