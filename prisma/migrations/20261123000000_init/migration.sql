-- Flowlens initial schema. Generated with `prisma migrate diff`, then edited by hand:
-- flows is range-partitioned by day on ts (ns since the epoch). Daily partitions are created
-- on demand by the writer and dropped by retention (server/db/flow-partitions.ts).

-- CreateTable
CREATE TABLE "endpoints" (
    "id" SERIAL NOT NULL,
    "hash" BYTEA NOT NULL,
    "ep_id" BIGINT,
    "identity" BIGINT,
    "namespace" TEXT,
    "pod_name" TEXT,
    "labels" TEXT[],
    "workloads" TEXT[],
    "cluster" TEXT,
    "first_seen" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "endpoints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "policies" (
    "id" SERIAL NOT NULL,
    "hash" BYTEA NOT NULL,
    "name" TEXT NOT NULL,
    "namespace" TEXT,
    "kind" TEXT,
    "revision" BIGINT,
    "labels" TEXT[],
    "first_seen" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "policies_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "flow_contexts" (
    "id" SERIAL NOT NULL,
    "hash" BYTEA NOT NULL,
    "raw" BYTEA NOT NULL,
    "node_name" TEXT,
    "response_node_name" TEXT,
    "verdict" INTEGER NOT NULL,
    "drop_reason" INTEGER NOT NULL DEFAULT 0,
    "flow_type" INTEGER NOT NULL DEFAULT 0,
    "event_type" INTEGER,
    "event_sub_type" INTEGER,
    "direction" INTEGER NOT NULL DEFAULT 0,
    "is_reply" BOOLEAN,
    "trace_point" INTEGER NOT NULL DEFAULT 0,
    "ip_version" INTEGER NOT NULL DEFAULT 0,
    "src_ip" INET,
    "dst_ip" INET,
    "src_endpoint_id" INTEGER,
    "dst_endpoint_id" INTEGER,
    "src_names" TEXT[],
    "dst_names" TEXT[],
    "src_service" TEXT,
    "dst_service" TEXT,
    "ingress_allowed_by" INTEGER[],
    "egress_allowed_by" INTEGER[],
    "ingress_denied_by" INTEGER[],
    "egress_denied_by" INTEGER[],
    "first_seen" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "flow_contexts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "summaries" (
    "id" SERIAL NOT NULL,
    "hash" BYTEA NOT NULL,
    "text" TEXT NOT NULL,

    CONSTRAINT "summaries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "flows" (
    "ts" BIGINT NOT NULL,
    "key" UUID NOT NULL,
    "ctx_id" INTEGER NOT NULL,
    "l4" SMALLINT NOT NULL DEFAULT 0,
    "sport" INTEGER,
    "dport" INTEGER,
    "tcp_flags" SMALLINT,
    "key_derived" BOOLEAN NOT NULL DEFAULT false,
    "summary_id" INTEGER,
    "l7_type" INTEGER,
    "l7_kind" SMALLINT,
    "latency_ns" BIGINT,
    "dns_query" TEXT,
    "dns_rcode" INTEGER,
    "http_code" INTEGER,
    "http_method" TEXT,
    "http_url" TEXT,
    "l7" BYTEA,
    "rest" BYTEA,
    "resp_ts" BIGINT
) PARTITION BY RANGE ("ts");

-- CreateTable
CREATE TABLE "lost_events" (
    "id" SERIAL NOT NULL,
    "received_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "time" TIMESTAMPTZ(6),
    "node_name" TEXT,
    "source" INTEGER NOT NULL DEFAULT 0,
    "num_lost" BIGINT NOT NULL,
    "cpu" INTEGER,
    "first" TIMESTAMPTZ(6),
    "last" TIMESTAMPTZ(6),

    CONSTRAINT "lost_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "node_status_events" (
    "id" SERIAL NOT NULL,
    "received_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "time" TIMESTAMPTZ(6),
    "state" INTEGER NOT NULL,
    "node_names" TEXT[],
    "message" TEXT,

    CONSTRAINT "node_status_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "gaps" (
    "id" SERIAL NOT NULL,
    "detected_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "node_name" TEXT,
    "from_ts" BIGINT NOT NULL,
    "to_ts" BIGINT NOT NULL,
    "reason" TEXT NOT NULL,

    CONSTRAINT "gaps_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "endpoints_hash_key" ON "endpoints"("hash");

-- CreateIndex
CREATE INDEX "endpoints_namespace_pod_name_idx" ON "endpoints"("namespace", "pod_name");

-- CreateIndex
CREATE UNIQUE INDEX "policies_hash_key" ON "policies"("hash");

-- CreateIndex
CREATE INDEX "policies_name_namespace_idx" ON "policies"("name", "namespace");

-- CreateIndex
CREATE UNIQUE INDEX "flow_contexts_hash_key" ON "flow_contexts"("hash");

-- CreateIndex
CREATE INDEX "flow_contexts_verdict_idx" ON "flow_contexts"("verdict");

-- CreateIndex
CREATE INDEX "flow_contexts_src_endpoint_id_idx" ON "flow_contexts"("src_endpoint_id");

-- CreateIndex
CREATE INDEX "flow_contexts_dst_endpoint_id_idx" ON "flow_contexts"("dst_endpoint_id");

-- CreateIndex
CREATE UNIQUE INDEX "summaries_hash_key" ON "summaries"("hash");

-- CreateIndex
CREATE INDEX "flows_ts_idx" ON "flows"("ts");

-- CreateIndex
CREATE INDEX "flows_ctx_id_ts_idx" ON "flows"("ctx_id", "ts");

-- CreateIndex
CREATE INDEX "lost_events_received_at_idx" ON "lost_events"("received_at");

-- CreateIndex
CREATE INDEX "node_status_events_received_at_idx" ON "node_status_events"("received_at");

-- CreateIndex
CREATE INDEX "gaps_detected_at_idx" ON "gaps"("detected_at");

