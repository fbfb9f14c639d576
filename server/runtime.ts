/**
 * Starts everything a Flowlens process runs once: the store (PostgreSQL or embedded PGlite, with
 * migrations), the demo relay when no HUBBLE_SERVER is set, the ingest, retention and live fan-out.
 * Kept on globalThis because Next.js evaluates modules separately for instrumentation, routes and
 * pages (shared/notes/next-runtime.md).
 */
import { loadConfig, type Config } from "./config";
import { openDatabase, type Database } from "./db/connection";
import { EventsRepo } from "./db/events-repo";
import { FlowReader } from "./db/flow-reader";
import { FlowWriter } from "./db/flow-writer";
import { dnsRepoFor } from "./db/dns-repo";
import { graphRepoFor } from "./db/graph-repo";
import { AgentEventsRepo } from "./db/agent-events-repo";
import { applyMigrations } from "./db/migrate";
import { QuarantineRepo } from "./db/quarantine-repo";
import { StorageHealth } from "./db/storage-health";
import { randomBytes } from "node:crypto";
import os from "node:os";
import { batchChannel, notifyBatch, parseBatchNotice } from "./db/batch-notify";
import { LeaseRepo } from "./db/lease-repo";
import { RelayClient } from "./hubble/relay-client";
import { AgentEventsIngest } from "./ingest/agent-events";
import { startIngest, type IngestSetup } from "./ingest/ingest-setup";
import type { IngestService } from "./ingest/ingest-service";
import { RemoteIngestView, type IngestView } from "./ingest/ingest-views";
import type { LeasedWork } from "./ingest/leased-work";
import { LiveHub } from "./live/live-hub";
import { RemoteBatches } from "./live/remote-batches";
import { logger } from "./log";
import { metrics } from "./metrics";

export interface Runtime {
  config: Config;
  db: Database;
  reader: FlowReader;
  writer: FlowWriter;
  events: EventsRepo;
  quarantine: QuarantineRepo;
  /** is the store answering (status, pages) */
  health: StorageHealth;
  /** what this process ingests (web: what the ingest replicas store, as heard) */
  ingest: IngestView;
  /** relay mode: the stream itself (null in web replicas and per-node ingest) */
  ingestService: IngestService | null;
  live: LiveHub;
  role: Config["FLOWLENS_ROLE"];
  /** this replica's name in the lease table and in batch notices */
  instance: string;
  /** PostgreSQL: this replica's share of the ingest leases */
  leases: LeasedWork | null;
  /** PostgreSQL, web and all: batches other processes committed, for live views */
  remote: RemoteBatches | null;
  /** agents' policy events for /policies' moments, where the server serves them */
  agentEvents: { ingest: AgentEventsIngest; repo: AgentEventsRepo };
  relay: { address: string; mode: "relay" | "demo" };
  shutdown: () => Promise<void>;
}

const KEY = Symbol.for("flowlens.runtime");
type G = typeof globalThis & { [KEY]?: Promise<Runtime> };

async function start(): Promise<Runtime> {
  const log = logger();
  const config = loadConfig();
  const db = await openDatabase({
    url: config.DATABASE_URL,
    dataDir: config.FLOWLENS_DATA_DIR,
    queryTimeoutMs: config.FLOWLENS_QUERY_TIMEOUT,
    apiPoolMax: config.FLOWLENS_API_POOL,
    ingestPoolMax: config.FLOWLENS_INGEST_POOL,
  });
  const applied = await applyMigrations(db, undefined, { citus: config.FLOWLENS_CITUS, shardCount: config.FLOWLENS_CITUS_SHARDS });
  log.info({ storage: db.kind, location: db.location, applied }, "store ready");

  const role = config.FLOWLENS_ROLE;
  const ingests = role !== "web";
  // several processes share a PostgreSQL store: leases, and committed batches announced by NOTIFY
  const shared = db.kind === "postgres";
  const instance = config.FLOWLENS_INSTANCE ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  const channel = batchChannel(db.schema);

  const writer = new FlowWriter(db);
  writer.rollupFlushFailed = (err, rows) =>
    log.error({ err: String(err), rows }, "the store refused pending rollup rows; they were dropped and are recounted at the next start");
  if (!shared) {
    // on PostgreSQL this runs when the ingest lease is taken (server/ingest/ingest-setup.ts)
    const repaired = await writer.repairRollups();
    if (repaired) log.info({ rollups: repaired }, "recounted the newest rollups from stored flows");
  }
  if (shared && ingests) writer.announce = (tx, b) => notifyBatch(tx, channel, { origin: instance, ...b, rollupsFlushed: b.rollupsFlushed });
  const reader = new FlowReader(db, writer.dimensions);
  const events = new EventsRepo(db);
  events.prime();
  const quarantine = new QuarantineRepo(db);
  const health = new StorageHealth(db);
  const live = new LiveHub({ budgetPerSecond: config.FLOWLENS_LIVE_RATE, queueBytes: config.FLOWLENS_LIVE_QUEUE_MB * 1024 * 1024 });

  let stopDemo: (() => Promise<void>) | undefined;
  let address = config.HUBBLE_SERVER ?? "";
  if (!config.HUBBLE_SERVER && ingests) {
    const { startDemoRelay } = await import("./demo/demo-relay");
    const demo = await startDemoRelay({ host: "127.0.0.1", port: 0 });
    address = demo.address;
    stopDemo = () => demo.stop();
    log.info({ address }, "no HUBBLE_SERVER set: started the built-in demo cluster");
  }
  const tls = {
    enabled: config.HUBBLE_TLS,
    caCertFiles: config.HUBBLE_TLS_CA_CERT_FILES,
    clientCertFile: config.HUBBLE_TLS_CLIENT_CERT_FILE,
    clientKeyFile: config.HUBBLE_TLS_CLIENT_KEY_FILE,
    serverName: config.HUBBLE_TLS_SERVER_NAME,
  };
  const flowsUntil = await events.lastFlowTs();
  const agentEventsRepo = new AgentEventsRepo(db);
  // a Relay answers UNIMPLEMENTED; an agent's own server and the demo cluster serve agent events
  const agentRelay = new RelayClient(address || "127.0.0.1:1", tls);
  const agentEvents = new AgentEventsIngest({ relay: agentRelay, repo: agentEventsRepo, log, firstSinceNs: flowsUntil });

  let ingestSetup: IngestSetup | undefined;
  let stopView: (() => void) | undefined;
  let ingest: IngestView;
  if (ingests) {
    ingestSetup = startIngest({
      config,
      db,
      events,
      writer,
      health,
      metrics: metrics(),
      log,
      instance,
      address,
      tls,
      onStored: (rows) => live.publish(rows),
      ...(config.FLOWLENS_INGEST === "relay" ? { agentEvents: () => agentEvents } : {}),
    });
    ingest = ingestSetup.view;
  } else {
    const leases = new LeaseRepo(db, instance, config.FLOWLENS_LEASE_TTL);
    const view = new RemoteIngestView(async () => (await leases.live("")).filter((l) => !l.name.startsWith("member:")).map((l) => l.holder));
    view.start();
    stopView = () => view.stop();
    ingest = view;
  }

  // flows other processes store reach this process's live views (and the map's newest minutes)
  let listening: { close(): Promise<void> } | undefined;
  let remote: RemoteBatches | undefined;
  if (shared && role !== "ingest" && db.listen) {
    const remoteView = ingest instanceof RemoteIngestView ? ingest : null;
    const batches = new RemoteBatches({
      self: instance,
      reader,
      watching: () => live.listeners > 0,
      publish: (rows) => live.publish(rows),
      rollupsChanged: () => writer.rollupFeed.readersStartOver(),
      log,
    });
    remote = batches;
    listening = await db.listen(channel, (payload) => {
      const n = parseBatchNotice(payload);
      if (!n) return;
      if (n.origin !== instance) remoteView?.heard(n.count);
      batches.onNotice(n);
    });
  }
  // the map's and the DNS page's first open after a start would otherwise decode every context and
  // read the last hour (map) or the last 15 minutes of DNS flows: read them in the background
  const warmTimer = setTimeout(async () => {
    let started = Date.now();
    try {
      await graphRepoFor({ db, writer }).warm();
      log.info({ ms: Date.now() - started }, "map caches warmed");
      started = Date.now();
      const messages = await dnsRepoFor({ db, writer }).warm();
      log.info({ ms: Date.now() - started, messages }, "DNS caches warmed");
    } catch (e) {
      log.warn({ err: String(e) }, "warming the map and DNS caches failed");
    }
  }, 1000);
  warmTimer.unref();

  const retentionMs = config.FLOWLENS_RETENTION;
  const applyRetention = async () => {
    // web replicas leave the store's shape to the ingest replicas
    if (retentionMs === null || !ingests) return;
    const before = BigInt(Date.now() - retentionMs) * 1_000_000n;
    const dropped = await writer.dropBefore(before).catch((e) => {
      log.error({ err: String(e) }, "retention failed");
      return [];
    });
    if (dropped.length) log.info({ dropped }, "retention dropped old partitions");
  };
  await applyRetention();
  const retentionTimer = setInterval(applyRetention, 3600_000);
  retentionTimer.unref();
  log.info({ role, ingest: ingests ? config.FLOWLENS_INGEST : "none", instance, leases: shared && ingests }, "flowlens started");

  let closing: Promise<void> | undefined;
  const shutdown = () =>
    (closing ??= (async () => {
      clearInterval(retentionTimer);
      clearTimeout(warmTimer);
      health.close();
      live.shutdown();
      stopView?.();
      await listening?.close();
      await ingestSetup?.stop();
      await agentEvents.stop();
      agentRelay.close();
      await stopDemo?.();
      await db.close();
      log.info("flowlens stopped");
    })());

  return {
    config,
    db,
    reader,
    writer,
    events,
    quarantine,
    health,
    ingest,
    ingestService: ingestSetup?.service ?? null,
    live,
    role,
    instance,
    leases: ingestSetup?.leases ?? null,
    remote: remote ?? null,
    agentEvents: { ingest: agentEvents, repo: agentEventsRepo },
    relay: { address: config.FLOWLENS_INGEST === "per-node" && ingests ? (config.HUBBLE_PEER_SERVER ?? address) : address, mode: stopDemo ? "demo" : "relay" },
    shutdown,
  };
}

/** The process's runtime, started on first use. */
export function getRuntime(): Promise<Runtime> {
  const g = globalThis as G;
  if (!g[KEY]) {
    g[KEY] = start();
    g[KEY].catch((e) => {
      logger().fatal({ err: String(e) }, "flowlens could not start");
      delete g[KEY];
    });
  }
  return g[KEY];
}

/** SIGTERM/SIGINT: stop the stream, write what was received, close the store, then exit. */
export function installSignalHandlers(): void {
  const FLAG = Symbol.for("flowlens.signals");
  const g = globalThis as typeof globalThis & { [FLAG]?: boolean };
  if (g[FLAG]) return;
  g[FLAG] = true;
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.once(sig, () => {
      logger().info({ signal: sig }, "shutting down");
      const rt = (globalThis as G)[KEY];
      const done = rt ? rt.then((r) => r.shutdown()) : Promise.resolve();
      const force = setTimeout(() => process.exit(1), 15_000);
      force.unref();
      done.then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}
