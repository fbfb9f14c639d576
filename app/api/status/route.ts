import type { StatusReport } from "@/server/domain/flow-item";
import { noStore, unavailable } from "@/server/http/responses";
import { getRuntime } from "@/server/runtime";

export const dynamic = "force-dynamic";

export async function GET(): Promise<Response> {
  let rt;
  try {
    rt = await getRuntime();
  } catch (e) {
    return unavailable(e, "flowlens is not running");
  }
  try {
    const [flows, totals] = await Promise.all([rt.events.flowCount(), rt.events.totals()]);
    const state = rt.ingest.state === "connected" && rt.relay.mode === "demo" ? "demo" : rt.ingest.state;
    const report: StatusReport = {
      relay: { address: rt.relay.address, state, ...(rt.ingest.lastError && state !== "connected" && state !== "demo" ? { error: rt.ingest.lastError } : {}) },
      storage: { kind: rt.db.kind, flows },
      ingest: { flowsPerSecond: Math.round(rt.ingest.rate.perSecond() * 10) / 10, lostEvents: totals.lostEvents, gaps: totals.gaps },
      nodes: [...rt.ingest.nodes.values()].sort((a, b) => a.name.localeCompare(b.name)),
    };
    return Response.json(report, { headers: noStore() });
  } catch (e) {
    return unavailable(e, "reading the status failed");
  }
}
