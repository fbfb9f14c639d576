/**
 * Starts what this process ingests, by role and mode (docs/adr/0011-roles-leases-fanout.md):
 * - FLOWLENS_INGEST=relay: one GetFlows stream from HUBBLE_SERVER. On PostgreSQL it runs while this
 *   replica holds the "relay" lease, so with several replicas exactly one ingests.
 * - FLOWLENS_INGEST=per-node: the Peer service lists the agents; one stream per agent, each under its
 *   own "node:<name>" lease on PostgreSQL (split across replicas), each resuming from its own
 *   progress row with the same dedup and gap rules. Embedded PGlite (one process) needs no lease.
 */
import type { Config } from "@/server/config";
import type { Database } from "@/server/db/connection";
import type { EventsRepo } from "@/server/db/events-repo";
import type { FlowWriter, PreparedBatch } from "@/server/db/flows/flow-writer";
import { LeaseLostError, LeaseRepo, ProgressRepo } from "@/server/db/lease-repo";
import type { FlowRow } from "@/server/flow-codec/split-flow";
import { PeerWatcher } from "@/server/hubble/peer-client";
import { RelayClient, type RelayTls } from "@/server/hubble/relay-client";
import type { Metrics } from "@/server/metrics";
import type { AgentEventsIngest } from "./agent-events";
import { IngestService, type IngestOptions } from "./ingest-service";
import { NodeIngestsView, type IngestView } from "./ingest-views";
import { LeasedWork, type LeasedWorker } from "./leased-work";

export interface IngestSetupOptions {
  config: Config;
  db: Database;
  events: EventsRepo;
  writer: FlowWriter;
  health: IngestOptions["health"];
  metrics: Metrics;
  log: IngestOptions["log"];
  /** this replica's name in the lease table */
  instance: string;
  /** the Relay (or demo relay) address */
  address: string;
  tls: RelayTls;
  onStored: (rows: FlowRow[]) => void;
  /** relay mode: agent events follow the same lease */
  agentEvents?: () => AgentEventsIngest;
  /** per-node mode: each agent's own events, under its node's lease */
  nodeAgentEvents?: (node: string, agent: RelayClient) => AgentEventsIngest;
}

export interface IngestSetup {
  view: IngestView;
  /** relay mode: the one stream (tests drive it) */
  service?: IngestService;
  agentEvents?: AgentEventsIngest;
  leases?: LeasedWork;
  peers?: PeerWatcher;
  stop(): Promise<void>;
}

const RELAY_LEASE = "relay";
const NODE_PREFIX = "node:";
/** a node taken over: its newest rollup minutes are recounted from this far before its resume point */
const NODE_REPAIR_NS = 120_000_000_000n;

function maxTs(rows: readonly FlowRow[]): bigint | null {
  let m: bigint | null = null;
  for (const r of rows) if (m === null || r.ts > m) m = r.ts;
  return m;
}

export function startIngest(o: IngestSetupOptions): IngestSetup {
  const { config, db, writer } = o;
  const leased = db.kind === "postgres";
  const repo = leased ? new LeaseRepo(db, o.instance, config.FLOWLENS_LEASE_TTL) : null;
  const common = {
    writer,
    health: o.health,
    onStored: o.onStored,
    metrics: o.metrics,
    log: o.log,
    batchSize: config.FLOWLENS_BATCH_SIZE,
    flushMs: config.FLOWLENS_FLUSH_MS,
    queueMax: config.FLOWLENS_QUEUE_MAX,
    initialHistory: config.FLOWLENS_INITIAL_HISTORY,
    isFatal: (e: unknown) => e instanceof LeaseLostError,
  };
  let work: LeasedWork | undefined;
  const onFatal = (e: unknown) => {
    if (e instanceof LeaseLostError) void work?.fenced(e.lease);
  };

  if (config.FLOWLENS_INGEST === "relay") {
    const relay = new RelayClient(o.address, o.tls);
    const service = new IngestService({
      ...common,
      relay,
      events: o.events,
      onFatal,
      ...(repo ? { inTransaction: (tx) => repo.fence(tx, RELAY_LEASE) } : {}),
    });
    const agentEvents = o.agentEvents?.();
    if (!repo) {
      service.start();
      agentEvents?.start();
    } else {
      // a standby keeps its channel to the Relay connected, so a takeover does not start by dialling
      relay.serverStatus(5000).catch(() => {});
      work = new LeasedWork({
        repo,
        ttlMs: config.FLOWLENS_LEASE_TTL,
        log: o.log,
        work: () => [RELAY_LEASE],
        make: () => ({
          async start() {
            // the previous holder may have died with rollups pending: recount them from the flows
            await writer.repairRollups();
            service.start();
            agentEvents?.start();
          },
          async stop({ abandon }) {
            await agentEvents?.stop();
            await service.stop({ abandon });
            if (abandon) await writer.discardPendingRollups();
          },
        }),
      });
      work.start();
    }
    return {
      view: service,
      service,
      agentEvents,
      leases: work,
      async stop() {
        if (work) await work.stop();
        else {
          await service.stop();
          await agentEvents?.stop();
        }
        relay.close();
      },
    };
  }

  // per-node
  const view = new NodeIngestsView();
  const progress = new ProgressRepo(db);
  let reconcile: () => void = () => {};
  const peers = new PeerWatcher(config.HUBBLE_PEER_SERVER ?? o.address, o.tls, { defaultPort: config.FLOWLENS_AGENT_PORT, onChange: () => reconcile() });
  view.peerNodes = () => [...peers.nodes.keys()];
  view.peerError = () => (peers.listed ? undefined : peers.lastError);

  const nodeWorker = (lease: string): LeasedWorker => {
    const node = lease.slice(NODE_PREFIX.length);
    const peer = peers.nodes.get(node);
    let relay: RelayClient | undefined;
    let service: IngestService | undefined;
    let agentEvents: AgentEventsIngest | undefined;
    return {
      async start() {
        if (!peer) throw new Error(`node ${node} is not in the Peer service's list`);
        relay = new RelayClient(peer.address, { ...o.tls, ...(peer.tlsServerName ? { serverName: peer.tlsServerName } : {}) });
        service = new IngestService({
          ...common,
          relay,
          onFatal,
          events: { lastFlowTs: () => progress.lastTs(node), keysSince: (since) => progress.keysSince(node, since) },
          inTransaction: async (tx, p: PreparedBatch) => {
            if (repo) await repo.fence(tx, lease);
            const last = maxTs(p.stored);
            if (last !== null) await progress.advance(tx, node, last);
          },
        });
        const last = await progress.lastTs(node);
        if (last !== null && repo) await writer.repairNodeRollups(node, last - NODE_REPAIR_NS);
        view.streams.set(node, service);
        service.start();
        agentEvents = o.nodeAgentEvents?.(node, relay);
        agentEvents?.start();
      },
      async stop({ abandon }) {
        try {
          await agentEvents?.stop();
          await service?.stop({ abandon });
        } finally {
          if (view.streams.get(node) === service) view.streams.delete(node);
          relay?.close();
        }
      },
    };
  };
  const nodeVersion = (lease: string) => {
    const p = peers.nodes.get(lease.slice(NODE_PREFIX.length));
    return p ? `${p.address}|${p.tlsServerName ?? ""}` : "";
  };
  const nodeWork = () => [...peers.nodes.keys()].map((n) => NODE_PREFIX + n);

  let local: { stop(): Promise<void> } | undefined;
  if (repo) {
    work = new LeasedWork({ repo, ttlMs: config.FLOWLENS_LEASE_TTL, log: o.log, work: nodeWork, make: nodeWorker, version: nodeVersion });
    work.start();
  } else {
    // one process (embedded store): every node, no leases
    const running = new Map<string, { worker: LeasedWorker; version: string }>();
    let chain: Promise<void> = Promise.resolve();
    reconcile = () => {
      chain = chain.then(async () => {
        const want = new Set(nodeWork());
        for (const [name, r] of running)
          if (!want.has(name) || r.version !== nodeVersion(name)) {
            running.delete(name);
            await r.worker.stop({}).catch(() => {});
          }
        for (const name of want)
          if (!running.has(name)) {
            const worker = nodeWorker(name);
            running.set(name, { worker, version: nodeVersion(name) });
            await worker.start().catch((e) => o.log.error({ node: name, err: String(e) }, "starting a node's ingest failed"));
          }
      });
    };
    local = {
      async stop() {
        reconcile = () => {};
        await chain;
        for (const r of running.values()) await r.worker.stop({}).catch(() => {});
      },
    };
  }
  peers.start();
  return {
    view,
    leases: work,
    peers,
    async stop() {
      peers.stop();
      await work?.stop();
      await local?.stop();
    },
  };
}
