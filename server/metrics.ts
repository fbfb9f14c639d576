/** Prometheus metrics (prom-client), one registry per process (see notes/next-runtime.md). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

function build() {
  const registry = new Registry();
  // prom-client's default names already start with process_/nodejs_: the prefix is only ours
  collectDefaultMetrics({ register: registry, prefix: "flowlens_" });
  return {
    registry,
    flowsIngested: new Counter({ name: "flowlens_flows_ingested_total", help: "Flows written to the store", registers: [registry] }),
    flowsDuplicate: new Counter({
      name: "flowlens_flows_duplicate_total",
      help: "Flows received again after a reconnect and dropped by their dedup key",
      registers: [registry],
    }),
    flowsQuarantined: new Counter({
      name: "flowlens_flows_quarantined_total",
      help: "Responses the ingest quarantined instead of storing: malformed, or refused by the store for a reason retrying cannot fix (GET /api/quarantine)",
      registers: [registry],
    }),
    lostEvents: new Counter({
      name: "flowlens_lost_events_total",
      help: "Events the Relay or agents reported as lost (sum of num_events_lost)",
      registers: [registry],
    }),
    gaps: new Counter({ name: "flowlens_gaps_total", help: "Windows the Relay could no longer serve", registers: [registry] }),
    reconnects: new Counter({ name: "flowlens_relay_reconnects_total", help: "Relay stream reconnects", registers: [registry] }),
    relayConnected: new Gauge({ name: "flowlens_relay_connected", help: "1 while the Relay stream is up", registers: [registry] }),
    queueDepth: new Gauge({ name: "flowlens_ingest_queue_depth", help: "Flows received but not yet written", registers: [registry] }),
    batchSeconds: new Histogram({
      name: "flowlens_batch_write_seconds",
      help: "Time to write one batch of flows",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: "flowlens_batch_size",
      help: "Flows per written batch",
      buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000],
      registers: [registry],
    }),
    leasesHeld: new Gauge({ name: "flowlens_ingest_leases_held", help: "Ingest leases this replica holds (relay, or one per node)", registers: [registry] }),
    leasesTaken: new Counter({ name: "flowlens_ingest_lease_acquisitions_total", help: "Ingest leases this replica took (at start or over from another replica)", registers: [registry] }),
    leasesLost: new Counter({ name: "flowlens_ingest_lease_losses_total", help: "Ingest leases taken from this replica while it held them", registers: [registry] }),
    remoteBatches: new Counter({ name: "flowlens_live_remote_batches_total", help: "Batches other replicas committed, as heard (NOTIFY)", registers: [registry] }),
    liveClients: new Gauge({ name: "flowlens_live_clients", help: "Open /api/live streams", registers: [registry] }),
    liveBudget: new Gauge({
      name: "flowlens_live_budget",
      help: "Flows per second the live fan-out converts now (shrinks while the process is busy)",
      registers: [registry],
    }),
    liveSent: new Counter({ name: "flowlens_live_flows_sent_total", help: "Flows written to /api/live streams", registers: [registry] }),
    liveSkipped: new Counter({
      name: "flowlens_live_flows_skipped_total",
      help: "Flows announced to /api/live streams as skipped: slow (the stream's queue was full) or rate (not converted)",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof build>;
const KEY = Symbol.for("flowlens.metrics");

export function metrics(): Metrics {
  const g = globalThis as typeof globalThis & { [KEY]?: Metrics };
  return (g[KEY] ??= build());
}
