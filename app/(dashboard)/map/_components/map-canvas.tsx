"use client";
/**
 * The cytoscape canvas. One instance for the page's lifetime, created in an effect and kept in a
 * ref: React re-renders never touch it; what to show (a MapView) is applied incrementally
 * (graph-sync.ts). Viewport textures and pixel ratio 1 keep pan/zoom interactive at 1,000 nodes
 * (graph-scale.md). Tap selects; double-tap on a namespace expands or collapses it.
 */
import cytoscape, { type Core } from "cytoscape";
import { useEffect, useRef } from "react";
import type { MapView } from "@/server/domain/graph/graph-collapse";
import type { GraphResponse } from "@/server/domain/graph/graph-types";
import { applySearch, syncGraph } from "./graph-sync";
import { MapLayout } from "./map-layout";
import { mapStyle, readColours } from "./map-style";

export const BIG_GRAPH = 1500; // elements; above it edges go straight and unlabelled

export interface MapCanvasProps {
  graph: GraphResponse | undefined;
  view: MapView | undefined;
  /** search hits: workloads and the groups holding them */
  hits: { nodes: string[]; groups: string[] };
  searching: boolean;
  selected?: string;
  onSelect: (id: string | undefined) => void;
  /** expand or collapse a group */
  onToggle: (groupId: string) => void;
}

export function MapCanvas({ graph, view, hits, searching, selected, onSelect, onToggle }: MapCanvasProps) {
  const box = useRef<HTMLDivElement>(null);
  const cyRef = useRef<Core | null>(null);
  const layout = useRef(new MapLayout());
  const fitted = useRef(false);
  const select = useRef(onSelect);
  select.current = onSelect;
  const toggle = useRef(onToggle);
  toggle.current = onToggle;

  useEffect(() => {
    if (!box.current) return;
    const cy = cytoscape({
      container: box.current,
      style: mapStyle(readColours(box.current), false),
      textureOnViewport: true,
      pixelRatio: 1,
      minZoom: 0.02,
      maxZoom: 3,
      boxSelectionEnabled: false,
      selectionType: "single",
    });
    cy.on("tap", "node, edge", (ev) => select.current(ev.target.id()));
    cy.on("dbltap", "node[kind = 'group']", (ev) => toggle.current(ev.target.id()));
    cy.on("tap", (ev) => {
      if (ev.target === cy) select.current(undefined);
    });
    cyRef.current = cy;
    // e2e tests and the render bench read the instance
    (window as unknown as { __flowlensMap?: Core }).__flowlensMap = cy;
    return () => {
      cy.destroy();
      cyRef.current = null;
    };
  }, []);

  useEffect(() => {
    const cy = cyRef.current;
    if (!cy || !graph || !view) return;
    const big = view.nodes.length + view.edges.length > BIG_GRAPH;
    if (big !== Boolean(cy.scratch("big"))) {
      cy.scratch("big", big);
      cy.style(mapStyle(readColours(box.current!), big));
    }
    syncGraph(cy, graph, view, layout.current);
    cy.one("render", () => performance.mark("map:painted"));
    if (!fitted.current && view.nodes.length) {
      cy.fit(undefined, 30);
      fitted.current = true;
    }
    box.current?.setAttribute("data-rendered", String(cy.nodes().length));
  }, [graph, view]);

  useEffect(() => {
    const cy = cyRef.current;
    if (cy) applySearch(cy, hits, searching);
  }, [hits, searching, view]);

  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    const current = cy.$(":selected");
    if (current.length === 1 && current.id() === selected) return;
    current.unselect();
    if (selected) cy.getElementById(selected).select();
  }, [selected, view]);

  return <div ref={box} className="map-canvas" data-testid="map-canvas" />;
}
