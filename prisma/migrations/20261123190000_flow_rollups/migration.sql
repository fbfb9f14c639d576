-- CreateTable
CREATE TABLE "flow_rollups" (
    "minute" INTEGER NOT NULL,
    "ctx_id" INTEGER NOT NULL,
    "l4" SMALLINT NOT NULL,
    "port" INTEGER NOT NULL,
    "flows" INTEGER NOT NULL,
    "first_ts" BIGINT NOT NULL,
    "last_ts" BIGINT NOT NULL,
    "http_requests" INTEGER NOT NULL DEFAULT 0,
    "http_status" INTEGER[],
    "dns_requests" INTEGER NOT NULL DEFAULT 0,
    "dns_rcodes" INTEGER[],
    "latency_hist" INTEGER[],

    CONSTRAINT "flow_rollups_pkey" PRIMARY KEY ("minute","ctx_id","l4","port")
);

-- CreateIndex
CREATE INDEX "flow_rollups_ctx_id_idx" ON "flow_rollups"("ctx_id");


-- Backfill from flows already stored (same rules as server/ingest/flow-rollup.ts).
INSERT INTO "flow_rollups" ("minute", "ctx_id", "l4", "port", "flows", "first_ts", "last_ts",
  "http_requests", "http_status", "dns_requests", "dns_rcodes", "latency_hist")
SELECT (f.ts / 60000000000)::int, f.ctx_id, f.l4,
  CASE WHEN f.l4 IN (1, 2, 5) THEN CASE WHEN c.is_reply THEN coalesce(f.sport, 0) ELSE coalesce(f.dport, 0) END ELSE 0 END,
  count(*), min(f.ts), max(f.ts),
  count(*) FILTER (WHERE f.l7_kind = 101 AND f.l7_type = 1),
  ARRAY[
    count(*) FILTER (WHERE f.l7_kind = 101 AND f.l7_type = 2 AND f.http_code BETWEEN 100 AND 199),
    count(*) FILTER (WHERE f.l7_kind = 101 AND f.l7_type = 2 AND f.http_code BETWEEN 200 AND 299),
    count(*) FILTER (WHERE f.l7_kind = 101 AND f.l7_type = 2 AND f.http_code BETWEEN 300 AND 399),
    count(*) FILTER (WHERE f.l7_kind = 101 AND f.l7_type = 2 AND f.http_code BETWEEN 400 AND 499),
    count(*) FILTER (WHERE f.l7_kind = 101 AND f.l7_type = 2 AND f.http_code BETWEEN 500 AND 599),
    count(*) FILTER (WHERE f.l7_kind = 101 AND f.l7_type = 2 AND (f.http_code IS NULL OR f.http_code < 100 OR f.http_code > 599))
  ]::int[],
  count(*) FILTER (WHERE f.l7_kind = 100 AND f.l7_type = 1),
  ARRAY[
    count(*) FILTER (WHERE f.l7_kind = 100 AND f.l7_type = 2 AND f.dns_rcode = 0),
    count(*) FILTER (WHERE f.l7_kind = 100 AND f.l7_type = 2 AND f.dns_rcode = 1),
    count(*) FILTER (WHERE f.l7_kind = 100 AND f.l7_type = 2 AND f.dns_rcode = 2),
    count(*) FILTER (WHERE f.l7_kind = 100 AND f.l7_type = 2 AND f.dns_rcode = 3),
    count(*) FILTER (WHERE f.l7_kind = 100 AND f.l7_type = 2 AND f.dns_rcode = 4),
    count(*) FILTER (WHERE f.l7_kind = 100 AND f.l7_type = 2 AND f.dns_rcode = 5),
    count(*) FILTER (WHERE f.l7_kind = 100 AND f.l7_type = 2 AND (f.dns_rcode IS NULL OR f.dns_rcode > 5))
  ]::int[],
  ARRAY[
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 0),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 1),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 2),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 3),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 4),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 5),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 6),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 7),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 8),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 9),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 10),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 11),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 12),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 13),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 14),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 15),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 16),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 17),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 18),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 19),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 20),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 21),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 22),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 23),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 24),
    count(*) FILTER (WHERE f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(25, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = 25)
  ]::int[]
FROM "flows" f JOIN "flow_contexts" c ON c.id = f.ctx_id
GROUP BY 1, 2, 3, 4;
