/**
 * Turns a compact description of one observed packet/event (FlowSpec) into the GetFlowsResponse a
 * Cilium 1.19 agent would send: uuid, time, node name and labels, endpoints, IP, L4, event type,
 * observation point, direction, reply flags, policy attribution and Hubble's Summary text.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  EmitterSchema,
  EndpointSchema,
  FlowType,
  IPVersion,
  PolicySchema,
  ServiceSchema,
  TraceObservationPoint,
  TraceReason,
  TrafficDirection,
  Verdict,
  type DropReason,
  type Endpoint,
  type FlowSchema,
  type Layer7Schema,
  type Policy,
  type Service,
} from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema, type GetFlowsResponse } from "@/proto/gen/observer/observer_pb";
import { nsToTimestamp } from "@/server/flow-codec/timestamp";
import type { DemoRandom } from "./demo-random";
import type { PolicyInit } from "./demo-policies";
import type { DemoNode, EndpointInit, Peer, ServiceInit } from "./demo-topology";

/** Monitor message types (event_type.type). */
export const EventType = { drop: 1, trace: 4, policyVerdict: 5, l7: 129 } as const;

export interface TcpFlagSet {
  SYN?: boolean;
  ACK?: boolean;
  FIN?: boolean;
  RST?: boolean;
  PSH?: boolean;
}

export type L4Spec =
  | { proto: "TCP"; srcPort: number; dstPort: number; flags?: TcpFlagSet }
  | { proto: "UDP"; srcPort: number; dstPort: number }
  | { proto: "ICMPv4"; type: number; code?: number };

export interface FlowSpec {
  atMs: number;
  node: DemoNode;
  src: Peer;
  dst: Peer;
  l4: L4Spec;
  verdict: Verdict;
  eventType: number;
  subType?: number;
  direction: TrafficDirection;
  point?: TraceObservationPoint;
  /** undefined leaves is_reply unset ("unknown"), as for some reserved-identity traces */
  isReply?: boolean;
  traceReason?: TraceReason;
  flowType?: FlowType;
  l7?: MessageInitShape<typeof Layer7Schema>;
  summary?: string;
  dropReason?: DropReason;
  matchType?: number;
  egressAllowedBy?: PolicyInit[];
  ingressAllowedBy?: PolicyInit[];
  egressDeniedBy?: PolicyInit[];
  ingressDeniedBy?: PolicyInit[];
  iface?: { index: number; name: string };
  srcService?: ServiceInit;
  dstService?: ServiceInit;
  proxyPort?: number;
  /** datapath source location of a drop */
  file?: { name: string; line: number };
}

const EMITTER = create(EmitterSchema, { name: "Hubble", version: "1.19.1" });

/*
 * Sub-messages are built once and shared by every flow that uses them: create() keeps message
 * values as they are, and most of a flow's weight is its endpoints' labels. Flows are never
 * mutated after building, so sharing is safe and saves most of the allocation (and GC).
 */
const endpoints = new WeakMap<EndpointInit, Endpoint>();
const services = new WeakMap<ServiceInit, Service>();
const policies = new WeakMap<PolicyInit, Policy>();

function cached<I extends object, M>(cache: WeakMap<I, M>, init: I, make: (i: I) => M): M {
  let m = cache.get(init);
  if (!m) cache.set(init, (m = make(init)));
  return m;
}

const endpointMsg = (e: EndpointInit) => cached(endpoints, e, (i) => create(EndpointSchema, i));
const serviceMsg = (s: ServiceInit | undefined) => s && cached(services, s, (i) => create(ServiceSchema, i));
const policyMsgs = (list: PolicyInit[] | undefined) => (list ?? []).map((p) => cached(policies, p, (i) => create(PolicySchema, i)));

/** Order Hubble prints TCP flags in ("TCP Flags: SYN, ACK", "TCP Flags: ACK, FIN"). */
const FLAG_ORDER = ["SYN", "ACK", "RST", "FIN", "PSH"] as const;

export function tcpFlagsText(flags: TcpFlagSet | undefined): string {
  return FLAG_ORDER.filter((f) => flags?.[f]).join(", ");
}

export function l4Summary(l4: L4Spec): string {
  switch (l4.proto) {
    case "TCP":
      return `TCP Flags: ${tcpFlagsText(l4.flags)}`;
    case "UDP":
      return "UDP";
    case "ICMPv4":
      return l4.type === 8 ? "ICMPv4 EchoRequest" : l4.type === 0 ? "ICMPv4 EchoReply" : `ICMPv4 Type ${l4.type}`;
  }
}

/** ms (fractional) since the epoch → ns; the fraction keeps sub-millisecond spacing. */
export function msToNs(ms: number): bigint {
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.floor((ms - whole) * 1_000_000));
}

function layer4(l4: L4Spec): MessageInitShape<typeof FlowSchema>["l4"] {
  switch (l4.proto) {
    case "TCP":
      return {
        protocol: {
          case: "TCP",
          value: { sourcePort: l4.srcPort, destinationPort: l4.dstPort, flags: l4.flags ? { ...l4.flags } : undefined },
        },
      };
    case "UDP":
      return { protocol: { case: "UDP", value: { sourcePort: l4.srcPort, destinationPort: l4.dstPort } } };
    case "ICMPv4":
      return { protocol: { case: "ICMPv4", value: { type: l4.type, code: l4.code ?? 0 } } };
  }
}

export function buildFlow(rand: DemoRandom, s: FlowSpec): GetFlowsResponse {
  const time = nsToTimestamp(msToNs(s.atMs));
  const isL7 = s.flowType === FlowType.L7;
  const flow: MessageInitShape<typeof FlowSchema> = {
    time,
    uuid: rand.uuid(),
    verdict: s.verdict,
    dropReason: s.dropReason ?? 0,
    dropReasonDesc: s.dropReason ?? 0,
    // the proxy does not see Ethernet headers
    ethernet: !isL7 && s.src.mac && s.dst.mac ? { source: s.src.mac, destination: s.dst.mac } : undefined,
    IP: { source: s.src.ip, destination: s.dst.ip, ipVersion: IPVersion.IPv4 },
    l4: layer4(s.l4),
    source: endpointMsg(s.src.endpoint),
    destination: endpointMsg(s.dst.endpoint),
    Type: s.flowType ?? FlowType.L3_L4,
    nodeName: s.node.name,
    nodeLabels: s.node.labels,
    sourceNames: s.src.names && s.isReply ? s.src.names : [],
    destinationNames: s.dst.names && !s.isReply ? s.dst.names : [],
    l7: s.l7,
    reply: s.isReply === true,
    isReply: s.isReply,
    eventType: { type: s.eventType, subType: s.subType ?? 0 },
    sourceService: serviceMsg(s.srcService),
    destinationService: serviceMsg(s.dstService),
    trafficDirection: s.direction,
    policyMatchType: s.matchType ?? 0,
    traceObservationPoint: s.point ?? TraceObservationPoint.UNKNOWN_POINT,
    traceReason: s.traceReason ?? TraceReason.TRACE_REASON_UNKNOWN,
    interface: s.iface,
    proxyPort: s.proxyPort ?? 0,
    file: s.file,
    emitter: EMITTER,
    egressAllowedBy: policyMsgs(s.egressAllowedBy),
    ingressAllowedBy: policyMsgs(s.ingressAllowedBy),
    egressDeniedBy: policyMsgs(s.egressDeniedBy),
    ingressDeniedBy: policyMsgs(s.ingressDeniedBy),
    Summary: s.summary ?? l4Summary(s.l4),
  };
  return create(GetFlowsResponseSchema, {
    responseTypes: { case: "flow", value: flow },
    nodeName: s.node.name,
    time,
  });
}

export { FlowType, TraceObservationPoint, TraceReason, TrafficDirection, Verdict };
