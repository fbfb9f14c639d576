/**
 * /flows filters for a map node or edge, so the side panel can list its flows and link to them.
 * A workload node is its pods: `pod=<ns>/<workload>-` (Deployment/StatefulSet pods are named after
 * their controller) — or its app label when the node was grouped by label; external nodes use
 * fqdn/ip filters; reserved identities their `reserved:` label. An edge is from-side AND to-side
 * (the request direction; replies travel the other way and are counted on the edge, not listed).
 * A collapsed namespace is `namespace=`; an aggregated edge is each side's namespace or workload.
 * The "outside the cluster" and "cluster identities" groups have no single filter: no link.
 */
import type { MapGroup } from "@/server/domain/graph/graph-collapse";
import type { GraphNode } from "@/server/domain/graph/graph-types";

type Side = "from" | "to" | "";

function sideParams(n: GraphNode, side: Side): [string, string][] {
  const k = (name: string) => (side ? `${side}-${name}` : name);
  const out: [string, string][] = [];
  switch (n.kind) {
    case "workload":
      if (n.workload) out.push([k("pod"), `${n.namespace}/${n.label}-`]);
      else if (n.app) out.push([k("label"), `app=${n.app}`], [k("namespace"), n.namespace ?? ""]);
      else out.push([k("pod"), `${n.namespace}/`]);
      break;
    case "fqdn":
      out.push([k("fqdn"), n.label]);
      break;
    case "cidr":
      out.push([k("ip"), n.label]);
      break;
    case "world":
      out.push([k("label"), "reserved:world"]);
      break;
    case "unknown":
      break;
    default:
      out.push([k("label"), `reserved:${n.kind}`]);
  }
  if (n.cluster && side === "") out.push(["cluster", n.cluster]);
  return out;
}

function groupParams(g: MapGroup, side: Side): [string, string][] | null {
  if (g.kind !== "namespace" || !g.namespace) return null;
  const out: [string, string][] = [[side ? `${side}-namespace` : "namespace", g.namespace]];
  if (g.cluster && g.cluster !== "default" && side === "") out.push(["cluster", g.cluster]);
  return out;
}

export interface TimeParams {
  since?: string;
  until?: string;
}

export function nodeFlowsQuery(n: GraphNode, t: TimeParams): URLSearchParams {
  return withTime(new URLSearchParams(sideParams(n, "")), t);
}

export function edgeFlowsQuery(from: GraphNode, to: GraphNode, t: TimeParams): URLSearchParams {
  return withTime(new URLSearchParams([...sideParams(from, "from"), ...sideParams(to, "to")]), t);
}

function withTime(p: URLSearchParams, t: TimeParams): URLSearchParams {
  if (t.since) p.set("since", t.since);
  if (t.until) p.set("until", t.until);
  return p;
}

export function groupFlowsQuery(g: MapGroup, t: TimeParams): URLSearchParams | null {
  const side = groupParams(g, "");
  return side ? withTime(new URLSearchParams(side), t) : null;
}

/** an aggregated edge's ends: a collapsed group, or a workload of an expanded one */
export type EdgeEnd = { group: MapGroup } | { node: GraphNode };

export function aggregateFlowsQuery(from: EdgeEnd, to: EdgeEnd, t: TimeParams): URLSearchParams | null {
  const side = (e: EdgeEnd, s: Side) => ("group" in e ? groupParams(e.group, s) : sideParams(e.node, s));
  const a = side(from, "from");
  const b = side(to, "to");
  return a && b ? withTime(new URLSearchParams([...a, ...b]), t) : null;
}
