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
import type { FlowReader } from "./db/flows/flow-reader";
import { FlowWriter } from "./db/flows/flow-writer";
import { createRepos, type Repos } from "./db/repos";
import { AgentEventsRepo } from "./db/agent-events-repo";
import { applyMigrations } from "./db/migrate";
import { QuarantineRepo } from "./db/quarantine-repo";
import { StorageHealth } from "./db/storage-health";
import { StreamEventsRepo } from "./db/stream-events-repo";
import { startGrpcServer, type GrpcDeps, type GrpcServer } from "./hubble/grpc-server";
import { tokenAuthorize } from "./hubble/grpc-auth";
import { grpcAuthorize } from "./auth/grpc-auth";
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
  /** every read repository and its caches, one set per process */
  repos: Repos;
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
  /** the Observer gRPC API (FLOWLENS_GRPC_ADDR): where it listens, or why it does not */
  grpc: { state: "serving"; address: string; tls: GrpcServer["tls"] } | { state: "off" } | { state: "failed"; address: string; error: string };
  shutdown: () => Promise<void>;
}

const KEY = Symbol.for("flowlens.runtime");
/** package.json's version (ServerStatus.version, GetNodes) */
const FLOWLENS_VERSION = process.env.npm_package_version ?? "0.1.0";
const STARTED_AT = Date.now();
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
  // agent events are wired below; the policy view asks for them only when a request comes
  const repos = createRepos(db, writer, {
    available: async () => agentEvents.available() || (await agentEventsRepo.count()) > 0,
    policyEvents: (sinceNs, untilNs, signal) => agentEventsRepo.policyEvents(sinceNs, untilNs, signal),
  });
  const reader = repos.flows;
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
      ...(config.FLOWLENS_INGEST === "relay"
        ? { agentEvents: () => agentEvents }
        : { nodeAgentEvents: (node: string, agent: RelayClient) => new AgentEventsIngest({ relay: agent, repo: agentEventsRepo, log, firstSinceNs: flowsUntil, nodeName: node }) }),
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
      // SSE viewers and gRPC follow streams (taps) both want the batches
      watching: () => live.listeners > 0 || live.tapCount > 0,
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
      await repos.graph.warm();
      log.info({ ms: Date.now() - started }, "map caches warmed");
      started = Date.now();
      const messages = await repos.dns.warm();
      log.info({ ms: Date.now() - started, messages }, "DNS caches warmed");
    } catch (e) {
      log.warn({ err: String(e) }, "warming the map and DNS caches failed");
    }
  }, 1000);
  warmTimer.unref();

  let grpcServer: GrpcServer | undefined;
  let grpcState: Runtime["grpc"] = { state: "off" };
  // web replicas (and the one-process default) serve it; ingest replicas store and serve nothing
  if (config.FLOWLENS_GRPC_ADDR !== "off" && role !== "ingest") {
    const tls = config.FLOWLENS_GRPC_TLS_CERT_FILE
      ? { certFile: config.FLOWLENS_GRPC_TLS_CERT_FILE, keyFile: config.FLOWLENS_GRPC_TLS_KEY_FILE!, clientCaFiles: config.FLOWLENS_GRPC_TLS_CLIENT_CA_FILES }
      : undefined;
    try {
      grpcServer = await startGrpcServer({ address: config.FLOWLENS_GRPC_ADDR, tls, authorize: tokenAuthorize((creds) => grpcAuthorize(db, creds)) }, runtimeGrpcDeps({ config, db, reader, events, live, ingest }));
      grpcState = { state: "serving", address: grpcServer.address, tls: grpcServer.tls };
      log.info({ address: grpcServer.address, tls: grpcServer.tls }, "serving the Observer gRPC API (hubble observe --server …)");
    } catch (e) {
      // the dashboard and the ingest work without it: say so in the log and in /api/status
      grpcState = { state: "failed", address: config.FLOWLENS_GRPC_ADDR, error: String(e) };
      log.error({ address: config.FLOWLENS_GRPC_ADDR, err: String(e) }, "could not serve the Observer gRPC API");
    }
  }

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
      await grpcServer?.stop();
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
    repos,
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
    grpc: grpcState,
    shutdown,
  };
}

/** What the gRPC server reads, from the runtime's parts (also for tests that start a second server). */
export function runtimeGrpcDeps(rt: Pick<Runtime, "config" | "db" | "reader" | "events" | "live" | "ingest">): GrpcDeps {
  return {
    reader: rt.reader,
    events: new StreamEventsRepo(rt.db),
    live: rt.live,
    nodeName: "flowlens",
    followBytes: rt.config.FLOWLENS_GRPC_FOLLOW_QUEUE_MB * 1024 * 1024,
    flowCount: () => rt.events.flowCount(),
    flowsRate: () => rt.ingest.rate.perSecond(),
    relayNodes: () => [...rt.ingest.nodes.values()],
    version: `flowlens ${FLOWLENS_VERSION}`,
    startedAt: STARTED_AT,
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
