-- Live events (GET /api/v1/events): changes operators watch are announced on the channel "aerie_events" by
-- triggers, so every writer (API, campaign reconciler, bridge, on any instance) is heard without a code path of
-- its own. A NOTIFY is sent only at commit and costs nothing while nobody listens. Payloads stay far below
-- PostgreSQL's 8000-byte limit: ids, states and a short detail only.
CREATE FUNCTION "aerie_events_campaign"() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('aerie_events', json_build_object(
        'type', 'campaign', 'campaignId', NEW."id", 'name', NEW."name", 'status', NEW."status",
        'pausedBy', NEW."paused_by", 'statusReason', left(NEW."status_reason", 500), 'at', now())::text);
    RETURN NULL;
END $$;

CREATE TRIGGER "campaigns_events" AFTER INSERT OR UPDATE OF "status", "paused_by", "status_reason" ON "campaigns"
    FOR EACH ROW EXECUTE FUNCTION "aerie_events_campaign"();

CREATE FUNCTION "aerie_events_action"() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD."status" IS NOT DISTINCT FROM NEW."status" AND OLD."detail" IS NOT DISTINCT FROM NEW."detail" THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('aerie_events', json_build_object(
        'type', 'action', 'actionId', NEW."hawkbit_action_id", 'campaignId', NEW."campaign_id",
        'controllerId', (SELECT "controller_id" FROM "devices" WHERE "id" = NEW."device_id"),
        'status', NEW."status", 'detail', left(NEW."detail", 500), 'at', now())::text);
    RETURN NULL;
END $$;

CREATE TRIGGER "device_actions_events" AFTER INSERT OR UPDATE OF "status", "detail" ON "device_actions"
    FOR EACH ROW EXECUTE FUNCTION "aerie_events_action"();

CREATE FUNCTION "aerie_events_presence"() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD."online" IS NOT DISTINCT FROM NEW."online" THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('aerie_events', json_build_object(
        'type', 'presence', 'controllerId', NEW."controller_id", 'online', NEW."online", 'at', NEW."changed_at")::text);
    RETURN NULL;
END $$;

CREATE TRIGGER "device_presence_events" AFTER INSERT OR UPDATE OF "online" ON "device_presence"
    FOR EACH ROW EXECUTE FUNCTION "aerie_events_presence"();
