/**
 * What the /map canvas draws for a graph: every workload, or — for big clusters — one node per
 * namespace with the edges between namespaces folded into one edge per (client, server) pair.
 * At 1,000 workloads / 5,000 edges every-edge drawing is a hairball that takes seconds to paint
 * (shared/notes/graph-scale.md); 50 namespace nodes and their aggregated edges paint in well
 * under a second and still show every drop: an aggregated edge is "dropped" when all its edges
 * are, "mixed" when any of them drops. Expanded namespaces show their workloads in place, and
 * their edges to collapsed namespaces end at the namespace node.
 * Pure: no React, no cytoscape; the page turns a MapView into cytoscape elements.
 */
import type { EdgeState, GraphEdge, GraphNode, GraphNodeKind, PortCount } from "./graph-types";
import { edgeId } from "./graph-context";

/**
 * Above either bound the page opens on the namespace overview. Measured (bench:map, software
 * canvas, 2 cores): the whole graph's first frame grows roughly linearly with elements, ~1 ms per
 * element with namespace boxes, so ~300 workloads with ~1,500 edges is about where it passes 1.5 s;
 * it is also where a fitted map leaves a workload less than ~60 px, too little for its label.
 */
export const OVERVIEW_MIN_WORKLOADS = 300;
export const OVERVIEW_MIN_EDGES = 1500;

/** at most this many namespaces are opened by a search by themselves (more would be the hairball again) */
export const SEARCH_EXPANDS_AT_MOST = 3;

export type GroupKind = "namespace" | "external" | "cluster";

export interface MapGroup {
  /** also the id of the namespace's box (expanded) or node (collapsed) on the canvas */
  id: string;
  label: string;
  kind: GroupKind;
  namespace?: string;
  cluster?: string;
}

/** which box a node sits in: its namespace, "outside the cluster", or "cluster identities" */
export function groupOf(n: GraphNode): MapGroup {
  if (n.kind === "workload") {
    const c = n.cluster && n.cluster !== "default" ? `${n.cluster} · ` : "";
    return { id: `ns:${n.cluster ?? ""}/${n.namespace}`, label: `${c}${n.namespace}`, kind: "namespace", namespace: n.namespace, cluster: n.cluster };
  }
  if (n.kind === "fqdn" || n.kind === "cidr" || n.kind === "world") return { id: "grp:external", label: "outside the cluster", kind: "external" };
  return { id: "grp:cluster", label: "cluster identities", kind: "cluster" };
}

export function isGroupId(id: string): boolean {
  return id.startsWith("ns:") || id.startsWith("grp:");
}

/** Big enough to open on namespaces? */
export function isLargeGraph(g: { nodes: GraphNode[]; edges: GraphEdge[] }): boolean {
  let workloads = 0;
  for (const n of g.nodes) if (n.kind === "workload") workloads++;
  return workloads > OVERVIEW_MIN_WORKLOADS || g.edges.length > OVERVIEW_MIN_EDGES;
}

/** "TCP/8080, UDP/53 +2": the two busiest ports of an edge */
export function portsLabel(ports: PortCount[]): string {
  const shown = ports.slice(0, 2).map((p) => (p.port ? `${p.protocol}/${p.port}` : p.protocol));
  return shown.join(", ") + (ports.length > 2 ? ` +${ports.length - 2}` : "");
}

/** the state of edges taken together: all dropped → dropped, none → forwarded, else mixed */
export function mergeState(a: EdgeState, b: EdgeState): EdgeState {
  return a === b ? a : "mixed";
}

export function searchText(n: GraphNode): string {
  return `${n.label} ${n.namespace ?? ""} ${n.workload ?? ""}`.toLowerCase();
}

export interface GroupSummary extends MapGroup {
  /** node ids in the group */
  members: string[];
  /** edges with both ends in the group */
  internalEdges: number;
  internalFlows: number;
  /** internal edges that drop (all or some of their flows) */
  internalDropping: number;
  /** edges from or to another group */
  crossEdges: number;
}

export interface ViewNode {
  id: string;
  label: string;
  /** "group" for a collapsed group */
  kind: GraphNodeKind | "group";
  /** the expanded group's box this node sits in */
  parent?: string;
  /** lower-cased text the search box matches */
  search: string;
  /** group nodes: the summary behind the node or box */
  group?: GroupSummary;
  /** group nodes: expanded (a box around its workloads) rather than one node */
  open?: boolean;
}

export interface ViewEdge {
  id: string;
  source: string;
  target: string;
  state: EdgeState;
  flows: number;
  /** label: ports, with the number of edges for an aggregate */
  label: string;
  /** the graph's edge ids drawn as this one (one for a plain edge) */
  members: string[];
  /** members that drop some or all of their flows */
  dropping: number;
}

export interface MapView {
  nodes: ViewNode[];
  edges: ViewEdge[];
  groups: Map<string, GroupSummary>;
  /** graph node id → the canvas node it is drawn as (itself, or its collapsed group) */
  shownAs: Map<string, string>;
}

export function aggregateEdgeId(source: string, target: string): string {
  return `agg:${source}->${target}`;
}

export function isAggregateId(id: string): boolean {
  return id.startsWith("agg:");
}

/**
 * Whether traffic between `from` and `to` (a context's ends) is part of the map element `id`: a
 * node (either end), an edge, a namespace or other group (either end inside it), or an aggregated
 * edge between two canvas nodes (each a group or a node). What the selection's flows/s counts.
 */
export function onMapElement(id: string): (from: GraphNode, to: GraphNode) => boolean {
  const at = (canvasId: string) => (n: GraphNode) => (isGroupId(canvasId) ? groupOf(n).id === canvasId : n.id === canvasId);
  if (isAggregateId(id)) {
    const rest = id.slice("agg:".length);
    const arrow = rest.indexOf("->");
    if (arrow < 0) return () => false;
    const [source, target] = [at(rest.slice(0, arrow)), at(rest.slice(arrow + 2))];
    return (from, to) => source(from) && target(to);
  }
  if (id.includes("->")) return (from, to) => edgeId(from, to) === id;
  const on = at(id);
  return (from, to) => on(from) || on(to);
}

/**
 * The view with the groups in `expanded` (or every group) showing their nodes and the others
 * collapsed. Edges inside a collapsed group are counted on its node, not drawn.
 */
export function collapseGraph(g: { nodes: GraphNode[]; edges: GraphEdge[] }, expanded: ReadonlySet<string> | "all"): MapView {
  const groups = new Map<string, GroupSummary>();
  const groupOfNode = new Map<string, string>();
  for (const n of g.nodes) {
    const grp = groupOf(n);
    let s = groups.get(grp.id);
    if (!s) groups.set(grp.id, (s = { ...grp, members: [], internalEdges: 0, internalFlows: 0, internalDropping: 0, crossEdges: 0 }));
    s.members.push(n.id);
    groupOfNode.set(n.id, grp.id);
  }
  const open = (grp: string) => expanded === "all" || expanded.has(grp);
  const shownAs = new Map<string, string>();
  const nodes: ViewNode[] = [];
  for (const s of groups.values()) {
    if (open(s.id)) nodes.push({ id: s.id, label: s.label, kind: "group", search: "", group: s, open: true });
  }
  for (const n of g.nodes) {
    const grp = groupOfNode.get(n.id)!;
    if (open(grp)) {
      shownAs.set(n.id, n.id);
      nodes.push({ id: n.id, label: n.label, kind: n.kind, parent: grp, search: searchText(n) });
    } else shownAs.set(n.id, grp);
  }

  const edges: ViewEdge[] = [];
  const aggregates = new Map<string, { edge: ViewEdge; ports: Map<string, PortCount> }>();
  for (const e of g.edges) {
    const ga = groupOfNode.get(e.source);
    const gb = groupOfNode.get(e.target);
    if (!ga || !gb) continue;
    const dropping = e.state === "forwarded" ? 0 : 1;
    if (ga === gb) {
      const s = groups.get(ga)!;
      s.internalEdges++;
      s.internalFlows += e.flows;
      s.internalDropping += dropping;
    } else {
      groups.get(ga)!.crossEdges++;
      groups.get(gb)!.crossEdges++;
    }
    const a = shownAs.get(e.source)!;
    const b = shownAs.get(e.target)!;
    if (a === e.source && b === e.target) {
      edges.push({ id: e.id, source: a, target: b, state: e.state, flows: e.flows, label: portsLabel(e.ports), members: [e.id], dropping });
      continue;
    }
    if (a === b) continue; // inside one collapsed group: counted on its node
    const id = aggregateEdgeId(a, b);
    let agg = aggregates.get(id);
    if (!agg) {
      agg = { edge: { id, source: a, target: b, state: e.state, flows: 0, label: "", members: [], dropping: 0 }, ports: new Map() };
      aggregates.set(id, agg);
      edges.push(agg.edge);
    }
    const v = agg.edge;
    v.state = mergeState(v.state, e.state);
    v.flows += e.flows;
    v.dropping += dropping;
    v.members.push(e.id);
    for (const p of e.ports) {
      const k = `${p.protocol}/${p.port}`;
      const have = agg.ports.get(k);
      if (have) have.flows += p.flows;
      else agg.ports.set(k, { ...p });
    }
  }
  for (const { edge, ports } of aggregates.values()) {
    const sorted = [...ports.values()].sort((x, y) => y.flows - x.flows);
    const n = edge.members.length;
    edge.label = `${n > 1 ? `${n} edges · ` : ""}${portsLabel(sorted)}${edge.dropping ? ` · ${edge.dropping} dropping` : ""}`;
  }
  for (const s of groups.values()) {
    if (!open(s.id)) nodes.push({ id: s.id, label: s.label, kind: "group", search: s.label.toLowerCase(), group: s, open: false });
  }
  return { nodes, edges, groups, shownAs };
}

/** Graph nodes the search matches, and the groups they are in. */
export function searchGraph(nodes: GraphNode[], q: string): { nodes: string[]; groups: string[] } {
  const needle = q.trim().toLowerCase();
  if (!needle) return { nodes: [], groups: [] };
  const hits = nodes.filter((n) => searchText(n).includes(needle));
  return { nodes: hits.map((n) => n.id), groups: [...new Set(hits.map((n) => groupOf(n).id))] };
}

/**
 * Groups to show expanded: the ones the user opened, the ones holding the selection (a link to a
 * workload or an edge opens where it is), and the groups of a search's hits when they are few.
 */
export function expandedGroups(nodes: GraphNode[], open: readonly string[], q: string, sel?: string): Set<string> {
  const out = new Set(open);
  if (sel && !isGroupId(sel) && !isAggregateId(sel)) {
    const ends = sel.includes("->") ? sel.split("->") : [sel];
    for (const n of nodes) if (ends.includes(n.id)) out.add(groupOf(n).id);
  }
  const hit = searchGraph(nodes, q).groups;
  if (hit.length <= SEARCH_EXPANDS_AT_MOST) for (const grp of hit) out.add(grp);
  return out;
}
