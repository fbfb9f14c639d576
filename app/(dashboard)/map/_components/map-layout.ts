/**
 * Two-level layout (shared/notes/graph-scale.md): a whole-graph force layout on 1,000 compound
 * nodes takes 5–9 s and moves everything on each update. Instead each namespace box is a compact
 * grid (busiest workloads first), and only the boxes are laid out, packed in rows with the
 * namespaces that talk most next to each other (app/lib/box-packing.ts says why not fcose).
 * Positions are remembered per node: live updates never move a placed node; a new node takes the
 * next grid slot of its box, a new box goes to the right of everything. A collapsed namespace sits
 * in the middle of its box's space, so expanding it moves nothing else.
 */
import { affinityOrder, packRows } from "@/app/lib/box-packing";
import { groupOf } from "@/server/domain/graph/graph-collapse";
import type { GraphEdge, GraphNode } from "@/server/domain/graph/graph-types";

export const CELL = 120;

export interface Pos {
  x: number;
  y: number;
}

interface Box {
  origin: Pos;
  slots: number;
  cols: number;
  /** the grid's size when the box was placed: the space kept free for it */
  w: number;
  h: number;
}

export class MapLayout {
  private readonly positions = new Map<string, Pos>();
  private readonly boxes = new Map<string, Box>();

  position(id: string): Pos | undefined {
    return this.positions.get(id);
  }

  /**
   * A group's space: a collapsed namespace is drawn in the middle of the area its workloads take
   * when expanded, so opening it moves nothing else.
   */
  box(groupId: string): { center: Pos; w: number; h: number } | undefined {
    const b = this.boxes.get(groupId);
    // grid positions are node centres starting at the origin: the grid spans w − CELL by h − CELL
    return b && { center: { x: b.origin.x + (b.w - CELL) / 2, y: b.origin.y + (b.h - CELL) / 2 }, w: b.w, h: b.h };
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

  /** the new boxes packed (app/lib/box-packing.ts), busiest-connected next to each other */
  private placeBoxes(groups: string[], byGroup: Map<string, GraphNode[]>, nodes: GraphNode[], edges: GraphEdge[]): void {
    const groupOfNode = new Map(nodes.map((n) => [n.id, groupOf(n).id]));
    const fresh = new Set(groups);
    const size = (g: string) => {
      const n = byGroup.get(g)!.length;
      const cols = Math.max(1, Math.ceil(Math.sqrt(n * 1.5)));
      return { cols, w: cols * CELL, h: Math.ceil(n / cols) * CELL + (cols > 1 ? CELL * 0.45 : 0) };
    };
    const weights = new Map<string, number>();
    for (const e of edges) {
      const a = groupOfNode.get(e.source);
      const b = groupOfNode.get(e.target);
      if (!a || !b || a === b || !fresh.has(a) || !fresh.has(b)) continue;
      const k = a < b ? `${a}|${b}` : `${b}|${a}`;
      weights.set(k, (weights.get(k) ?? 0) + 1);
    }
    const weight = (a: string, b: string) => weights.get(a < b ? `${a}|${b}` : `${b}|${a}`) ?? 0;
    let minX = 0;
    if (this.boxes.size) {
      // new boxes go right of everything placed so far, so nothing already on screen moves
      minX = Math.max(...[...this.boxes.values()].map((b) => b.origin.x + b.w), ...[...this.positions.values()].map((p) => p.x)) + 3 * CELL;
    }
    const sizes = new Map(groups.map((g) => [g, size(g)]));
    // a box's space includes the half cell around its outer nodes (grid positions are centres)
    const corners = packRows(affinityOrder(groups, weight).map((id) => ({ id, w: sizes.get(id)!.w, h: sizes.get(id)!.h })), CELL);
    for (const g of groups) {
      const s = sizes.get(g)!;
      const c = corners.get(g)!;
      this.boxes.set(g, { origin: { x: minX + c.x + CELL / 2, y: c.y + CELL / 2 }, slots: 0, cols: s.cols, w: s.w, h: s.h });
    }
  }
}
