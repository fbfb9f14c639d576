-- Ingest leases (docs/adr/0011-roles-leases-fanout.md): who ingests what. A row per lease
-- ("relay", or "node:<name>" in per-node ingest) and per live ingest replica ("member:<id>").
-- Times are the database's clock, so replicas' clocks never need to agree.
CREATE TABLE "ingest_leases" (
    "name" TEXT NOT NULL,
    "holder" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,
    "acquired_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ingest_leases_pkey" PRIMARY KEY ("name")
);

-- Per-node ingest: the newest stored flow of each node's stream, written in the transaction of the
-- batch that stored it (the resume point of that node, whoever ingests it next).
CREATE TABLE "ingest_progress" (
    "stream" TEXT NOT NULL,
    "last_ts" BIGINT NOT NULL,

    CONSTRAINT "ingest_progress_pkey" PRIMARY KEY ("stream")
);
