/**
 * A real Observer gRPC server (Hubble Relay's API), fed by `publish()` instead of by agents.
 * Used by the built-in demo cluster (server/demo) and by integration tests as the "test relay".
 *
 * Behaves like a Relay in front of Hubble agents, as far as shared/hubble-api.md describes:
 * - one ring of `ringSize` flows per node; the oldest are overwritten, so a client that was away
 *   too long cannot get them back (the ingest must notice the gap);
 * - GetFlows: `number` (last N per node, then merged), `first`, `since` (inclusive) / `until`
 *   (inclusive), `follow` (backlog, then live); the backlog is sorted by time across nodes; live
 *   responses go out in publish order (publishers publish in time order; Relay's own sort buffer
 *   is not modelled);
 * - like Relay, every GetFlows stream starts with node_status NODE_CONNECTED (and
 *   NODE_UNAVAILABLE) naming the nodes (option `announceNodes`);
 * - node_status / lost_events responses published here are kept (bounded history) and delivered
 *   in order; they bypass filters and do not count towards `number`, as in Hubble;
 * - whitelist/blacklist: see relay-server-filter.ts (unsupported fields → UNIMPLEMENTED);
 *   field_mask and experimental fields are ignored (whole flows are sent);
 * - a follower that does not read is lapped (LostEvent HUBBLE_RING_BUFFER), see
 *   relay-server-stream.ts;
 * - ServerStatus, GetNodes, GetNamespaces, GetAgentEvents (events given to publishAgentEvent)
 *   and peer.Peer/Notify.
 * Flows are encoded once at publish time and kept as bytes: cheap fan-out, modest memory, and a
 * client receives exactly what was published. State: relay-state.ts; the methods: relay-handlers.ts.
 */
import * as grpc from "@grpc/grpc-js";
import type { Http2Session } from "node:http2";
import type { GetAgentEventsResponse, GetFlowsResponse } from "@/proto/gen/observer/observer_pb";
import { NodeState } from "@/proto/gen/relay/relay_pb";
import { observerService, peerService, rawGetFlows } from "../../hubble/observer-service";
import {
  getAgentEventsHandler,
  getFlowsHandler,
  getNamespacesHandler,
  getNodesHandler,
  notifyHandler,
  serverStatusHandler,
} from "./relay-handlers";
import { RelayState } from "./relay-state";

export interface RelayServerOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** 0 = ephemeral (default) */
  port?: number;
  /** flows kept per node, default 4095 (Hubble's default) */
  ringSize?: number;
  /** ServerStatus.version and each node's version, default "1.19.1" */
  version?: string;
  /** node_name of responses the relay itself makes (node_status, lapped-reader lost events) */
  relayName?: string;
  /** start every GetFlows stream with node_status events naming the nodes, like Relay (default true) */
  announceNodes?: boolean;
  /** how many responses may wait for a slow follower before it is lapped; default: backlog + ringSize × nodes */
  maxPending?: number;
}

export interface RelayNodeSpec {
  name: string;
  /** default NODE_CONNECTED */
  state?: NodeState;
  /** shown by GetNodes and peer.Notify, e.g. "172.18.0.3:4244" */
  address?: string;
}

export interface RelayServerStats {
  /** open GetFlows streams */
  activeStreams: number;
  /** GetFlows responses written, over the server's lifetime */
  served: number;
  /** open GetAgentEvents + peer Notify streams */
  otherStreams: number;
}

export interface RelayServer {
  /** "127.0.0.1:PORT" */
  address: string;
  port: number;
  /** Appends to the node's ring (node = resp.nodeName or flow.nodeName) and pushes to followers. */
  publish(resp: GetFlowsResponse): void;
  publishMany(resps: Iterable<GetFlowsResponse>): void;
  /**
   * Sends these exact bytes as one GetFlowsResponse of `node` (nothing filled in, nothing checked:
   * tests feed malformed or unusual messages through the real transport). Kept in the node's ring
   * at `ns` (default now); a follower's filter sees it only when it decodes.
   */
  publishRaw(bytes: Buffer, node: string, ns?: bigint): void;
  /** Served by GetAgentEvents (e.g. POLICY_UPDATED when the demo changes a policy). */
  publishAgentEvent(ev: GetAgentEventsResponse): void;
  /** Adds or updates nodes (nodes not listed are left alone). */
  setNodes(nodes: RelayNodeSpec[]): void;
  /** Graceful: ends open streams (UNAVAILABLE after their queue is flushed), then shuts down. */
  stop(): Promise<void>;
  /** Abrupt: forceShutdown, every open stream errors (UNAVAILABLE). */
  kill(): void;
  stats(): RelayServerStats;
}

const DEFAULT_RING = 4095;
const SHUTDOWN_GRACE_MS = 5000;

export async function startRelayServer(opts: RelayServerOptions = {}): Promise<RelayServer> {
  const host = opts.host ?? "127.0.0.1";
  const state = new RelayState({
    ringSize: opts.ringSize ?? DEFAULT_RING,
    version: opts.version ?? "1.19.1",
    relayName: opts.relayName ?? "hubble-relay",
  });
  const server = new grpc.Server();
  server.addService({ ...observerService, getFlows: rawGetFlows }, {
    getFlows: getFlowsHandler(state, { announceNodes: opts.announceNodes ?? true, maxPending: opts.maxPending }),
    getAgentEvents: getAgentEventsHandler(state, { maxPending: opts.maxPending }),
    getNodes: getNodesHandler(state),
    getNamespaces: getNamespacesHandler(state),
    serverStatus: serverStatusHandler(state),
  } as grpc.UntypedServiceImplementation);
  server.addService(peerService, { notify: notifyHandler(state) } as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${opts.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  let stopped = false;
  return {
    address: `${host}:${port}`,
    port,
    publish: (resp: GetFlowsResponse) => state.publish(resp),
    publishRaw: (bytes: Buffer, node: string, ns?: bigint) => state.publishRaw(bytes, node, ns),
    publishMany(resps) {
      for (const r of resps) state.publish(r);
    },
    publishAgentEvent: (ev: GetAgentEventsResponse) => state.publishAgentEvent(ev),
    setNodes: (list) => state.setNodes(list),
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopGracefully(server, state);
    },
    kill() {
      stopped = true;
      killAbruptly(server, state);
    },
    stats: () => ({ activeStreams: state.activeStreams, served: state.served, otherStreams: state.otherStreams }),
  };
}

/** Ends open streams (UNAVAILABLE after their queue is flushed), then shuts down, forcibly after a grace time. */
async function stopGracefully(server: grpc.Server, state: RelayState): Promise<void> {
  for (const pump of state.allPumps()) pump.end({ code: grpc.status.UNAVAILABLE, details: "relay server is shutting down" });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, SHUTDOWN_GRACE_MS);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function killAbruptly(server: grpc.Server, state: RelayState): void {
  // A crash drops the TCP connections: clients see UNAVAILABLE "Connection dropped".
  // forceShutdown alone resets each stream with CANCEL, which clients report as CANCELLED.
  // grpc-js keeps its sessions private and node's http2 socket proxy forbids destroy(), but
  // lets resetAndDestroy() through; if either changes we still shut down, just less abruptly.
  const sessions = (server as unknown as { sessions?: Map<Http2Session, unknown> }).sessions;
  for (const session of sessions?.keys() ?? []) {
    try {
      (session.socket as unknown as { resetAndDestroy?: () => void }).resetAndDestroy?.();
    } catch {
      // fall through to forceShutdown
    }
  }
  server.forceShutdown();
  for (const pump of state.allPumps()) pump.close();
}
