/**
 * A TCP connection as Hubble sees it with the default monitor aggregation ("medium"): each new
 * combination of TCP flags per direction is reported once (SYN, SYN-ACK, ACK, ACK-PSH, ACK-FIN),
 * at every observation point on the path:
 * - the source node: policy verdict for the first packet (egress policy), then "to-overlay" when
 *   the peer is on another node or "to-stack" when it leaves the cluster;
 * - the destination node: policy verdict (ingress policy), then "to-endpoint" (or "to-proxy" when
 *   an L7 rule redirects it to Envoy).
 * A denied SYN is dropped where the policy is enforced and retransmitted (1 s, 3 s) like Linux.
 */
import { DropReason } from "@/proto/gen/flow/flow_pb";
import {
  EventType,
  TraceObservationPoint,
  TraceReason,
  TrafficDirection,
  Verdict,
  type FlowSpec,
  type TcpFlagSet,
} from "./demo-flow-builder";
import type { Decision } from "./demo-policy-decisions";
import type { DemoRandom } from "./demo-random";
import type { Peer, ServiceInit } from "./demo-topology";

/** Cilium trace sub types (event_type.sub_type for type 4). */
const TraceSub = { toEndpoint: 0, toProxy: 1, toHost: 2, toStack: 3, toOverlay: 4 } as const;

const VXLAN = { index: 6, name: "cilium_vxlan" };

/** Where bpf_lxc.c drops policy-denied packets (Summary of `hubble observe -o json` shows file/line). */
const POLICY_DROP_FILE = { name: "bpf_lxc.c", line: 2065 };

export interface TcpConnection {
  atMs: number;
  client: Peer;
  server: Peer;
  serverPort: number;
  clientPort?: number;
  egress?: Decision;
  ingress?: Decision;
  /** service the client addressed (socket-LB already translated the IP to a backend) */
  service?: ServiceInit;
  /** network round trip */
  rttMs?: number;
  /** time the server takes to answer the request */
  serverMs?: number;
  /** SYN retransmits after a drop (default 2: attempts at 0, 1 s, 3 s) */
  retries?: number;
  /** false: the connection stays open (pooled), no FIN seen yet */
  close?: boolean;
}

export interface TcpResult {
  flows: FlowSpec[];
  /** false when a policy dropped the SYN */
  established: boolean;
  clientPort: number;
  /** when the request (first PSH) reached the server */
  requestMs: number;
  /** when the response left the server */
  responseMs: number;
  /** when the client gave up (dropped) or the connection closed */
  endMs: number;
}

const policyVerdict = (d: Decision): Verdict =>
  d.kind === "deny" ? Verdict.DROPPED : d.redirect ? Verdict.REDIRECTED : Verdict.FORWARDED;

export function tcpConnection(rand: DemoRandom, c: TcpConnection): TcpResult {
  const clientPort = c.clientPort ?? rand.ephemeralPort();
  const rtt = c.rttMs ?? (c.client.node && c.client.node === c.server.node ? rand.between(0.04, 0.15) : rand.between(0.2, 0.9));
  const flows: FlowSpec[] = [];
  const { client, server } = c;
  const l4 = (fwd: boolean, flags: TcpFlagSet) => ({
    proto: "TCP" as const,
    srcPort: fwd ? clientPort : c.serverPort,
    dstPort: fwd ? c.serverPort : clientPort,
    flags,
  });
  const services = (fwd: boolean) => ({
    srcService: fwd ? undefined : c.service,
    dstService: fwd ? c.service : undefined,
  });

  /** One packet, reported where the agent(s) see it. Returns false if it was dropped. */
  const packet = (atMs: number, fwd: boolean, flags: TcpFlagSet, first: boolean): boolean => {
    const from = fwd ? client : server;
    const to = fwd ? server : client;
    const src = from;
    const dst = to;
    // direction of the connection as seen from the endpoint reporting it
    const fromDir = fwd ? TrafficDirection.EGRESS : TrafficDirection.INGRESS;
    const toDir = fwd ? TrafficDirection.INGRESS : TrafficDirection.EGRESS;
    const isReply = !fwd;
    const reason = fwd ? (first ? TraceReason.NEW : TraceReason.ESTABLISHED) : TraceReason.REPLY;
    const base = { src, dst, l4: l4(fwd, flags), isReply, ...services(fwd) };
    let t = atMs;

    if (from.managed && from.node) {
      if (fwd && first && c.egress && !decide(flows, { ...base, atMs: t, node: from.node, direction: TrafficDirection.EGRESS }, c.egress)) return false;
      if (to.node !== from.node || !to.managed) {
        const overlay = to.managed && to.node !== undefined;
        flows.push({
          ...base,
          atMs: (t += 0.004),
          node: from.node,
          verdict: Verdict.FORWARDED,
          eventType: EventType.trace,
          subType: overlay ? TraceSub.toOverlay : TraceSub.toStack,
          point: overlay ? TraceObservationPoint.TO_OVERLAY : TraceObservationPoint.TO_STACK,
          iface: overlay ? VXLAN : undefined,
          direction: fromDir,
          traceReason: reason,
        });
      }
    }
    t += from.node === to.node ? 0.01 : rtt / 2;
    if (to.managed && to.node) {
      const d = fwd && first ? c.ingress : undefined;
      if (d && !decide(flows, { ...base, atMs: t, node: to.node, direction: TrafficDirection.INGRESS }, d)) return false;
      const proxied = fwd && c.ingress?.kind === "allow" && c.ingress.redirect;
      flows.push({
        ...base,
        atMs: t + 0.003,
        node: to.node,
        verdict: Verdict.FORWARDED,
        eventType: EventType.trace,
        subType: proxied ? TraceSub.toProxy : TraceSub.toEndpoint,
        point: proxied ? TraceObservationPoint.TO_PROXY : TraceObservationPoint.TO_ENDPOINT,
        direction: toDir,
        traceReason: reason,
      });
    }
    return true;
  };

  let t = c.atMs;
  const attempts = 1 + (c.retries ?? 2);
  for (let i = 0; i < attempts; i++) {
    if (packet(t, true, { SYN: true }, true)) break;
    if (i === attempts - 1) return { flows, established: false, clientPort, requestMs: t, responseMs: t, endMs: t };
    t = c.atMs + 1000 * (2 ** (i + 1) - 1);
  }
  packet((t += rtt / 2), false, { SYN: true, ACK: true }, false);
  packet((t += rtt / 2), true, { ACK: true }, false);
  packet((t += rand.between(0.05, 0.4)), true, { ACK: true, PSH: true }, false);
  const requestMs = t + rtt / 2;
  const responseMs = requestMs + (c.serverMs ?? rand.between(0.5, 8));
  packet(responseMs, false, { ACK: true, PSH: true }, false);
  t = responseMs + rtt / 2;
  if (c.close !== false) {
    packet((t += rand.between(0.1, 2)), true, { ACK: true, FIN: true }, false);
    packet((t += rtt / 2 + 0.05), false, { ACK: true, FIN: true }, false);
  }
  return { flows, established: true, clientPort, requestMs, responseMs, endMs: t };
}

type DropBase = Omit<FlowSpec, "verdict" | "eventType">;

/**
 * One end's policy decision on a connection's first packet: its policy-verdict event, and when
 * denied the drop event right after. False when the packet was dropped there.
 */
function decide(flows: FlowSpec[], at: DropBase & { direction: TrafficDirection }, d: Decision): boolean {
  const egress = at.direction === TrafficDirection.EGRESS;
  const allowedBy = d.kind === "allow" ? d.policies : undefined;
  const deniedBy = d.kind === "deny" ? d.policies : undefined;
  flows.push({
    ...at,
    verdict: policyVerdict(d),
    eventType: EventType.policyVerdict,
    isReply: false,
    matchType: d.kind === "allow" ? d.matchType : 0,
    ...(egress ? { egressAllowedBy: allowedBy, egressDeniedBy: deniedBy } : { ingressAllowedBy: allowedBy, ingressDeniedBy: deniedBy }),
    dropReason: d.kind === "deny" ? d.reason : undefined,
  });
  if (d.kind !== "deny") return true;
  flows.push(dropFlow({ ...at, atMs: at.atMs + 0.002 }, d));
  return false;
}

export function dropFlow(base: DropBase, d: Extract<Decision, { kind: "deny" }>): FlowSpec {
  return {
    ...base,
    verdict: Verdict.DROPPED,
    eventType: EventType.drop,
    subType: d.reason,
    dropReason: d.reason,
    isReply: false,
    file: POLICY_DROP_FILE,
    egressDeniedBy: base.direction === TrafficDirection.EGRESS ? d.policies : undefined,
    ingressDeniedBy: base.direction === TrafficDirection.INGRESS ? d.policies : undefined,
  };
}

/** A datapath drop that is not about policy (CT map full, stale IP, an unknown reason number). */
export function datapathDrop(base: DropBase, reason: DropReason | number, file: { name: string; line: number }): FlowSpec {
  return {
    ...base,
    verdict: Verdict.DROPPED,
    eventType: EventType.drop,
    subType: reason,
    dropReason: reason as DropReason,
    file,
  };
}

export { DropReason };
