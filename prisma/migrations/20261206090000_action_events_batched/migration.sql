-- The rows one statement inserts into device_actions are announced in a few notifications instead of one each
-- (core/db/live-events.ts reads them back as per-row "action" events). A rollout start registers 500 actions per
-- statement, and a pg_notify per row cost about a quarter of the time each row took to register.
-- A notification holds rows of about 4,500 bytes in all, in insertion order: PostgreSQL refuses payloads of 8,000
-- bytes or more, and one row is at most about 3,200 (a 256-character controller id and 500 characters of detail, 4
-- bytes each at worst). Each row has the fields of "aerie_action_event" but type and time: "at", the statement's
-- time, is given once.
CREATE OR REPLACE FUNCTION "aerie_events_actions_inserted"() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('aerie_events', json_build_object('type', 'action.batch', 'at', now(), 'actions', json_agg(r."event" ORDER BY r."ord"))::text)
    FROM (
        SELECT e."event", e."ord", (sum(octet_length(e."event"::text)) OVER (ORDER BY e."ord") - 1) / 4500 AS "chunk"
        FROM (
            SELECT json_build_object('actionId', n."hawkbit_action_id", 'campaignId', n."campaign_id", 'controllerId', d."controller_id",
                'status', n."status", 'detail', left(n."detail", 500)) AS "event", n."ord"
            -- Numbered before the join, which may read the rows in another order: the transition table is in insertion order.
            FROM (SELECT i.*, row_number() OVER () AS "ord" FROM "inserted_actions" i) n
            LEFT JOIN "devices" d ON d."id" = n."device_id"
        ) e
    ) r
    GROUP BY r."chunk"
    ORDER BY r."chunk";
    RETURN NULL;
END $$;
