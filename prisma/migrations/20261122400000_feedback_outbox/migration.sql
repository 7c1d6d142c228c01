-- Device feedback and consent are stored first and relayed to hawkBit afterwards
-- (bridge/extensions/feedback-relay.ts): the device's QoS1 message is acknowledged once it is here, and a
-- hawkBit outage delays the relay instead of turning the report into a dead letter. `kind` says where it goes
-- (feedback: deploymentBase feedback; cancel-answer: cancelAction feedback; consent: confirmationBase),
-- `status` is the device's own word (downloading … success, or accept/defer/reject), `ddi` the exact body.
ALTER TABLE "action_feedback"
    ADD COLUMN "kind" TEXT NOT NULL DEFAULT 'feedback',
    ADD COLUMN "status" TEXT,
    ADD COLUMN "ddi" JSONB,
    ADD COLUMN "relayed_at" TIMESTAMPTZ(3),
    ADD COLUMN "relay_attempts" INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN "relay_error" TEXT;

-- Every earlier row was relayed before it was stored.
UPDATE "action_feedback" SET "relayed_at" = "received_at";

-- The relay's queue: small, whatever the table's size.
CREATE INDEX "action_feedback_pending_idx" ON "action_feedback" ("id") WHERE "relayed_at" IS NULL AND "relay_error" IS NULL;
