/**
 * The map's namespace overview: groups, aggregated cross-namespace edges (drops never averaged
 * away), expanded namespaces in place, search and selection opening the namespaces they point into.
 */
import { describe, expect, it } from "vitest";
import {
  aggregateEdgeId,
  collapseGraph,
  expandedGroups,
  groupOf,
  isLargeGraph,
  mergeState,
  onMapElement,
  searchGraph,
  SEARCH_EXPANDS_AT_MOST,
} from "@/server/domain/graph/graph-collapse";
import type { EdgeState, GraphEdge, GraphNode } from "@/server/domain/graph/graph-types";

function workload(ns: string, name: string): GraphNode {
  return { id: `w:default/${ns}/${name}`, kind: "workload", label: name, namespace: ns, cluster: "default", workload: `Deployment/${name}` };
}

function edge(from: GraphNode, to: GraphNode, flows: number, state: EdgeState = "forwarded", port = 8080): GraphEdge {
  return {
    id: `${from.id}->${to.id}`,
    source: from.id,
    target: to.id,
    flows,
    replies: 0,
    verdicts: { forwarded: state === "dropped" ? 0 : flows, dropped: state === "forwarded" ? 0 : 1, audit: 0, error: 0, other: 0 },
    delivered: 0,
    state,
    ports: [{ protocol: "TCP", port, flows }],
    l7: { httpRequests: 0, httpStatus: [0, 0, 0, 0, 0, 0], dnsRequests: 0, dnsRcodes: [0, 0, 0, 0, 0, 0, 0], p50Ms: null, p95Ms: null, latencySamples: 0 },
    dropReasons: {},
    allowedBy: [],
    deniedBy: [],
    firstSeen: "0",
    lastSeen: "0",
  };
}

// shop: frontend → backend → database, frontend ⇢ database dropped; both shop tiers call coredns in kube-system
const fe = workload("shop", "frontend");
const be = workload("shop", "backend");
const db = workload("shop", "database");
const dns = workload("kube-system", "coredns");
const world: GraphNode = { id: "fqdn:api.example.com", kind: "fqdn", label: "api.example.com" };
const nodes = [fe, be, db, dns, world];
const edges = [
  edge(fe, be, 100),
  edge(be, db, 50),
  edge(fe, db, 7, "dropped"),
  edge(fe, dns, 20, "forwarded", 53),
  edge(be, dns, 30, "dropped", 53),
  edge(be, world, 5, "forwarded", 443),
];
const graph = { nodes, edges };
const SHOP = "ns:default/shop";
const KS = "ns:default/kube-system";

describe("groups", () => {
  it("boxes workloads by namespace, external names and cluster identities apart", () => {
    expect(groupOf(fe)).toMatchObject({ id: SHOP, label: "shop", kind: "namespace" });
    expect(groupOf(world).id).toBe("grp:external");
    expect(groupOf({ id: "r:host", kind: "host", label: "host" }).id).toBe("grp:cluster");
    expect(groupOf({ ...fe, cluster: "east" }).label).toBe("east · shop");
  });

  it("merges edge states: drops in any member stay visible", () => {
    expect(mergeState("dropped", "dropped")).toBe("dropped");
    expect(mergeState("forwarded", "forwarded")).toBe("forwarded");
    expect(mergeState("forwarded", "dropped")).toBe("mixed");
    expect(mergeState("mixed", "forwarded")).toBe("mixed");
  });
});

describe("collapseGraph", () => {
  it("draws every workload and edge, unchanged ids, when all groups are expanded", () => {
    const v = collapseGraph(graph, "all");
    expect(v.edges.map((e) => e.id).sort()).toEqual(edges.map((e) => e.id).sort());
    expect(v.nodes.find((n) => n.id === fe.id)?.parent).toBe(SHOP);
    expect(v.nodes.filter((n) => n.kind === "group").map((n) => n.id).sort()).toEqual([SHOP, "grp:external", KS].sort());
    expect(v.edges.find((e) => e.id === `${fe.id}->${db.id}`)).toMatchObject({ state: "dropped", dropping: 1, label: "TCP/8080" });
  });

  it("collapses to one node per group and one edge per group pair, counting what is inside", () => {
    const v = collapseGraph(graph, new Set());
    expect(v.nodes.map((n) => n.id).sort()).toEqual([SHOP, "grp:external", KS].sort());
    const shop = v.nodes.find((n) => n.id === SHOP)!;
    expect(shop.group).toMatchObject({ members: [fe.id, be.id, db.id], internalEdges: 3, internalFlows: 157, internalDropping: 1, crossEdges: 3 });
    const toDns = v.edges.find((e) => e.id === aggregateEdgeId(SHOP, KS))!;
    // one forwarded and one dropped member: the aggregate says so instead of averaging it away
    expect(toDns).toMatchObject({ source: SHOP, target: KS, flows: 50, state: "mixed", dropping: 1, label: "2 edges · TCP/53 · 1 dropping" });
    expect(toDns.members.sort()).toEqual([`${fe.id}->${dns.id}`, `${be.id}->${dns.id}`].sort());
    expect(v.edges).toHaveLength(2);
    expect(v.shownAs.get(be.id)).toBe(SHOP);
  });

  it("shows an expanded namespace's workloads in place, their edges ending at collapsed namespaces", () => {
    const v = collapseGraph(graph, new Set([SHOP]));
    expect(v.nodes.find((n) => n.id === SHOP)).toMatchObject({ kind: "group", open: true });
    expect(v.nodes.find((n) => n.id === be.id)?.parent).toBe(SHOP);
    const ids = v.edges.map((e) => e.id);
    expect(ids).toContain(`${fe.id}->${db.id}`);
    expect(ids).toContain(aggregateEdgeId(be.id, KS));
    expect(v.edges.find((e) => e.id === aggregateEdgeId(be.id, KS))).toMatchObject({ state: "dropped", label: "TCP/53 · 1 dropping" });
    expect(ids).toContain(aggregateEdgeId(be.id, "grp:external"));
    expect(v.nodes.find((n) => n.id === dns.id)).toBeUndefined();
  });
});

describe("expanding by search and selection", () => {
  it("finds workloads in collapsed namespaces and opens them when few", () => {
    expect(searchGraph(nodes, "CoreD")).toEqual({ nodes: [dns.id], groups: [KS] });
    expect(searchGraph(nodes, "  ")).toEqual({ nodes: [], groups: [] });
    expect([...expandedGroups(nodes, [], "coredns")]).toEqual([KS]);
  });

  it("does not open many namespaces for a broad search", () => {
    const many = Array.from({ length: SEARCH_EXPANDS_AT_MOST + 1 }, (_, i) => workload(`team-${i}`, "api"));
    expect(expandedGroups(many, [], "api").size).toBe(0);
    expect(expandedGroups(many, ["ns:default/team-0"], "api")).toEqual(new Set(["ns:default/team-0"]));
  });

  it("opens the namespaces of a selected workload or edge, not of a selected namespace", () => {
    expect(expandedGroups(nodes, [], "", `${fe.id}->${dns.id}`)).toEqual(new Set([SHOP, KS]));
    expect(expandedGroups(nodes, [], "", db.id)).toEqual(new Set([SHOP]));
    expect(expandedGroups(nodes, [], "", SHOP).size).toBe(0);
    expect(expandedGroups(nodes, [], "", aggregateEdgeId(SHOP, KS)).size).toBe(0);
  });
});

describe("isLargeGraph", () => {
  it("opens big clusters on namespaces", () => {
    expect(isLargeGraph(graph)).toBe(false);
    const big = Array.from({ length: 301 }, (_, i) => workload(`team-${i % 10}`, `svc-${i}`));
    expect(isLargeGraph({ nodes: big, edges: [] })).toBe(true);
    const dense = Array.from({ length: 1501 }, (_, i) => edge(fe, workload("shop", `x-${i}`), 1));
    expect(isLargeGraph({ nodes, edges: dense })).toBe(true);
  });
});

describe("onMapElement (what a selection's flows/s counts)", () => {
  const on = (id: string) => edges.filter((e) => onMapElement(id)(nodes.find((n) => n.id === e.source)!, nodes.find((n) => n.id === e.target)!)).map((e) => e.id);
  it("a workload: its edges either way; an edge: itself", () => {
    expect(on(db.id)).toEqual([edges[1].id, edges[2].id]);
    expect(on(edges[0].id)).toEqual([edges[0].id]);
  });
  it("a namespace or group: every edge with an end inside it", () => {
    expect(on(KS)).toEqual([edges[3].id, edges[4].id]);
    expect(on(SHOP)).toEqual(edges.map((e) => e.id));
    expect(on("grp:external")).toEqual([edges[5].id]);
  });
  it("an aggregated edge: from its source (group or node) to its target, that way only", () => {
    expect(on(aggregateEdgeId(SHOP, KS))).toEqual([edges[3].id, edges[4].id]);
    expect(on(aggregateEdgeId(KS, SHOP))).toEqual([]);
    expect(on(aggregateEdgeId(be.id, KS))).toEqual([edges[4].id]);
    expect(on("agg:broken")).toEqual([]);
  });
});
