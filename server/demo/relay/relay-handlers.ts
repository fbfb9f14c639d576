/**
 * The demo/test Relay's gRPC methods over its RelayState: GetFlows, GetAgentEvents, peer Notify,
 * ServerStatus, GetNodes, GetNamespaces — one small function each.
 */
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  GetNamespacesResponseSchema,
  GetNodesResponseSchema,
  ServerStatusResponseSchema,
  type GetAgentEventsRequest,
  type GetAgentEventsResponse,
  type GetFlowsRequest,
  type GetNamespacesResponse,
  type GetNodesResponse,
  type ServerStatusResponse,
} from "@/proto/gen/observer/observer_pb";
import { ChangeNotificationType, type ChangeNotification } from "@/proto/gen/peer/peer_pb";
import { NodeState } from "@/proto/gen/relay/relay_pb";
import { compileFilters, UnsupportedFilterError, type FlowPredicate } from "./relay-server-filter";
import { byTime, eventWindow, nowNs, selectBacklog, type WindowRequest } from "./relay-server-ring";
import { timestampToNs } from "../../flow-codec/timestamp";
import { StreamPump } from "./relay-server-stream";
import { decodeFlow, type AgentEntry, type Follower, type NodeRecord, type PeerItem, type RelayState, type WireEntry } from "./relay-state";

function fail(call: grpc.ServerWritableStream<unknown, unknown>, code: grpc.status, details: string): void {
  call.emit("error", { code, details });
}

function windowOf(req: GetFlowsRequest | GetAgentEventsRequest): WindowRequest {
  return { number: req.number, first: req.first, follow: req.follow, since: req.since, until: req.until };
}

/** The request's filters, or the gRPC status that refuses them. */
function predicateOf(req: GetFlowsRequest): { predicate?: FlowPredicate } | { code: grpc.status; details: string } {
  try {
    return { predicate: compileFilters(req.whitelist, req.blacklist) };
  } catch (err) {
    const code = err instanceof UnsupportedFilterError ? grpc.status.UNIMPLEMENTED : grpc.status.INVALID_ARGUMENT;
    return { code, details: (err as Error).message };
  }
}

/** What a GetFlows request gets before following: each node's flows in its window, plus events, by time. */
function flowBacklog(state: RelayState, predicate: FlowPredicate | undefined, window: WindowRequest): WireEntry[] {
  const backlog: WireEntry[] = [];
  const passes = (e: WireEntry) => {
    let flow;
    try {
      flow = decodeFlow(e.bytes);
    } catch {
      return true; // raw bytes that do not decode: sent as they are (publishRaw)
    }
    return !flow || predicate!(flow);
  };
  for (const node of state.nodes.values()) {
    const entries = predicate ? node.ring.toArray().filter(passes) : node.ring.toArray();
    for (const e of selectBacklog(entries, window)) backlog.push(e);
  }
  const evWin = eventWindow(window, backlog);
  if (evWin) {
    for (const e of state.events.toArray()) {
      if ((evWin.lo === undefined || e.ns >= evWin.lo) && (evWin.hi === undefined || e.ns <= evWin.hi)) backlog.push(e);
    }
  }
  return backlog.sort(byTime);
}

/** Like Relay, a stream starts with node_status events naming the connected and the unavailable nodes. */
function announce(state: RelayState, pump: StreamPump<WireEntry, Buffer>): void {
  const byState = (pred: (s: NodeState) => boolean) =>
    [...state.nodes.values()].filter((n) => pred(n.state)).map((n) => n.name).sort();
  const up = byState((s) => s === NodeState.NODE_CONNECTED);
  const down = byState((s) => s !== NodeState.NODE_CONNECTED);
  if (up.length) pump.push(state.nodeStatus(NodeState.NODE_CONNECTED, up));
  if (down.length) pump.push(state.nodeStatus(NodeState.NODE_UNAVAILABLE, down));
}

export function getFlowsHandler(state: RelayState, opts: { announceNodes: boolean; maxPending?: number }): grpc.handleServerStreamingCall<GetFlowsRequest, Buffer> {
  return (call) => {
    const req = call.request;
    if (req.first && req.follow) return fail(call, grpc.status.INVALID_ARGUMENT, "first cannot be specified with follow");
    const filters = predicateOf(req);
    if ("code" in filters) return fail(call, filters.code, filters.details);
    const backlog = flowBacklog(state, filters.predicate, windowOf(req));
    state.activeStreams++;
    const follower: Follower<WireEntry, Buffer> = {
      predicate: filters.predicate,
      untilNs: timestampToNs(req.until),
      pump: new StreamPump<WireEntry, Buffer>(call as grpc.ServerWritableStream<unknown, Buffer>, {
        maxPending: opts.maxPending ?? backlog.length + state.opts.ringSize * Math.max(1, state.nodes.size),
        toWire: (e) => e.bytes,
        lostMarker: (count, firstNs, lastNs) => state.lostMarker(count, firstNs, lastNs),
        onWrite: () => state.served++,
        onClose: () => {
          state.activeStreams--;
          state.flowFollowers.delete(follower);
        },
      }),
    };
    if (opts.announceNodes && state.nodes.size > 0) announce(state, follower.pump);
    follower.pump.pushAll(backlog);
    if (req.follow && !follower.pump.isClosed) state.flowFollowers.add(follower);
    else follower.pump.end();
  };
}

export function getAgentEventsHandler(state: RelayState, opts: { maxPending?: number }): grpc.handleServerStreamingCall<GetAgentEventsRequest, GetAgentEventsResponse> {
  return (call) => {
    const req = call.request;
    if (req.first && req.follow) return fail(call, grpc.status.INVALID_ARGUMENT, "first cannot be specified with follow");
    state.otherStreams++;
    const follower: Follower<AgentEntry, GetAgentEventsResponse> = {
      untilNs: timestampToNs(req.until),
      pump: new StreamPump<AgentEntry, GetAgentEventsResponse>(call as grpc.ServerWritableStream<unknown, GetAgentEventsResponse>, {
        maxPending: opts.maxPending ?? 2 * state.opts.ringSize,
        toWire: (e) => e.msg,
        onClose: () => {
          state.otherStreams--;
          state.agentFollowers.delete(follower);
        },
      }),
    };
    follower.pump.pushAll(selectBacklog(state.agentEvents.toArray(), windowOf(req)).sort(byTime));
    if (req.follow && !follower.pump.isClosed) state.agentFollowers.add(follower);
    else follower.pump.end();
  };
}

export function notifyHandler(state: RelayState): grpc.handleServerStreamingCall<unknown, ChangeNotification> {
  return (call) => {
    state.otherStreams++;
    const pump: StreamPump<PeerItem, ChangeNotification> = new StreamPump(call, {
      maxPending: 100_000,
      toWire: (i) => i.msg,
      onClose: () => {
        state.otherStreams--;
        state.peerFollowers.delete(pump);
      },
    });
    state.peerFollowers.add(pump);
    pump.pushAll([...state.nodes.values()].map((n) => state.peerChange(n, ChangeNotificationType.PEER_ADDED)));
  };
}

export function serverStatusHandler(state: RelayState): grpc.handleUnaryCall<unknown, ServerStatusResponse> {
  return (_call, cb) => {
    const all = [...state.nodes.values()];
    const sum = (f: (n: NodeRecord) => number) => BigInt(all.reduce((acc, n) => acc + f(n), 0));
    const unavailable = all.filter((n) => n.state !== NodeState.NODE_CONNECTED).map((n) => n.name).sort();
    cb(
      null,
      create(ServerStatusResponseSchema, {
        numFlows: sum((n) => n.ring.size),
        maxFlows: sum((n) => n.ring.capacity),
        seenFlows: sum((n) => n.seen),
        uptimeNs: nowNs() - state.startedNs,
        numConnectedNodes: all.length - unavailable.length,
        numUnavailableNodes: unavailable.length,
        unavailableNodes: unavailable,
        version: state.opts.version,
        flowsRate: state.flowsRate(),
      }),
    );
  };
}

export function getNodesHandler(state: RelayState): grpc.handleUnaryCall<unknown, GetNodesResponse> {
  return (_call, cb) => {
    const now = nowNs();
    const nodes = [...state.nodes.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((n) => ({
        name: n.name,
        version: state.opts.version,
        address: n.address,
        state: n.state,
        tls: { enabled: false },
        uptimeNs: now - n.sinceNs,
        numFlows: BigInt(n.ring.size),
        maxFlows: BigInt(n.ring.capacity),
        seenFlows: BigInt(n.seen),
      }));
    cb(null, create(GetNodesResponseSchema, { nodes }));
  };
}

export function getNamespacesHandler(state: RelayState): grpc.handleUnaryCall<unknown, GetNamespacesResponse> {
  return (_call, cb) => {
    const list = [...state.namespaces.values()].sort((a, b) => a.cluster.localeCompare(b.cluster) || a.namespace.localeCompare(b.namespace));
    cb(null, create(GetNamespacesResponseSchema, { namespaces: list }));
  };
}
