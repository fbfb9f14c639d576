import { graphRepoFor } from "@/server/db/graph-repo";
import { parseGraphParams } from "@/server/domain/graph-params";
import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { getRuntime } from "@/server/runtime";

export const dynamic = "force-dynamic";

/** The service map for a window: nodes (workloads, identities, FQDNs, CIDRs) and edges (docs/api.md). */
export async function GET(request: Request): Promise<Response> {
  const parsed = parseGraphParams(new URL(request.url).searchParams);
  if (!parsed.ok) return badRequest(parsed.error, parsed.parameter);
  let rt;
  try {
    rt = await getRuntime();
  } catch (e) {
    return unavailable(e, "the flow store is not available");
  }
  try {
    const p = parsed.params;
    const graph = await graphRepoFor(rt).graph({
      filter: p.filter,
      l4: p.l4,
      sinceNs: p.sinceNs,
      untilNs: p.untilNs,
      live: p.live,
      hideNoise: p.hideNoise,
      focus: p.focus,
      buckets: p.buckets,
    });
    return Response.json(graph, { headers: noStore() });
  } catch (e) {
    return unavailable(e, "building the map failed");
  }
}
