-- Agent events (GetAgentEvents): agents report when a policy changed (POLICY_UPDATED / _DELETED, with
-- the new revision) and when they started. /policies uses them, where the Relay serves them, for the
-- moments before/after compares. A redelivered event (a resume overlaps) is the same (ts, hash).
CREATE TABLE "agent_events" (
    "id" SERIAL NOT NULL,
    "received_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ts" BIGINT NOT NULL,
    "hash" BYTEA NOT NULL,
    "node_name" TEXT,
    "type" INTEGER NOT NULL,
    "revision" NUMERIC(20, 0),
    "policy" TEXT,
    "labels" TEXT[],
    "raw" BYTEA NOT NULL,

    CONSTRAINT "agent_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "agent_events_ts_hash_key" ON "agent_events"("ts", "hash");
