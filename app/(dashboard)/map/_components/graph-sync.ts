/**
 * Applies what the map should show (a MapView: every workload, or namespaces with some expanded)
 * to the long-lived cytoscape instance in one batch: adds what is new, updates data that changed
 * (counts, state, ports), removes what left. Nothing that stays is re-created or moved, so the
 * picture holds still while counts tick; expanding a namespace only swaps that namespace's node
 * for its workloads (placed in the space the layout kept for them) and re-points its edges.
 */
import type { Core, ElementDefinition } from "cytoscape";
import type { MapView, ViewEdge, ViewNode } from "@/server/domain/graph/graph-collapse";
import type { GraphResponse } from "@/server/domain/graph/graph-types";
import { CELL, type MapLayout } from "./map-layout";

/** cytoscape data of a node; flags are always set (true/false) so an update can clear them */
function nodeData(n: ViewNode, layout: MapLayout): Record<string, unknown> {
  if (n.kind !== "group") return { id: n.id, label: n.label, kind: n.kind, parent: n.parent, search: n.search, box: false, agg: false };
  if (n.open) return { id: n.id, label: n.label, kind: "group", box: true, agg: false };
  const g = n.group!;
  const b = layout.box(n.id);
  // a collapsed namespace fills part of the space its workloads would take: zoomed out to the
  // whole cluster, a node of 26 units would be a dot
  const w = Math.max(2 * CELL, (b?.w ?? CELL) * 0.9);
  const h = Math.max(CELL, (b?.h ?? CELL) * 0.8);
  const what = g.kind === "namespace" ? "workload" : "node";
  return {
    id: n.id,
    label: `${n.label}\n${g.members.length} ${what}${g.members.length === 1 ? "" : "s"}${g.internalDropping ? `\n${g.internalDropping} dropping inside` : ""}`,
    kind: "group",
    search: n.search,
    box: false,
    agg: true,
    w,
    h,
    fs: Math.round(Math.min(90, Math.max(16, Math.min(w, h) / 6))),
    dropping: g.internalDropping > 0,
  };
}

function edgeData(e: ViewEdge, weight: (f: number) => number): Record<string, unknown> {
  return { id: e.id, source: e.source, target: e.target, state: e.state, flows: e.flows, weight: weight(e.flows), ports: e.label, agg: e.members.length > 1 || e.id.startsWith("agg:") };
}

function changed(el: { data(k: string): unknown }, data: Record<string, unknown>): boolean {
  for (const [k, v] of Object.entries(data)) {
    const old = el.data(k);
    if (k === "weight" ? Math.abs((old as number) - (v as number)) > 0.02 : old !== v) return true;
  }
  return false;
}

export function syncGraph(cy: Core, graph: GraphResponse, view: MapView, layout: MapLayout): { added: number; removed: number; updated: number } {
  // marks let bench:map split the time between layout, element updates and painting
  performance.mark("map:layout-start");
  layout.place(graph.nodes, graph.edges);
  performance.mark("map:layout-end");
  let max = 1;
  for (const e of view.edges) if (e.flows > max) max = e.flows;
  const weight = (f: number) => Math.log10(1 + f) / Math.log10(1 + max);
  const keep = new Set<string>();
  for (const n of view.nodes) keep.add(n.id);
  for (const e of view.edges) keep.add(e.id);
  const adds: ElementDefinition[] = [];
  let updated = 0;
  let removed = 0;
  cy.batch(() => {
    // first what left (a collapsed namespace's workloads, edges re-pointed), so adds never clash
    const gone = cy.elements().filter((el) => !keep.has(el.id()));
    removed = gone.length;
    if (gone.nonempty()) cy.remove(gone);
    for (const n of view.nodes) {
      const data = nodeData(n, layout);
      const el = cy.getElementById(n.id);
      const pos = n.kind === "group" ? (n.open ? undefined : layout.box(n.id)?.center) : layout.position(n.id);
      if (el.empty()) {
        adds.push({ group: "nodes", data, ...(pos ? { position: { ...pos } } : {}) });
      } else if (changed(el, data)) {
        el.data(data);
        updated++;
        // a namespace that was just collapsed keeps where its box's middle was
        if (pos && n.kind === "group" && el.isChildless()) el.position({ ...pos });
      }
    }
    for (const e of view.edges) {
      const data = edgeData(e, weight);
      const el = cy.getElementById(e.id);
      if (el.empty()) adds.push({ group: "edges", data });
      else if (changed(el, data)) {
        el.data(data);
        updated++;
      }
    }
    if (adds.length) cy.add(adds);
  });
  performance.mark("map:sync-end");
  return { added: adds.length, removed, updated };
}

/**
 * Search: matching workloads outlined, and collapsed namespaces that hold matches; everything else
 * dimmed; an empty query clears. Returns the number of matching workloads (shown or not).
 */
export function applySearch(cy: Core, hits: { nodes: string[]; groups: string[] }, active: boolean): void {
  // restyling every element for an empty search costs seconds at 6,000 elements: skip when idle
  if (!active && !cy.scratch("searched")) return;
  cy.scratch("searched", active);
  cy.batch(() => {
    cy.elements().removeClass("dim match");
    if (!active) return;
    const ids = new Set([...hits.nodes, ...hits.groups]);
    const match = cy.nodes().filter((n) => ids.has(n.id()) && !n.data("box"));
    const near = match.union(match.connectedEdges()).union(match.parents());
    cy.elements().difference(near).addClass("dim");
    match.addClass("match");
  });
}
