import type { StatusReport } from "@/server/domain/flows/flow-item";
import { accessReport } from "@/server/auth/access-report";
import { nodesInScope } from "@/server/domain/auth/scope-views";
import { authorize } from "@/server/http/access";
import { noStore } from "@/server/http/responses";

export const dynamic = "force-dynamic";

/** How long the status waits for the store's counts before answering with the last ones it has. */
const COUNTS_WAIT_MS = 300;
const LAST = Symbol.for("flowlens.status.lastCounts");
type Counts = { flows: number; lostEvents: number; gaps: number; quarantined: number };
const g = globalThis as typeof globalThis & { [LAST]?: Counts };

export async function GET(request: Request): Promise<Response> {
  const access = await authorize(request, "view");
  if (access instanceof Response) return access;
  const { rt, caller } = access;
  // The status must answer while the store is away (it is how pages learn that it is): the counts
  // get a short wait, then the last known ones stand in.
  const fresh = Promise.all([rt.events.flowCount(), rt.events.totals()]).then(([flows, totals]) => {
    g[LAST] = { flows, ...totals };
    return g[LAST];
  });
  let timer: NodeJS.Timeout | undefined;
  const counts = await Promise.race([
    fresh,
    new Promise<null>((r) => (timer = setTimeout(() => r(null), COUNTS_WAIT_MS))),
  ]).catch((e) => {
    rt.health.failed(e);
    return null;
  });
  clearTimeout(timer);
  fresh.catch(() => {});
  const c = counts ?? g[LAST] ?? { flows: 0, lostEvents: 0, gaps: 0, quarantined: 0 };
  const state = rt.ingest.state === "connected" && rt.relay.mode === "demo" ? "demo" : rt.ingest.state;
  const storage = rt.health.status;
  const report: StatusReport = {
    relay: { address: rt.relay.address, state, ...(rt.ingest.lastError && state !== "connected" && state !== "demo" ? { error: rt.ingest.lastError } : {}) },
    storage: { kind: rt.db.kind, flows: c.flows, ...storage },
    ingest: {
      flowsPerSecond: Math.round(rt.ingest.rate.perSecond() * 10) / 10,
      lostEvents: c.lostEvents,
      gaps: c.gaps,
      quarantined: c.quarantined,
    },
    nodes: [...rt.ingest.nodes.values()].sort((a, b) => a.name.localeCompare(b.name)),
    grpc: rt.grpc,
  };
  // node names are the cluster's, not a namespace's: a scoped caller sees their states only
  if (access.scope) report.nodes = nodesInScope(report.nodes);
  report.access = accessReport(caller);
  return Response.json(report, { headers: noStore() });
}
