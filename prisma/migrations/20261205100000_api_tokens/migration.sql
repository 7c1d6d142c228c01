-- API tokens of operators and automation (api/auth/tokens.ts): the secret is shown once and only its
-- sha256 is kept, so a database dump lets nobody in. `role` is one of api/auth/permissions.ts's roles.
CREATE TABLE "api_tokens" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "api_tokens_secret_hash_key" ON "api_tokens"("secret_hash");

-- The audit trail is read by actor, action and time (GET /api/v1/audit).
CREATE INDEX "audit_events_actor_idx" ON "audit_events"("actor");
CREATE INDEX "audit_events_action_idx" ON "audit_events"("action");
