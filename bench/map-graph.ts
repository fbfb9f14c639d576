/**
 * The synthetic cluster bench:map renders (and a profiling script can reuse): `nodes` workloads in
 * `namespaces` namespaces, power-law degrees with hub servers, ~25 % cross-namespace edges, 5 %
 * all-dropped and 10 % mixed edges. Deterministic (fixed seed), so runs compare; `bump` adds flows
 * to the first 500 edges — the "counts changed" live update.
 */
import type { GraphEdge, GraphNode, GraphResponse } from "@/server/domain/graph/graph-types";

export interface SyntheticShape {
  nodes: number;
  edges: number;
  namespaces: number;
}

export function syntheticGraph({ nodes: NODES, edges: EDGES, namespaces: NAMESPACES }: SyntheticShape, bump = 0): GraphResponse {
  let seed = 5;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const nodes: GraphNode[] = [];
  for (let i = 0; i < NODES; i++) {
    const ns = `team-${i % NAMESPACES}`;
    nodes.push({ id: `w:default/${ns}/svc-${i}`, kind: "workload", label: `svc-${i}`, namespace: ns, cluster: "default", workload: `Deployment/svc-${i}` });
  }
  const edges: GraphEdge[] = [];
  const seen = new Set<string>();
  while (edges.length < EDGES) {
    const a = Math.floor(rnd() * NODES);
    // a quarter of edges cross namespaces; the rest stay inside the client's namespace; servers skewed to hubs
    const cross = rnd() < 0.25;
    let b = cross ? Math.floor(NODES * rnd() ** 2.5) : (a % NAMESPACES) + NAMESPACES * Math.floor((NODES / NAMESPACES) * rnd() ** 2);
    b = Math.min(NODES - 1, b);
    if (a === b) continue;
    const id = `${nodes[a].id}->${nodes[b].id}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const r = rnd();
    const state = r < 0.05 ? "dropped" : r < 0.15 ? "mixed" : "forwarded";
    const flows = Math.floor(10 + 10_000 * rnd() ** 4) + (edges.length < 500 ? bump : 0);
    edges.push({
      id,
      source: nodes[a].id,
      target: nodes[b].id,
      flows,
      replies: Math.floor(flows / 2),
      verdicts: { forwarded: state === "dropped" ? 0 : flows, dropped: state === "forwarded" ? 0 : 5, audit: 0, error: 0, other: 0 },
      delivered: state === "dropped" ? 0 : flows,
      state,
      ports: [{ protocol: "TCP", port: 8000 + (b % 100), flows }],
      l7: { httpRequests: 0, httpStatus: [0, 0, 0, 0, 0, 0], dnsRequests: 0, dnsRcodes: [0, 0, 0, 0, 0, 0, 0], p50Ms: null, p95Ms: null, latencySamples: 0 },
      dropReasons: {},
      allowedBy: [],
      deniedBy: [],
      firstSeen: "1763899200000000000",
      lastSeen: "1763902800000000000",
    });
  }
  return {
    nodes,
    edges,
    hidden: { flows: 0, nodes: 0 },
    window: { sinceNs: "1763899200000000000", untilNs: "1763902800000000000", live: false },
    totals: { flows: edges.reduce((s, e) => s + e.flows, 0), nodes: NODES, edges: EDGES },
  };
}
