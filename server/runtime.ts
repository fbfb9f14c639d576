/**
 * Starts everything a Flowlens process runs once: the store (PostgreSQL or embedded PGlite, with
 * migrations), the demo relay when no HUBBLE_SERVER is set, the ingest, retention and live fan-out.
 * Kept on globalThis because Next.js evaluates modules separately for instrumentation, routes and
 * pages (shared/notes/next-runtime.md).
 */
import { authSettings, describeAuth } from "./auth/auth-settings";
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
import { RelayClient } from "./hubble/relay-client";
import { AgentEventsIngest } from "./ingest/agent-events";
import { IngestService } from "./ingest/ingest-service";
import { LiveHub } from "./live/live-hub";
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
  ingest: IngestService;
  live: LiveHub;
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
  // who may sign in and see what: checked before anything starts, said at every start (docs/security.md)
  const auth = describeAuth(authSettings());
  log[auth.level]({ auth: authSettings().mode }, auth.message);
  const db = await openDatabase({
    url: config.DATABASE_URL,
    dataDir: config.FLOWLENS_DATA_DIR,
    queryTimeoutMs: config.FLOWLENS_QUERY_TIMEOUT,
    apiPoolMax: config.FLOWLENS_API_POOL,
    ingestPoolMax: config.FLOWLENS_INGEST_POOL,
  });
  const applied = await applyMigrations(db);
  log.info({ storage: db.kind, location: db.location, applied }, "store ready");

  const writer = new FlowWriter(db);
  writer.rollupFlushFailed = (err, rows) =>
    log.error({ err: String(err), rows }, "the store refused pending rollup rows; they were dropped and are recounted at the next start");
  const repaired = await writer.repairRollups();
  if (repaired) log.info({ rollups: repaired }, "recounted the newest rollups from stored flows");
  const reader = new FlowReader(db, writer.dimensions);
  const events = new EventsRepo(db);
  events.prime();
  const quarantine = new QuarantineRepo(db);
  const health = new StorageHealth(db);
  const live = new LiveHub({ budgetPerSecond: config.FLOWLENS_LIVE_RATE, queueBytes: config.FLOWLENS_LIVE_QUEUE_MB * 1024 * 1024 });

  let stopDemo: (() => Promise<void>) | undefined;
  let address = config.HUBBLE_SERVER ?? "";
  if (!config.HUBBLE_SERVER) {
    const { startDemoRelay } = await import("./demo/demo-relay");
    const demo = await startDemoRelay({ host: "127.0.0.1", port: 0 });
    address = demo.address;
    stopDemo = () => demo.stop();
    log.info({ address }, "no HUBBLE_SERVER set: started the built-in demo cluster");
  }
  const relay = new RelayClient(address, {
    enabled: config.HUBBLE_TLS,
    caCertFiles: config.HUBBLE_TLS_CA_CERT_FILES,
    clientCertFile: config.HUBBLE_TLS_CLIENT_CERT_FILE,
    clientKeyFile: config.HUBBLE_TLS_CLIENT_KEY_FILE,
    serverName: config.HUBBLE_TLS_SERVER_NAME,
  });
  const ingest = new IngestService({
    relay,
    events,
    writer,
    health,
    onStored: (rows) => live.publish(rows),
    metrics: metrics(),
    log,
    batchSize: config.FLOWLENS_BATCH_SIZE,
    flushMs: config.FLOWLENS_FLUSH_MS,
    queueMax: config.FLOWLENS_QUEUE_MAX,
    initialHistory: config.FLOWLENS_INITIAL_HISTORY,
  });
  const flowsUntil = await events.lastFlowTs();
  ingest.start();
  const agentEventsRepo = new AgentEventsRepo(db);
  const agentEvents = new AgentEventsIngest({ relay, repo: agentEventsRepo, log, firstSinceNs: flowsUntil });
  agentEvents.start();
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
    if (retentionMs === null) return;
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

  let closing: Promise<void> | undefined;
  const shutdown = () =>
    (closing ??= (async () => {
      clearInterval(retentionTimer);
      clearTimeout(warmTimer);
      health.close();
      live.shutdown();
      await ingest.stop();
      await agentEvents.stop();
      relay.close();
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
    live,
    agentEvents: { ingest: agentEvents, repo: agentEventsRepo },
    relay: { address, mode: stopDemo ? "demo" : "relay" },
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
