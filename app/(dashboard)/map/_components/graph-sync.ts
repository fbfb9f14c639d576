/**
 * Applies a fresh /api/graph answer to the long-lived cytoscape instance in one batch: adds what
 * is new, updates data that changed (counts, state, ports), removes what left the window. Nothing
 * that stays is re-created or moved, so the picture holds still while counts tick.
 */
import type { Core, ElementDefinition } from "cytoscape";
import type { GraphEdge, GraphResponse } from "@/server/domain/graph-types";
import { groupOf, type MapLayout } from "./map-layout";

export function portsLabel(e: GraphEdge): string {
  const shown = e.ports.slice(0, 2).map((p) => (p.port ? `${p.protocol}/${p.port}` : p.protocol));
  return shown.join(", ") + (e.ports.length > 2 ? ` +${e.ports.length - 2}` : "");
}

export function syncGraph(cy: Core, g: GraphResponse, layout: MapLayout): { added: number; removed: number } {
  // marks let bench:map split the time between layout, element updates and painting
  performance.mark("map:layout-start");
  const positions = layout.place(g.nodes, g.edges);
  performance.mark("map:layout-end");
  const max = Math.max(1, ...g.edges.map((e) => e.flows));
  const weight = (f: number) => Math.log10(1 + f) / Math.log10(1 + max);
  const keep = new Set<string>();
  const adds: ElementDefinition[] = [];
  const groups = new Map<string, string>();
  for (const n of g.nodes) {
    const grp = groupOf(n);
    groups.set(grp.id, grp.label);
  }
  cy.batch(() => {
    for (const [id, label] of groups) {
      keep.add(id);
      if (cy.getElementById(id).empty()) adds.push({ group: "nodes", data: { id, label, box: true } });
    }
    for (const n of g.nodes) {
      keep.add(n.id);
      const el = cy.getElementById(n.id);
      const data = { id: n.id, label: n.label, kind: n.kind, parent: groupOf(n).id, search: `${n.label} ${n.namespace ?? ""} ${n.workload ?? ""}`.toLowerCase() };
      if (el.empty()) adds.push({ group: "nodes", data, position: { ...positions.get(n.id)! } });
    }
    for (const e of g.edges) {
      keep.add(e.id);
      const data = { id: e.id, source: e.source, target: e.target, state: e.state, flows: e.flows, weight: weight(e.flows), ports: portsLabel(e) };
      const el = cy.getElementById(e.id);
      if (el.empty()) adds.push({ group: "edges", data });
      else if (el.data("flows") !== data.flows || el.data("state") !== data.state || el.data("ports") !== data.ports || Math.abs(el.data("weight") - data.weight) > 0.02) {
        el.data(data);
      }
    }
    if (adds.length) cy.add(adds);
  });
  const gone = cy.elements().filter((el) => !keep.has(el.id()));
  if (gone.nonempty()) cy.remove(gone);
  performance.mark("map:sync-end");
  return { added: adds.length, removed: gone.length };
}

/** Search: matching nodes outlined, everything else dimmed; empty query clears. */
export function applySearch(cy: Core, q: string): number {
  const needle = q.trim().toLowerCase();
  // restyling every element for an empty search costs seconds at 6,000 elements: skip when idle
  if (!needle && !cy.scratch("searched")) return 0;
  cy.scratch("searched", Boolean(needle));
  let hits = 0;
  cy.batch(() => {
    cy.elements().removeClass("dim match");
    if (!needle) return;
    const match = cy.nodes().filter((n) => !n.data("box") && String(n.data("search") ?? "").includes(needle));
    hits = match.length;
    const near = match.union(match.connectedEdges()).union(match.parents());
    cy.elements().difference(near).addClass("dim");
    match.addClass("match");
  });
  return hits;
}
