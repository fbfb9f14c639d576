/**
 * What the demo/test Relay holds: each node's ring of encoded flows, node_status / lost_events
 * history, agent events, namespaces seen, and the open streams that follow them. `publish*`
 * append and push to the followers; the gRPC handlers (relay-handlers.ts) read.
 */
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { LostEventSource, type Flow } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema, type GetAgentEventsResponse, type GetFlowsResponse } from "@/proto/gen/observer/observer_pb";
import { ChangeNotificationSchema, ChangeNotificationType, type ChangeNotification } from "@/proto/gen/peer/peer_pb";
import { NodeState } from "@/proto/gen/relay/relay_pb";
import { NS_PER_MINUTE } from "@/server/domain/shared/time";
import type { FlowPredicate } from "./relay-server-filter";
import { nowNs, Ring, type Timed } from "./relay-server-ring";
import { nsToTimestamp, timestampToNs } from "../../flow-codec/timestamp";
import type { StreamPump } from "./relay-server-stream";

export interface NodeRecord {
  name: string;
  state: NodeState;
  address: string;
  ring: Ring<WireEntry>;
  seen: number;
  sinceNs: bigint;
}

/** A response as it sits in a ring / queue: encoded once. */
export interface WireEntry extends Timed {
  bytes: Buffer;
}

export interface AgentEntry extends Timed {
  msg: GetAgentEventsResponse;
}

export interface PeerItem extends Timed {
  msg: ChangeNotification;
}

export interface Follower<T extends Timed, W> {
  pump: StreamPump<T, W>;
  predicate?: FlowPredicate;
  untilNs?: bigint;
}

/** node_status / lost_events kept for since-queries */
const EVENT_HISTORY = 4096;

export interface RelayStateOptions {
  ringSize: number;
  version: string;
  relayName: string;
}

/** The Flow inside an encoded GetFlowsResponse, if it is one (throws on bytes that do not decode). */
export function decodeFlow(bytes: Buffer): Flow | undefined {
  const r = fromBinary(GetFlowsResponseSchema, bytes);
  return r.responseTypes.case === "flow" ? r.responseTypes.value : undefined;
}

function encode(init: MessageInitShape<typeof GetFlowsResponseSchema>): Buffer {
  return Buffer.from(toBinary(GetFlowsResponseSchema, create(GetFlowsResponseSchema, init)));
}

export class RelayState {
  readonly nodes = new Map<string, NodeRecord>();
  readonly events = new Ring<WireEntry>(EVENT_HISTORY);
  readonly agentEvents: Ring<AgentEntry>;
  readonly namespaces = new Map<string, { cluster: string; namespace: string }>();
  readonly flowFollowers = new Set<Follower<WireEntry, Buffer>>();
  readonly agentFollowers = new Set<Follower<AgentEntry, GetAgentEventsResponse>>();
  readonly peerFollowers = new Set<StreamPump<PeerItem, ChangeNotification>>();
  readonly startedNs = nowNs();
  served = 0;
  activeStreams = 0;
  otherStreams = 0;
  private seq = 0;

  constructor(readonly opts: RelayStateOptions) {
    this.agentEvents = new Ring(opts.ringSize);
  }

  /** The next publish order number (equal times keep their order by it). */
  nextSeq(): number {
    return ++this.seq;
  }

  peerChange(node: NodeRecord, type: ChangeNotificationType): PeerItem {
    return { ns: 0n, seq: this.nextSeq(), msg: create(ChangeNotificationSchema, { name: node.name, address: node.address, type }) };
  }

  ensureNode(name: string): NodeRecord {
    let node = this.nodes.get(name);
    if (!node) {
      node = { name, state: NodeState.NODE_CONNECTED, address: "", ring: new Ring(this.opts.ringSize), seen: 0, sinceNs: nowNs() };
      this.nodes.set(name, node);
      for (const p of this.peerFollowers) p.push(this.peerChange(node, ChangeNotificationType.PEER_ADDED));
    }
    return node;
  }

  /** Adds or updates nodes (nodes not listed are left alone). */
  setNodes(list: { name: string; state?: NodeState; address?: string }[]): void {
    for (const spec of list) {
      const node = this.ensureNode(spec.name);
      node.state = spec.state ?? NodeState.NODE_CONNECTED;
      if (spec.address !== undefined && spec.address !== node.address) {
        node.address = spec.address;
        for (const p of this.peerFollowers) p.push(this.peerChange(node, ChangeNotificationType.PEER_UPDATED));
      }
    }
  }

  nodeStatus(state: NodeState, names: string[]): WireEntry {
    const ns = nowNs();
    const bytes = encode({
      responseTypes: { case: "nodeStatus", value: { stateChange: state, nodeNames: names } },
      nodeName: this.opts.relayName,
      time: nsToTimestamp(ns),
    });
    return { ns, seq: this.nextSeq(), bytes };
  }

  lostMarker(count: number, firstNs: bigint, lastNs: bigint): Buffer {
    return encode({
      responseTypes: {
        case: "lostEvents",
        value: { source: LostEventSource.HUBBLE_RING_BUFFER, numEventsLost: BigInt(count), first: nsToTimestamp(firstNs), last: nsToTimestamp(lastNs) },
      },
      nodeName: this.opts.relayName,
      time: nsToTimestamp(nowNs()),
    });
  }

  private trackNamespaces(flow: Flow): void {
    for (const ep of [flow.source, flow.destination]) {
      if (!ep?.namespace) continue;
      const cluster = ep.clusterName || "default";
      this.namespaces.set(`${cluster}/${ep.namespace}`, { cluster, namespace: ep.namespace });
    }
  }

  publish(resp: GetFlowsResponse): void {
    const flow = resp.responseTypes.case === "flow" ? resp.responseTypes.value : undefined;
    const nodeName = resp.nodeName || flow?.nodeName || "";
    const ns = timestampToNs(resp.time) ?? timestampToNs(flow?.time) ?? nowNs();
    // Relay always fills the envelope; fill what the publisher left out, never touch the flow.
    const envelope = resp.nodeName === nodeName && resp.time ? resp : { ...resp, nodeName, time: resp.time ?? nsToTimestamp(ns) };
    const wire = toBinary(GetFlowsResponseSchema, envelope);
    // a view, not a copy: toBinary's output is exactly sized and nobody else holds it
    const entry: WireEntry = { ns, seq: this.nextSeq(), bytes: Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength) };
    if (flow) {
      this.keep(nodeName, entry);
      this.trackNamespaces(flow);
    } else {
      this.events.push(entry);
      if (resp.responseTypes.case === "nodeStatus") {
        const ev = resp.responseTypes.value;
        for (const name of ev.nodeNames) this.ensureNode(name).state = ev.stateChange;
      }
    }
    this.offer(entry, () => flow);
  }

  publishRaw(bytes: Buffer, nodeName: string, at?: bigint): void {
    const entry: WireEntry = { ns: at ?? nowNs(), seq: this.nextSeq(), bytes };
    this.keep(nodeName, entry);
    this.offer(entry, () => {
      try {
        return decodeFlow(bytes);
      } catch {
        return undefined;
      }
    });
  }

  private keep(nodeName: string, entry: WireEntry): void {
    const node = this.ensureNode(nodeName);
    node.ring.push(entry);
    node.seen++;
  }

  /** Pushes to every flow follower whose filter takes it; a follower past its `until` ends. */
  private offer(entry: WireEntry, flowOf: () => Flow | undefined): void {
    for (const f of this.flowFollowers) {
      if (f.untilNs !== undefined && entry.ns > f.untilNs) {
        f.pump.end();
        continue;
      }
      if (f.predicate) {
        const flow = flowOf();
        if (flow && !f.predicate(flow)) continue;
      }
      f.pump.push(entry);
    }
  }

  publishAgentEvent(ev: GetAgentEventsResponse): void {
    const ns = timestampToNs(ev.time) ?? nowNs();
    const msg = ev.time ? ev : { ...ev, time: nsToTimestamp(ns) };
    const entry: AgentEntry = { ns, seq: this.nextSeq(), msg };
    this.agentEvents.push(entry);
    for (const f of this.agentFollowers) {
      if (f.untilNs !== undefined && ns > f.untilNs) f.pump.end();
      else f.pump.push(entry);
    }
  }

  /** Flows per second over the last minute, by flow time (what Hubble reports). */
  flowsRate(): number {
    const from = nowNs() - NS_PER_MINUTE;
    let count = 0;
    for (const n of this.nodes.values()) {
      for (const e of n.ring.newestFirst()) {
        if (e.ns < from) break;
        count++;
      }
    }
    return count / 60;
  }

  allPumps(): StreamPump<never, unknown>[] {
    return [...[...this.flowFollowers].map((f) => f.pump), ...[...this.agentFollowers].map((f) => f.pump), ...this.peerFollowers] as unknown as StreamPump<never, unknown>[];
  }
}
