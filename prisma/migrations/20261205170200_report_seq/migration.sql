-- A device's report counter (protocol v1 `seq`, feedback and consent). With several bridge instances on shared
-- subscriptions, one device's reports can reach two instances and be stored out of order; the relay sends each
-- action's reports in seq order and the action's state moves only forward.
ALTER TABLE "action_feedback" ADD COLUMN "seq" BIGINT;
-- The highest seq applied to the action's state, and the highest relayed to hawkBit.
ALTER TABLE "device_actions" ADD COLUMN "applied_seq" BIGINT;
ALTER TABLE "device_actions" ADD COLUMN "relayed_seq" BIGINT;
