/**
 * What the map needs from one flow context (the shared part of many flows: endpoints, verdict,
 * reply flag, policies), decoded once: both nodes already oriented client → server, so a reply
 * (is_reply, or the deprecated `reply`) counts on its request's edge instead of drawing a second,
 * reversed edge.
 */
import { isReply, observationOf, showsArrival } from "../connections/observation";
import { pairInfo, type PairInfo } from "../connections/denied-packets";
import { isNoise, nodeOf } from "./graph-node";
import type { GraphNode, VerdictCounts } from "./graph-types";
import { record, strs, text } from "@/server/domain/shared/json";

type J = Record<string, unknown>;

export interface GraphContext {
  /** the client side */
  from: GraphNode;
  /** the server side */
  to: GraphNode;
  reply: boolean;
  verdict: keyof VerdictCounts;
  /**
   * The flow shows the connection arrived (server/domain/connections/observation.ts): a reply, or
   * the server's ingress letting it in. A denied connection between nodes is still FORWARDED at
   * the source node (to-overlay) before the destination drops it, so "all dropped" must mean
   * "nothing got through", not "no FORWARDED".
   */
  delivered: boolean;
  /** one half of a denied packet (drop event or policy verdict): the map counts the packet once */
  pair?: PairInfo;
  /** drop reason name (or number as text) of a DROPPED/ERROR context */
  dropReason?: string;
  allowedBy: string[];
  deniedBy: string[];
  /** the edge id (computed once per context, not per counter) */
  edge?: string;
  /** either end is noise (host/health/unmanaged/kube-system) */
  noise?: boolean;
  /** the edge's number in GraphBuilder's shared numbering, set on first use */
  slot?: number;
}

const VERDICTS: Record<string, keyof VerdictCounts> = {
  FORWARDED: "forwarded",
  "1": "forwarded",
  DROPPED: "dropped",
  "2": "dropped",
  ERROR: "error",
  "3": "error",
  AUDIT: "audit",
  "4": "audit",
};

/** verdict names or numbers; anything unknown (a newer agent's verdict) is "other", never an error */
export function verdictGroup(v: unknown): keyof VerdictCounts {
  return VERDICTS[String(v ?? "")] ?? "other";
}

function policyNames(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map(record).flatMap((p) => {
    const name = text(p.name);
    if (!name) return [];
    const ns = text(p.namespace);
    return [ns ? `${ns}/${name}` : name];
  });
}

export function graphContext(flow: J): GraphContext {
  const ip = record(flow.IP);
  const src = nodeOf(flow.source, text(ip.source), strs(flow.source_names));
  const dst = nodeOf(flow.destination, text(ip.destination), strs(flow.destination_names));
  const reply = isReply(flow);
  const verdict = verdictGroup(flow.verdict);
  const ctx: GraphContext = {
    from: reply ? dst : src,
    to: reply ? src : dst,
    reply,
    verdict,
    delivered: showsArrival(observationOf(flow)),
    allowedBy: [...new Set([...policyNames(flow.ingress_allowed_by), ...policyNames(flow.egress_allowed_by)])],
    deniedBy: [...new Set([...policyNames(flow.ingress_denied_by), ...policyNames(flow.egress_denied_by)])],
  };
  const pair = pairInfo(flow);
  if (pair) ctx.pair = pair;
  ctx.edge = edgeId(ctx.from, ctx.to);
  ctx.noise = isNoise(ctx.from) || isNoise(ctx.to);
  if (verdict === "dropped" || verdict === "error") {
    const r = flow.drop_reason_desc ?? flow.drop_reason;
    ctx.dropReason = r === undefined || r === 0 ? "UNKNOWN" : String(r);
  }
  return ctx;
}

export function edgeId(from: GraphNode, to: GraphNode): string {
  return `${from.id}->${to.id}`;
}
