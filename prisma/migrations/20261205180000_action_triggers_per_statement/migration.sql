-- device_actions rows are inserted in batches (the bridge registers up to 500 actions of a rollout start per
-- statement): their live-event and webhook triggers run once per statement over the inserted rows instead of once
-- per row. A plpgsql call per row cost about a third of a 10,000-action fan-out's time in PostgreSQL. Updates keep
-- their row triggers (transition tables do not go with column lists, and updates come one action at a time).
-- Row and statement triggers share what they announce: one notification per row, in insertion order, and the same
-- webhooks.

-- The live event of an action row (the payload of aerie_events_action since 20261205160000).
CREATE FUNCTION "aerie_action_event"(a "device_actions") RETURNS TEXT LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'type', 'action', 'actionId', a."hawkbit_action_id", 'campaignId', a."campaign_id",
        'controllerId', (SELECT d."controller_id" FROM "devices" d WHERE d."id" = a."device_id"),
        'status', a."status", 'detail', left(a."detail", 500), 'at', now())::text
$$;

CREATE OR REPLACE FUNCTION "aerie_events_action"() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF OLD."status" IS NOT DISTINCT FROM NEW."status" AND OLD."detail" IS NOT DISTINCT FROM NEW."detail" THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('aerie_events', "aerie_action_event"(NEW));
    RETURN NULL;
END $$;

DROP TRIGGER "device_actions_events" ON "device_actions";
CREATE TRIGGER "device_actions_events" AFTER UPDATE OF "status", "detail" ON "device_actions"
    FOR EACH ROW EXECUTE FUNCTION "aerie_events_action"();

CREATE FUNCTION "aerie_events_actions_inserted"() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    -- The transition table is read in insertion order, and so the notifications are sent.
    PERFORM pg_notify('aerie_events', "aerie_action_event"(n)) FROM "inserted_actions" n;
    RETURN NULL;
END $$;

CREATE TRIGGER "device_actions_events_inserted" AFTER INSERT ON "device_actions"
    REFERENCING NEW TABLE AS "inserted_actions" FOR EACH STATEMENT EXECUTE FUNCTION "aerie_events_actions_inserted"();

-- The webhook of an action row that ended (what aerie_webhook_from_device_action did since 20261122100100).
CREATE FUNCTION "aerie_webhook_for_action"(a "device_actions") RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    event TEXT;
    controller TEXT;
BEGIN
    event := CASE
        WHEN a."status" = 'success' THEN 'device.update.succeeded'
        WHEN a."status" IN ('failure', 'rejected') THEN 'device.update.failed'
    END;
    IF event IS NULL THEN
        RETURN;
    END IF;
    SELECT d."controller_id" INTO controller FROM "devices" d WHERE d."id" = a."device_id";
    PERFORM "aerie_webhook_enqueue"(event, jsonb_build_object(
        'event', event, 'occurredAt', to_jsonb(CURRENT_TIMESTAMP), 'subject', 'device:' || controller,
        'data', jsonb_build_object('controllerId', controller, 'actionId', a."hawkbit_action_id", 'campaignId', a."campaign_id",
            'status', a."status", 'detail', a."detail")));
END $$;

CREATE OR REPLACE FUNCTION "aerie_webhook_from_device_action"() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF OLD."status" IS NOT DISTINCT FROM NEW."status" THEN
        RETURN NULL;
    END IF;
    PERFORM "aerie_webhook_for_action"(NEW);
    RETURN NULL;
END $$;

DROP TRIGGER "device_actions_webhooks" ON "device_actions";
CREATE TRIGGER "device_actions_webhooks" AFTER UPDATE OF "status" ON "device_actions"
    FOR EACH ROW EXECUTE FUNCTION "aerie_webhook_from_device_action"();

CREATE FUNCTION "aerie_webhook_actions_inserted"() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    -- Actions are registered as notified, awaiting consent or cancelling: only ended ones are worth a call.
    PERFORM "aerie_webhook_for_action"(n) FROM "inserted_actions" n WHERE n."status" IN ('success', 'failure', 'rejected');
    RETURN NULL;
END $$;

CREATE TRIGGER "device_actions_webhooks_inserted" AFTER INSERT ON "device_actions"
    REFERENCING NEW TABLE AS "inserted_actions" FOR EACH STATEMENT EXECUTE FUNCTION "aerie_webhook_actions_inserted"();
