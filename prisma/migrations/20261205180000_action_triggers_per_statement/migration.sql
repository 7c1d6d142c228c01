-- device_actions rows are inserted in batches (the bridge registers up to 500 actions of a rollout start per
-- statement): their live-event and webhook triggers run once per statement over the inserted rows instead of once
-- per row. A plpgsql call per row cost about a third of a 10,000-action fan-out's time in PostgreSQL. Updates keep
-- their row triggers (transition tables do not go with column lists, and updates come one action at a time).
-- What is announced is unchanged: one notification per inserted row, in insertion order, and the same webhooks.

DROP TRIGGER "device_actions_events" ON "device_actions";
CREATE TRIGGER "device_actions_events" AFTER UPDATE OF "status", "detail" ON "device_actions"
    FOR EACH ROW EXECUTE FUNCTION "aerie_events_action"();

CREATE FUNCTION "aerie_events_actions_inserted"() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    -- A correlated lookup, not a join: the transition table is read in insertion order and so are the notifications.
    PERFORM pg_notify('aerie_events', json_build_object(
        'type', 'action', 'actionId', n."hawkbit_action_id", 'campaignId', n."campaign_id",
        'controllerId', (SELECT d."controller_id" FROM "devices" d WHERE d."id" = n."device_id"),
        'status', n."status", 'detail', left(n."detail", 500), 'at', now())::text)
    FROM "inserted_actions" n;
    RETURN NULL;
END $$;

CREATE TRIGGER "device_actions_events_inserted" AFTER INSERT ON "device_actions"
    REFERENCING NEW TABLE AS "inserted_actions" FOR EACH STATEMENT EXECUTE FUNCTION "aerie_events_actions_inserted"();

DROP TRIGGER "device_actions_webhooks" ON "device_actions";
CREATE TRIGGER "device_actions_webhooks" AFTER UPDATE OF "status" ON "device_actions"
    FOR EACH ROW EXECUTE FUNCTION "aerie_webhook_from_device_action"();

CREATE FUNCTION "aerie_webhook_actions_inserted"() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
    controller TEXT;
BEGIN
    -- Actions are registered as notified, awaiting consent or cancelling: the loop usually finds nothing.
    FOR r IN
        SELECT n.*, CASE WHEN n."status" = 'success' THEN 'device.update.succeeded' ELSE 'device.update.failed' END AS event
        FROM "inserted_actions" n WHERE n."status" IN ('success', 'failure', 'rejected')
    LOOP
        SELECT d."controller_id" INTO controller FROM "devices" d WHERE d."id" = r."device_id";
        PERFORM "aerie_webhook_enqueue"(r.event, jsonb_build_object(
            'event', r.event, 'occurredAt', to_jsonb(CURRENT_TIMESTAMP), 'subject', 'device:' || controller,
            'data', jsonb_build_object('controllerId', controller, 'actionId', r."hawkbit_action_id", 'campaignId', r."campaign_id",
                'status', r."status", 'detail', r."detail")));
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER "device_actions_webhooks_inserted" AFTER INSERT ON "device_actions"
    REFERENCING NEW TABLE AS "inserted_actions" FOR EACH STATEMENT EXECUTE FUNCTION "aerie_webhook_actions_inserted"();
