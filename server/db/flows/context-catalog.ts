/**
 * Every distinct flow context decoded once into hubble JSON, shared by every reader (flows, drops,
 * policies, graph): filters on context fields run here with the same matcher as the live stream.
 * Contexts are immutable and only ever added, so a refresh reads just the new ids.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { FlowSchema } from "@/proto/gen/flow/flow_pb";
import { flowJson } from "@/server/flow-codec/flow-json";
import type { FlowFilterSpec } from "@/server/domain/flows/flow-filter-spec";
import type { FlowItem, FlowJson } from "@/server/domain/flows/flow-item";
import { compileMatcher } from "@/server/domain/flows/flow-match";
import type { DimensionRepo } from "./dimension-repo";

const YIELD_EVERY = 1000;

export interface CatalogEntry {
  id: number;
  item: FlowItem;
}

export class ContextCatalog {
  private readonly entries: CatalogEntry[] = [];
  private readonly byId = new Map<number, CatalogEntry>();
  private lastId = 0;
  private refreshing: Promise<void> | null = null;

  constructor(private readonly dims: DimensionRepo) {}

  refresh(): Promise<void> {
    // one refresh at a time: concurrent requests share it instead of decoding twice
    this.refreshing ??= (async () => {
      try {
        const fresh = await this.dims.contextsAfter(this.lastId);
        for (let i = 0; i < fresh.length; i++) {
          // decoding ~20k contexts takes seconds: let requests in between (the first refresh after a start)
          if (i > 0 && i % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
          const c = fresh[i];
          const flow = flowJson(fromBinary(FlowSchema, c.raw)) as FlowJson;
          const e = { id: c.id, item: { key: "", flow, node_name: c.responseNodeName ?? c.nodeName } };
          this.entries.push(e);
          this.byId.set(c.id, e);
          if (c.id > this.lastId) this.lastId = c.id;
        }
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** contexts matching the filter's context conditions (and `extra`), after a refresh */
  async matching(spec: FlowFilterSpec, extra?: (e: CatalogEntry) => boolean): Promise<CatalogEntry[]> {
    await this.refresh();
    const match = compileMatcher(spec);
    return this.entries.filter((e) => match(e.item) && (!extra || extra(e)));
  }

  get(id: number): CatalogEntry | undefined {
    return this.byId.get(id);
  }

  /** every context decoded so far */
  all(): readonly CatalogEntry[] {
    return this.entries;
  }
}

const KEY = Symbol.for("flowlens.context-catalog");
type Holder = { [KEY]?: WeakMap<DimensionRepo, ContextCatalog> };

/** The one catalog of a store (its DimensionRepo), kept between requests. */
export function contextCatalogFor(dims: DimensionRepo): ContextCatalog {
  const g = globalThis as typeof globalThis & Holder;
  const map = (g[KEY] ??= new WeakMap());
  let c = map.get(dims);
  if (!c) {
    c = new ContextCatalog(dims);
    map.set(dims, c);
  }
  return c;
}
