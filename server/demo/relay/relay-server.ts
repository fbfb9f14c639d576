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
 * client receives exactly what was published.
 */
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import type { Http2Session } from "node:http2";
import { LostEventSource, type Flow } from "@/proto/gen/flow/flow_pb";
import {
  GetFlowsResponseSchema,
  GetNamespacesResponseSchema,
  GetNodesResponseSchema,
  ServerStatusResponseSchema,
  type GetAgentEventsRequest,
  type GetAgentEventsResponse,
  type GetFlowsRequest,
  type GetFlowsResponse,
  type GetNamespacesResponse,
  type GetNodesResponse,
  type ServerStatusResponse,
} from "@/proto/gen/observer/observer_pb";
import { ChangeNotificationSchema, ChangeNotificationType, type ChangeNotification } from "@/proto/gen/peer/peer_pb";
import { NodeState } from "@/proto/gen/relay/relay_pb";
import { observerService, peerService, rawGetFlows } from "../../hubble/observer-service";
import { compileFilters, UnsupportedFilterError, type FlowPredicate } from "./relay-server-filter";
import {
  byTime,
  eventWindow,
  nowNs,
  nsToTimestamp,
  Ring,
  selectBacklog,
  timestampToNs,
  type Timed,
  type WindowRequest,
} from "./relay-server-ring";
import { StreamPump } from "./relay-server-stream";

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

interface NodeRecord {
  name: string;
  state: NodeState;
  address: string;
  ring: Ring<WireEntry>;
  seen: number;
  sinceNs: bigint;
}

/** A response as it sits in a ring / queue: encoded once. */
interface WireEntry extends Timed {
  bytes: Buffer;
}

interface AgentEntry extends Timed {
  msg: GetAgentEventsResponse;
}

interface Follower<T extends Timed, W> {
  pump: StreamPump<T, W>;
  predicate?: FlowPredicate;
  untilNs?: bigint;
}

const DEFAULT_RING = 4095;
/** node_status / lost_events kept for since-queries */
const EVENT_HISTORY = 4096;
const SHUTDOWN_GRACE_MS = 5000;

export async function startRelayServer(opts: RelayServerOptions = {}): Promise<RelayServer> {
  const host = opts.host ?? "127.0.0.1";
  const ringSize = opts.ringSize ?? DEFAULT_RING;
  const version = opts.version ?? "1.19.1";
  const relayName = opts.relayName ?? "hubble-relay";
  const announceNodes = opts.announceNodes ?? true;
  const startedNs = nowNs();

  const nodes = new Map<string, NodeRecord>();
  const events = new Ring<WireEntry>(EVENT_HISTORY);
  const agentEvents = new Ring<AgentEntry>(ringSize);
  const namespaces = new Map<string, { cluster: string; namespace: string }>();
  const flowFollowers = new Set<Follower<WireEntry, Buffer>>();
  const agentFollowers = new Set<Follower<AgentEntry, GetAgentEventsResponse>>();
  const peerFollowers = new Set<StreamPump<PeerItem, ChangeNotification>>();
  let seq = 0;
  let served = 0;
  let activeStreams = 0;
  let otherStreams = 0;

  interface PeerItem extends Timed {
    msg: ChangeNotification;
  }

  const peerChange = (node: NodeRecord, type: ChangeNotificationType): ChangeNotification =>
    create(ChangeNotificationSchema, { name: node.name, address: node.address, type });

  function ensureNode(name: string): NodeRecord {
    let node = nodes.get(name);
    if (!node) {
      node = { name, state: NodeState.NODE_CONNECTED, address: "", ring: new Ring(ringSize), seen: 0, sinceNs: nowNs() };
      nodes.set(name, node);
      const added = peerChange(node, ChangeNotificationType.PEER_ADDED);
      for (const p of peerFollowers) p.push({ ns: 0n, seq: ++seq, msg: added });
    }
    return node;
  }

  function encode(init: MessageInitShape<typeof GetFlowsResponseSchema>): Buffer {
    return Buffer.from(toBinary(GetFlowsResponseSchema, create(GetFlowsResponseSchema, init)));
  }

  function nodeStatus(state: NodeState, names: string[]): WireEntry {
    const ns = nowNs();
    const bytes = encode({
      responseTypes: { case: "nodeStatus", value: { stateChange: state, nodeNames: names } },
      nodeName: relayName,
      time: nsToTimestamp(ns),
    });
    return { ns, seq: ++seq, bytes };
  }

  function lostMarker(count: number, firstNs: bigint, lastNs: bigint): Buffer {
    return encode({
      responseTypes: {
        case: "lostEvents",
        value: {
          source: LostEventSource.HUBBLE_RING_BUFFER,
          numEventsLost: BigInt(count),
          first: nsToTimestamp(firstNs),
          last: nsToTimestamp(lastNs),
        },
      },
      nodeName: relayName,
      time: nsToTimestamp(nowNs()),
    });
  }

  function trackNamespaces(flow: Flow): void {
    for (const ep of [flow.source, flow.destination]) {
      if (!ep?.namespace) continue;
      const cluster = ep.clusterName || "default";
      namespaces.set(`${cluster}/${ep.namespace}`, { cluster, namespace: ep.namespace });
    }
  }

  function publish(resp: GetFlowsResponse): void {
    const flow = resp.responseTypes.case === "flow" ? resp.responseTypes.value : undefined;
    const nodeName = resp.nodeName || flow?.nodeName || "";
    const ns = timestampToNs(resp.time) ?? timestampToNs(flow?.time) ?? nowNs();
    // Relay always fills the envelope; fill what the publisher left out, never touch the flow.
    const envelope = resp.nodeName === nodeName && resp.time ? resp : { ...resp, nodeName, time: resp.time ?? nsToTimestamp(ns) };
    const wire = toBinary(GetFlowsResponseSchema, envelope);
    // a view, not a copy: toBinary's output is exactly sized and nobody else holds it
    const entry: WireEntry = { ns, seq: ++seq, bytes: Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength) };

    if (flow) {
      const node = ensureNode(nodeName);
      node.ring.push(entry);
      node.seen++;
      trackNamespaces(flow);
    } else {
      events.push(entry);
      if (resp.responseTypes.case === "nodeStatus") {
        const ev = resp.responseTypes.value;
        for (const name of ev.nodeNames) ensureNode(name).state = ev.stateChange;
      }
    }

    for (const f of flowFollowers) {
      if (f.untilNs !== undefined && ns > f.untilNs) {
        f.pump.end();
        continue;
      }
      if (flow && f.predicate && !f.predicate(flow)) continue;
      f.pump.push(entry);
    }
  }

  function publishRaw(bytes: Buffer, nodeName: string, at?: bigint): void {
    const entry: WireEntry = { ns: at ?? nowNs(), seq: ++seq, bytes };
    const node = ensureNode(nodeName);
    node.ring.push(entry);
    node.seen++;
    for (const f of flowFollowers) {
      if (f.untilNs !== undefined && entry.ns > f.untilNs) {
        f.pump.end();
        continue;
      }
      if (f.predicate) {
        let flow: Flow | undefined;
        try {
          flow = decodeFlow(bytes);
        } catch {
          flow = undefined;
        }
        if (flow && !f.predicate(flow)) continue;
      }
      f.pump.push(entry);
    }
  }

  function decodeFlow(bytes: Buffer): Flow | undefined {
    const r = fromBinary(GetFlowsResponseSchema, bytes);
    return r.responseTypes.case === "flow" ? r.responseTypes.value : undefined;
  }

  function fail(call: grpc.ServerWritableStream<unknown, unknown>, code: grpc.status, details: string): void {
    call.emit("error", { code, details });
  }

  const getFlows: grpc.handleServerStreamingCall<GetFlowsRequest, Buffer> = (call) => {
    const req = call.request;
    if (req.first && req.follow) return fail(call, grpc.status.INVALID_ARGUMENT, "first cannot be specified with follow");
    let predicate: FlowPredicate | undefined;
    try {
      predicate = compileFilters(req.whitelist, req.blacklist);
    } catch (err) {
      const code = err instanceof UnsupportedFilterError ? grpc.status.UNIMPLEMENTED : grpc.status.INVALID_ARGUMENT;
      return fail(call, code, (err as Error).message);
    }
    const window = windowOf(req);

    const backlog: WireEntry[] = [];
    for (const node of nodes.values()) {
      let entries = node.ring.toArray();
      if (predicate) {
        entries = entries.filter((e) => {
          let flow: Flow | undefined;
          try {
            flow = decodeFlow(e.bytes);
          } catch {
            return true; // raw bytes that do not decode: sent as they are (publishRaw)
          }
          return !flow || predicate(flow);
        });
      }
      for (const e of selectBacklog(entries, window)) backlog.push(e);
    }
    const evWin = eventWindow(window, backlog);
    if (evWin) {
      for (const e of events.toArray()) {
        if ((evWin.lo === undefined || e.ns >= evWin.lo) && (evWin.hi === undefined || e.ns <= evWin.hi)) backlog.push(e);
      }
    }
    backlog.sort(byTime);

    activeStreams++;
    const follower: Follower<WireEntry, Buffer> = {
      predicate,
      untilNs: timestampToNs(req.until),
      pump: new StreamPump<WireEntry, Buffer>(call as grpc.ServerWritableStream<unknown, Buffer>, {
        maxPending: opts.maxPending ?? backlog.length + ringSize * Math.max(1, nodes.size),
        toWire: (e) => e.bytes,
        lostMarker,
        onWrite: () => served++,
        onClose: () => {
          activeStreams--;
          flowFollowers.delete(follower);
        },
      }),
    };
    if (announceNodes && nodes.size > 0) {
      const byState = (pred: (s: NodeState) => boolean) =>
        [...nodes.values()].filter((n) => pred(n.state)).map((n) => n.name).sort();
      const up = byState((s) => s === NodeState.NODE_CONNECTED);
      const down = byState((s) => s !== NodeState.NODE_CONNECTED);
      if (up.length) follower.pump.push(nodeStatus(NodeState.NODE_CONNECTED, up));
      if (down.length) follower.pump.push(nodeStatus(NodeState.NODE_UNAVAILABLE, down));
    }
    follower.pump.pushAll(backlog);
    if (req.follow && !follower.pump.isClosed) flowFollowers.add(follower);
    else follower.pump.end();
  };

  const getAgentEvents: grpc.handleServerStreamingCall<GetAgentEventsRequest, GetAgentEventsResponse> = (call) => {
    const req = call.request;
    if (req.first && req.follow) return fail(call, grpc.status.INVALID_ARGUMENT, "first cannot be specified with follow");
    const window = windowOf(req);
    otherStreams++;
    const follower: Follower<AgentEntry, GetAgentEventsResponse> = {
      untilNs: timestampToNs(req.until),
      pump: new StreamPump<AgentEntry, GetAgentEventsResponse>(
        call as grpc.ServerWritableStream<unknown, GetAgentEventsResponse>,
        {
          maxPending: opts.maxPending ?? 2 * ringSize,
          toWire: (e) => e.msg,
          onClose: () => {
            otherStreams--;
            agentFollowers.delete(follower);
          },
        },
      ),
    };
    follower.pump.pushAll(selectBacklog(agentEvents.toArray(), window).sort(byTime));
    if (req.follow && !follower.pump.isClosed) agentFollowers.add(follower);
    else follower.pump.end();
  };

  function publishAgentEvent(ev: GetAgentEventsResponse): void {
    const ns = timestampToNs(ev.time) ?? nowNs();
    const msg = ev.time ? ev : { ...ev, time: nsToTimestamp(ns) };
    const entry: AgentEntry = { ns, seq: ++seq, msg };
    agentEvents.push(entry);
    for (const f of agentFollowers) {
      if (f.untilNs !== undefined && ns > f.untilNs) f.pump.end();
      else f.pump.push(entry);
    }
  }

  const notify: grpc.handleServerStreamingCall<unknown, ChangeNotification> = (call) => {
    otherStreams++;
    const pump: StreamPump<PeerItem, ChangeNotification> = new StreamPump(call, {
      maxPending: 100_000,
      toWire: (i) => i.msg,
      onClose: () => {
        otherStreams--;
        peerFollowers.delete(pump);
      },
    });
    peerFollowers.add(pump);
    pump.pushAll([...nodes.values()].map((n) => ({ ns: 0n, seq: ++seq, msg: peerChange(n, ChangeNotificationType.PEER_ADDED) })));
  };

  const serverStatus: grpc.handleUnaryCall<unknown, ServerStatusResponse> = (_call, cb) => {
    const all = [...nodes.values()];
    const sum = (f: (n: NodeRecord) => number) => BigInt(all.reduce((acc, n) => acc + f(n), 0));
    const unavailable = all.filter((n) => n.state !== NodeState.NODE_CONNECTED).map((n) => n.name).sort();
    cb(
      null,
      create(ServerStatusResponseSchema, {
        numFlows: sum((n) => n.ring.size),
        maxFlows: sum((n) => n.ring.capacity),
        seenFlows: sum((n) => n.seen),
        uptimeNs: nowNs() - startedNs,
        numConnectedNodes: all.length - unavailable.length,
        numUnavailableNodes: unavailable.length,
        unavailableNodes: unavailable,
        version,
        flowsRate: flowsRate(all),
      }),
    );
  };

  /** Flows per second over the last minute, by flow time (what Hubble reports). */
  function flowsRate(all: NodeRecord[]): number {
    const from = nowNs() - 60_000_000_000n;
    let count = 0;
    for (const n of all) {
      for (const e of n.ring.newestFirst()) {
        if (e.ns < from) break;
        count++;
      }
    }
    return count / 60;
  }

  const getNodes: grpc.handleUnaryCall<unknown, GetNodesResponse> = (_call, cb) => {
    const now = nowNs();
    cb(
      null,
      create(GetNodesResponseSchema, {
        nodes: [...nodes.values()]
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((n) => ({
            name: n.name,
            version,
            address: n.address,
            state: n.state,
            tls: { enabled: false },
            uptimeNs: now - n.sinceNs,
            numFlows: BigInt(n.ring.size),
            maxFlows: BigInt(n.ring.capacity),
            seenFlows: BigInt(n.seen),
          })),
      }),
    );
  };

  const getNamespaces: grpc.handleUnaryCall<unknown, GetNamespacesResponse> = (_call, cb) => {
    const list = [...namespaces.values()].sort(
      (a, b) => a.cluster.localeCompare(b.cluster) || a.namespace.localeCompare(b.namespace),
    );
    cb(null, create(GetNamespacesResponseSchema, { namespaces: list }));
  };

  const server = new grpc.Server();
  server.addService({ ...observerService, getFlows: rawGetFlows }, {
    getFlows,
    getAgentEvents,
    getNodes,
    getNamespaces,
    serverStatus,
  } as grpc.UntypedServiceImplementation);
  server.addService(peerService, { notify } as grpc.UntypedServiceImplementation);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${opts.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );

  let stopped = false;
  const allPumps = () => [...[...flowFollowers].map((f) => f.pump), ...[...agentFollowers].map((f) => f.pump), ...peerFollowers];

  return {
    address: `${host}:${port}`,
    port,
    publish,
    publishRaw,
    publishMany(resps) {
      for (const r of resps) publish(r);
    },
    publishAgentEvent,
    setNodes(list) {
      for (const spec of list) {
        const node = ensureNode(spec.name);
        node.state = spec.state ?? NodeState.NODE_CONNECTED;
        if (spec.address !== undefined && spec.address !== node.address) {
          node.address = spec.address;
          const upd = peerChange(node, ChangeNotificationType.PEER_UPDATED);
          for (const p of peerFollowers) p.push({ ns: 0n, seq: ++seq, msg: upd });
        }
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const pump of allPumps()) pump.end({ code: grpc.status.UNAVAILABLE, details: "relay server is shutting down" });
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
    },
    kill() {
      stopped = true;
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
      for (const pump of allPumps()) pump.close();
    },
    stats: () => ({ activeStreams, served, otherStreams }),
  };
}

function windowOf(req: GetFlowsRequest | GetAgentEventsRequest): WindowRequest {
  return { number: req.number, first: req.first, follow: req.follow, since: req.since, until: req.until };
}
