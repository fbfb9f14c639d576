/**
 * The map's view of the shared context catalog: each context's graph endpoints, and which
 * contexts a filter or a map element selects (the shared matcher, as FlowReader uses it).
 */
import { graphContext, type GraphContext } from "@/server/domain/graph/graph-context";
import { onMapElement } from "@/server/domain/graph/graph-collapse";
import type { FlowFilterSpec } from "@/server/domain/flows/flow-filter-spec";
import { compileMatcher } from "@/server/domain/flows/flow-match";
import type { CatalogEntry, ContextCatalog } from "../flows/context-catalog";
import { hasConditions } from "../flows/flow-sql";

interface GraphEntry extends CatalogEntry {
  graph: GraphContext;
}

/** The shared context catalog plus each context's graph endpoints, derived once per context. */
export class GraphCatalog {
  private readonly byId = new Map<number, GraphEntry>();
  /** graph contexts by id (ids are small serial numbers): the fold's lookup, once per rollup group */
  private readonly dense: (GraphContext | undefined)[] = [];

  constructor(private readonly contexts: ContextCatalog) {}

  refresh(): Promise<void> {
    return this.contexts.refresh();
  }

  get(id: number): GraphEntry | undefined {
    let e = this.byId.get(id);
    if (!e) {
      const c = this.contexts.get(id);
      if (!c) return undefined;
      e = { ...c, graph: graphContext(c.item.flow) };
      this.byId.set(id, e);
      this.dense[id] = e.graph;
    }
    return e;
  }

  graphOf(id: number): GraphContext | undefined {
    return this.dense[id] ?? this.get(id)?.graph;
  }

  get size(): number {
    return this.contexts.all().length;
  }

  /** derives every context's graph endpoints now, in slices (at a start, before anyone asks) */
  async warm(): Promise<void> {
    await this.refresh();
    const all = this.contexts.all();
    for (let i = 0; i < all.length; i++) {
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
      this.get(all[i].id);
    }
  }

  /** ids of contexts matching the filter, or null when the filter has no context conditions */
  matching(filter: FlowFilterSpec): number[] | null {
    if (!hasConditions(filter)) return null;
    const match = compileMatcher(filter);
    return this.contexts
      .all()
      .filter((e) => match(e.item))
      .map((e) => e.id);
  }

  matchesOne(filter: FlowFilterSpec, id: number): boolean {
    const e = this.contexts.get(id);
    return !!e && (!hasConditions(filter) || compileMatcher(filter)(e.item));
  }

  /** ids of contexts on a map element (node, edge, namespace or aggregated edge), by its map id */
  onElement(id: string, among: number[] | null): number[] {
    const ids = among ?? this.contexts.all().map((e) => e.id);
    const on = onMapElement(id);
    return ids
      .map((i) => this.get(i))
      .filter((e): e is GraphEntry => !!e && on(e.graph.from, e.graph.to))
      .map((e) => e.id);
  }
}

