/**
 * Where and how one flow (a Hubble event) saw its connection: the single place that reads event
 * type, traffic direction, reply flag and observation point. A connection (client → server) has
 * two ends that may enforce policy — the client's egress and the server's ingress — and Hubble
 * reports each packet at every point it passes:
 *
 *   client pod ─ egress policy ─▶ to-overlay / to-stack ─ ─ ─▶ ingress policy ─▶ to-endpoint ─ server pod
 *               (policy-verdict,   (trace, EGRESS)              (policy-verdict,   (trace, INGRESS)
 *                drop if denied)                                 drop if denied)
 *
 * So a FORWARDED flow at the client's egress only says the packet left; whether it arrived is said
 * by the server's end (forwarded at ingress) or by a reply. Traffic direction is relative to the
 * connection, not the packet: a reply leaving the server is still INGRESS (the server's end).
 */
import { POLICY_REASONS, dropReasonNumber } from "../shared/drop-reasons";
import { allowedBy, deniedBy, policyList, type PolicyRef } from "../drops/drop-group";
import { flowPeers, type Peer } from "../shared/peer";
import { record } from "@/server/domain/shared/json";

type J = Record<string, unknown>;

/** Monitor message types (event_type.type). */
export const EVENT_DROP = 1;
export const EVENT_TRACE = 4;
export const EVENT_POLICY_VERDICT = 5;
export const EVENT_L7 = 129;

export type EventKind = "drop" | "trace" | "policy-verdict" | "l7" | "other";
/** the client's egress, the server's ingress, or not known */
export type End = "egress" | "ingress" | "unknown";
/**
 * What the event says its end did: allowed it on (forwarded, redirected to a proxy), denied it by
 * policy, let it through in audit mode, dropped it for a reason no policy controls, or nothing
 * (an error, a verdict this build does not know).
 */
export type Decision = "allowed" | "denied" | "audit" | "dropped" | "none";

export interface Observation {
  kind: EventKind;
  end: End;
  reply: boolean;
  decision: Decision;
  /** drop reason number (0 when none) */
  reason: number;
  /** the policies of this end that allowed / denied it */
  allowedBy: PolicyRef[];
  deniedBy: PolicyRef[];
  /** the connection's ends: client (who opened it) and server, whatever way this packet went */
  client: Peer;
  server: Peer;
  node?: string;
}

const VERDICT: Record<string, number> = { FORWARDED: 1, DROPPED: 2, ERROR: 3, AUDIT: 4, REDIRECTED: 5, TRACED: 6, TRANSLATED: 7 };

export function verdictNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") return VERDICT[v] ?? (/^\d+$/.test(v) ? Number(v) : 0);
  return 0;
}

function eventKind(flow: J): EventKind {
  const type = Number(record(flow.event_type).type ?? NaN);
  if (type === EVENT_DROP) return "drop";
  if (type === EVENT_TRACE) return "trace";
  if (type === EVENT_POLICY_VERDICT) return "policy-verdict";
  if (type === EVENT_L7) return "l7";
  // older agents or hand-made flows without event_type: the flow type and verdict say enough
  if (Number.isNaN(type)) {
    if (flow.Type === "L7" || flow.Type === 2 || flow.l7 !== undefined) return "l7";
    if (verdictNumber(flow.verdict) === 2) return "drop";
  }
  return "other";
}

/** Trace sub types are observation points (TraceObservationPoint numbers 0…11). */
const TRACE_POINTS = ["TO_ENDPOINT", "TO_PROXY", "TO_HOST", "TO_STACK", "TO_OVERLAY", "FROM_ENDPOINT", "FROM_PROXY", "FROM_HOST", "FROM_STACK", "FROM_OVERLAY", "FROM_NETWORK", "TO_NETWORK"];
const POINT_NAMES: Record<number, string> = Object.fromEntries(TRACE_POINTS.map((n, i) => [i === 0 ? 101 : i, n]));

function observationPoint(flow: J): string | undefined {
  const p = flow.trace_observation_point;
  if (typeof p === "string" && p !== "UNKNOWN_POINT") return p;
  if (typeof p === "number" && p !== 0) return POINT_NAMES[p];
  const et = record(flow.event_type);
  if (Number(et.type) === EVENT_TRACE) return TRACE_POINTS[Number(et.sub_type ?? 0)];
  return undefined;
}

export function isReply(flow: J): boolean {
  return flow.is_reply === true || (flow.is_reply === undefined && flow.reply === true);
}

function endOf(flow: J, reply: boolean): End {
  const dir = flow.traffic_direction;
  if (dir === "INGRESS" || dir === 1) return "ingress";
  if (dir === "EGRESS" || dir === 2) return "egress";
  // no direction (older agents, some traces): arriving at an endpoint is the receiver's end, leaving one the sender's
  const point = observationPoint(flow);
  if (point === "TO_ENDPOINT") return reply ? "egress" : "ingress";
  if (point === "FROM_ENDPOINT") return reply ? "ingress" : "egress";
  return "unknown";
}

function decisionOf(verdict: number, reason: number): Decision {
  switch (verdict) {
    case 1:
    case 5:
      return "allowed";
    case 2:
      return POLICY_REASONS.has(reason) ? "denied" : "dropped";
    case 4:
      return "audit";
    default:
      return "none";
  }
}

export function observationOf(flow: J): Observation {
  const reply = isReply(flow);
  const end = endOf(flow, reply);
  const verdict = verdictNumber(flow.verdict);
  const reason = dropReasonNumber((flow.drop_reason_desc ?? flow.drop_reason) as string | number | undefined);
  const { src, dst } = flowPeers(flow);
  // the end's own policy lists; both when the end is not known
  const pick = (list: "allowed" | "denied"): PolicyRef[] => {
    if (end === "unknown") return list === "allowed" ? allowedBy(flow) : deniedBy(flow);
    return policyList(flow[`${end}_${list}_by`]);
  };
  return {
    kind: eventKind(flow),
    end,
    reply,
    decision: decisionOf(verdict, reason),
    reason,
    allowedBy: pick("allowed"),
    deniedBy: pick("denied"),
    client: reply ? dst : src,
    server: reply ? src : dst,
    node: typeof flow.node_name === "string" ? flow.node_name : undefined,
  };
}

/**
 * Whether a Cilium endpoint receives for this peer, i.e. whether its ingress is an observation
 * point: pods are endpoints; the world, CIDRs and the node entities are not (traffic to them is
 * only seen leaving the client).
 */
export function hasIngressPoint(p: Peer): boolean {
  return p.kind === "pod";
}

/**
 * Evidence that the connection reached the server: a reply, or the server's end letting it in
 * (also in audit mode, which only reports). For a server without an ingress point the client's
 * egress letting it out is all there is.
 */
export function showsArrival(o: Observation): boolean {
  if (o.decision !== "allowed" && o.decision !== "audit") return false;
  if (o.reply) return true;
  if (o.end === "ingress") return true;
  return o.end === "egress" && !hasIngressPoint(o.server);
}
