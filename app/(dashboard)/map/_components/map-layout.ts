/**
 * Two-level layout (shared/notes/graph-scale.md): a whole-graph force layout on 1,000 compound
 * nodes takes 5–9 s and moves everything on each update. Instead each namespace box is a compact
 * grid (busiest workloads first), and only the boxes are laid out, with fcose on the small
 * namespace graph. Positions are remembered per node: live updates never move a placed node; a
 * new node takes the next grid slot of its box, a new box goes to the right of everything.
 */
import cytoscape from "cytoscape";
import fcose from "cytoscape-fcose";
import type { GraphEdge, GraphNode } from "@/server/domain/graph-types";

let registered = false;
function ensureFcose(): void {
  if (registered) return;
  cytoscape.use(fcose as unknown as cytoscape.Ext);
  registered = true;
}

export const CELL = 120;

export interface Pos {
  x: number;
  y: number;
}

/** which compound box a node sits in */
export function groupOf(n: GraphNode): { id: string; label: string } {
  if (n.kind === "workload") {
    const c = n.cluster && n.cluster !== "default" ? `${n.cluster} · ` : "";
    return { id: `ns:${n.cluster ?? ""}/${n.namespace}`, label: `${c}${n.namespace}` };
  }
  if (n.kind === "fqdn" || n.kind === "cidr" || n.kind === "world") return { id: "grp:external", label: "outside the cluster" };
  return { id: "grp:cluster", label: "cluster identities" };
}

interface Box {
  origin: Pos;
  slots: number;
  cols: number;
}

export class MapLayout {
  private readonly positions = new Map<string, Pos>();
  private readonly boxes = new Map<string, Box>();

  position(id: string): Pos | undefined {
    return this.positions.get(id);
  }

  /** Positions for nodes not placed yet; existing ones are kept. */
  place(nodes: GraphNode[], edges: GraphEdge[]): Map<string, Pos> {
    const fresh = nodes.filter((n) => !this.positions.has(n.id));
    if (!fresh.length) return this.positions;
    const degree = new Map<string, number>();
    for (const e of edges) {
      degree.set(e.source, (degree.get(e.source) ?? 0) + e.flows);
      degree.set(e.target, (degree.get(e.target) ?? 0) + e.flows);
    }
    const byGroup = new Map<string, GraphNode[]>();
    for (const n of fresh) {
      const g = groupOf(n).id;
      if (!byGroup.has(g)) byGroup.set(g, []);
      byGroup.get(g)!.push(n);
    }
    const newGroups = [...byGroup.keys()].filter((g) => !this.boxes.has(g));
    if (newGroups.length) this.placeBoxes(newGroups, byGroup, nodes, edges);
    for (const [g, list] of byGroup) {
      const box = this.boxes.get(g)!;
      list.sort((a, b) => (degree.get(b.id) ?? 0) - (degree.get(a.id) ?? 0) || a.label.localeCompare(b.label));
      for (const n of list) {
        const i = box.slots++;
        const col = i % box.cols;
        // odd columns sit half a row lower: on a straight row, A → C would run right through B
        // and hide behind the A → B and B → C edges
        this.positions.set(n.id, { x: box.origin.x + col * CELL, y: box.origin.y + Math.floor(i / box.cols) * CELL + (col % 2) * CELL * 0.45 });
      }
    }
    return this.positions;
  }

  /** fcose over the new boxes (each as one node sized like its grid) with namespace-level edges */
  private placeBoxes(groups: string[], byGroup: Map<string, GraphNode[]>, nodes: GraphNode[], edges: GraphEdge[]): void {
    ensureFcose();
    const groupOfNode = new Map(nodes.map((n) => [n.id, groupOf(n).id]));
    const size = (g: string) => {
      const n = byGroup.get(g)!.length;
      const cols = Math.max(1, Math.ceil(Math.sqrt(n * 1.5)));
      return { cols, w: cols * CELL, h: Math.ceil(n / cols) * CELL + (cols > 1 ? CELL * 0.45 : 0) };
    };
    const weights = new Map<string, number>();
    for (const e of edges) {
      const a = groupOfNode.get(e.source);
      const b = groupOfNode.get(e.target);
      if (!a || !b || a === b || !groups.includes(a) || !groups.includes(b)) continue;
      const k = a < b ? `${a}|${b}` : `${b}|${a}`;
      weights.set(k, (weights.get(k) ?? 0) + 1);
    }
    const cy = cytoscape({
      headless: true,
      styleEnabled: true,
      elements: [
        ...groups.map((g) => {
          const s = size(g);
          return { data: { id: g, w: s.w, h: s.h } };
        }),
        ...[...weights.keys()].map((k, i) => {
          const [a, b] = k.split("|");
          return { data: { id: `e${i}`, source: a, target: b } };
        }),
      ],
      style: [{ selector: "node", style: { width: "data(w)", height: "data(h)" } }],
    });
    let minX = 0;
    if (this.boxes.size) {
      // new boxes go right of everything placed so far, so nothing already on screen moves
      minX = Math.max(...[...this.positions.values()].map((p) => p.x)) + 3 * CELL;
    }
    if (groups.length > 1) {
      cy.layout({
        name: "fcose",
        quality: "default",
        randomize: true,
        animate: false,
        nodeDimensionsIncludeLabels: false,
        nodeRepulsion: () => 80_000,
        idealEdgeLength: () => 3 * CELL,
        nodeSeparation: CELL * 2,
        packComponents: true,
      } as cytoscape.LayoutOptions).run();
    }
    const bb = cy.elements().boundingBox({});
    for (const g of groups) {
      const n = cy.getElementById(g);
      const s = size(g);
      const p = n.position();
      const x = groups.length > 1 ? p.x - bb.x1 - s.w / 2 : 0;
      const y = groups.length > 1 ? p.y - bb.y1 - s.h / 2 : 0;
      this.boxes.set(g, { origin: { x: minX + x, y }, slots: 0, cols: s.cols });
    }
    cy.destroy();
  }
}
