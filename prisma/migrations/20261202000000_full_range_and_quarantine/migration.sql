-- Full-range values (issue: ingest never wedges): every integer field of the Hubble API is stored
-- at its full range. Policy.revision and LostEvent.num_events_lost are uint64 (up to 2^64−1, past
-- bigint), and the deprecated Flow.drop_reason is uint32 (past int4).
ALTER TABLE "policies" ALTER COLUMN "revision" TYPE NUMERIC(20,0);
ALTER TABLE "flow_contexts" ALTER COLUMN "drop_reason" TYPE BIGINT;
ALTER TABLE "lost_events" ALTER COLUMN "num_lost" TYPE NUMERIC(20,0);

-- The original message bytes of lost events and node status events, so they can be served again
-- exactly as received (the columns are for searching and may have dropped what does not fit).
ALTER TABLE "lost_events" ADD COLUMN "raw" BYTEA;
ALTER TABLE "node_status_events" ADD COLUMN "raw" BYTEA;

-- A flow whose own time is missing or cannot be a position in time (see server/flow-codec/split-flow.ts)
-- is placed at the time it was received, and its own time field, if any, travels in rest unchanged.
ALTER TABLE "flows" ADD COLUMN "ts_synthetic" BOOLEAN;
-- GetFlowsResponse fields the columns cannot give back exactly (a response time outside int64 ns,
-- fields unknown to us), as their original bytes.
ALTER TABLE "flows" ADD COLUMN "resp_rest" BYTEA;

-- Responses the ingest could not store: malformed ones (stage decode) and flows the database
-- refused for a reason that retrying cannot fix (stage write). Kept with their original bytes.
CREATE TABLE "quarantine" (
    "id" BIGSERIAL NOT NULL,
    "received_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
    "stage" TEXT NOT NULL,
    "error" TEXT NOT NULL,
    "node_name" TEXT,
    "key" UUID,
    "ts" BIGINT,
    "bytes" BYTEA NOT NULL,

    CONSTRAINT "quarantine_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "quarantine_ts_idx" ON "quarantine"("ts");
