-- CreateTable
CREATE TABLE "webhook_subscriptions" (
    "id" UUID NOT NULL,
    "url" TEXT NOT NULL,
    "events" TEXT[],
    "secret" TEXT NOT NULL,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_subscriptions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_deliveries" (
    "id" BIGSERIAL NOT NULL,
    "subscription_id" UUID NOT NULL,
    "event" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_status" INTEGER,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "delivered_at" TIMESTAMPTZ(3),

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device_groups" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "devices" TEXT[],
    "filter" TEXT,
    "target_filter" TEXT,
    "hawkbit_tag_id" INTEGER,
    "status" TEXT NOT NULL DEFAULT 'provisioning',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "device_groups_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "webhook_deliveries_status_next_attempt_at_idx" ON "webhook_deliveries"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "webhook_deliveries_subscription_id_idx" ON "webhook_deliveries"("subscription_id");

-- CreateIndex
CREATE UNIQUE INDEX "device_groups_name_key" ON "device_groups"("name");

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_subscription_id_fkey" FOREIGN KEY ("subscription_id") REFERENCES "webhook_subscriptions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Webhook outbox (not modelled by Prisma): every audit event and every final device-action status is turned
-- into deliveries in the same transaction that writes it, whoever the writer is (API, reconciler, bridge), so no
-- event is lost between the write and the enqueue. The dispatcher (api/webhooks/dispatcher.ts) sends them.
CREATE FUNCTION "aerie_webhook_enqueue"(event TEXT, payload JSONB) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO "webhook_deliveries" ("subscription_id", "event", "payload")
    SELECT s."id", event, payload
    FROM "webhook_subscriptions" s
    WHERE EXISTS (
        SELECT 1 FROM unnest(s."events") AS p
        WHERE p = event OR p = '*' OR (right(p, 2) = '.*' AND event LIKE left(p, length(p) - 1) || '%')
    );
END;
$$;

CREATE FUNCTION "aerie_webhook_from_audit"() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    event TEXT;
BEGIN
    event := CASE NEW."action"
        WHEN 'campaign.create' THEN 'campaign.created'
        WHEN 'campaign.starting' THEN 'campaign.started'
        WHEN 'campaign.pause' THEN 'campaign.paused'
        WHEN 'campaign.paused' THEN 'campaign.paused'
        WHEN 'campaign.resume' THEN 'campaign.resumed'
        WHEN 'campaign.running' THEN CASE WHEN NEW."details"->>'from' = 'paused' THEN 'campaign.resumed' END
        WHEN 'campaign.group.advance' THEN 'campaign.group.advanced'
        WHEN 'campaign.finished' THEN 'campaign.finished'
        WHEN 'campaign.stopped' THEN 'campaign.stopped'
        WHEN 'campaign.aborted' THEN 'campaign.failed'
        WHEN 'campaign.deny' THEN 'campaign.denied'
        WHEN 'campaign.denied' THEN 'campaign.denied'
        WHEN 'device.health' THEN CASE WHEN NEW."details"->>'healthy' = 'false' THEN 'device.unhealthy' END
        ELSE NULL
    END;
    IF event IS NOT NULL THEN
        PERFORM "aerie_webhook_enqueue"(event, jsonb_build_object(
            'event', event, 'occurredAt', to_jsonb(NEW."at"), 'actor', NEW."actor", 'subject', NEW."subject",
            'auditEventId', NEW."id"::TEXT, 'data', NEW."details"));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER "audit_events_webhooks" AFTER INSERT ON "audit_events"
    FOR EACH ROW EXECUTE FUNCTION "aerie_webhook_from_audit"();

CREATE FUNCTION "aerie_webhook_from_device_action"() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    event TEXT;
    controller TEXT;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD."status" IS NOT DISTINCT FROM NEW."status" THEN
        RETURN NULL;
    END IF;
    event := CASE
        WHEN NEW."status" = 'success' THEN 'device.update.succeeded'
        WHEN NEW."status" IN ('failure', 'rejected') THEN 'device.update.failed'
        ELSE NULL
    END;
    IF event IS NOT NULL THEN
        SELECT d."controller_id" INTO controller FROM "devices" d WHERE d."id" = NEW."device_id";
        PERFORM "aerie_webhook_enqueue"(event, jsonb_build_object(
            'event', event, 'occurredAt', to_jsonb(CURRENT_TIMESTAMP), 'subject', 'device:' || controller,
            'data', jsonb_build_object('controllerId', controller, 'actionId', NEW."hawkbit_action_id", 'campaignId', NEW."campaign_id",
                'status', NEW."status", 'detail', NEW."detail")));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER "device_actions_webhooks" AFTER INSERT OR UPDATE OF "status" ON "device_actions"
    FOR EACH ROW EXECUTE FUNCTION "aerie_webhook_from_device_action"();
