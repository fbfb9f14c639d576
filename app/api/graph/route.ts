import { parseGraphParams } from "@/server/domain/graph/graph-params";
import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { authorize, scoped } from "@/server/http/access";

export const dynamic = "force-dynamic";

/** The service map for a window: nodes (workloads, identities, FQDNs, CIDRs) and edges (docs/api.md). */
export async function GET(request: Request): Promise<Response> {
  const parsed = parseGraphParams(new URL(request.url).searchParams);
  if (!parsed.ok) return badRequest(parsed.error, parsed.parameter);
  const access = await authorize(request, "view");
  if (access instanceof Response) return access;
  const rt = access.rt;
  try {
    const p = parsed.params;
    const q = { filter: scoped(p.filter, access), l4: p.l4, sinceNs: p.sinceNs, untilNs: p.untilNs, live: p.live, hideNoise: p.hideNoise, focus: p.focus, buckets: p.buckets, signal: request.signal };
    const repo = rt.repos.graph;
    const body = p.seriesOnly && p.focus ? await repo.focusSeries({ ...q, focus: p.focus }) : await repo.graph(q);
    return Response.json(body, { headers: noStore() });
  } catch (e) {
    return unavailable(e, "building the map failed");
  }
}
