import { authorize } from "@/server/http/access";
import { badRequest, noStore, unavailable } from "@/server/http/responses";

export const dynamic = "force-dynamic";

/** The lost events, gaps, node status changes and quarantined responses behind the status header's counters. */
export async function GET(request: Request): Promise<Response> {
  // no parameters (the cache-busters aside): a limit or filter that did nothing would mislead
  const unknown = [...new URL(request.url).searchParams.keys()].find((k) => k !== "_" && k !== "_rsc");
  if (unknown !== undefined) return badRequest(`${unknown}: unknown parameter; /api/status/events takes none`, unknown);
  const access = await authorize(request, "view");
  if (access instanceof Response) return access;
  const rt = access.rt;
  try {
    const [recent, quarantined] = await Promise.all([rt.events.recent(100, request.signal), rt.quarantine.page({ limit: 100, signal: request.signal }, false)]);
    const quarantine = quarantined.items.map(({ bytes_base64: _bytes, ...rest }) => rest);
    if (access.scope) {
      // a namespace-scoped caller: counts and times, no node names, no quarantined flows (any namespace's)
      return Response.json(
        {
          lostEvents: recent.lostEvents.map((e) => ({ ...e, nodeName: null })),
          gaps: recent.gaps.map((g) => ({ ...g, nodeName: null })),
          nodeStatus: recent.nodeStatus.map((s) => ({ ...s, nodeNames: [], message: null })),
          quarantine: [],
        },
        { headers: noStore() },
      );
    }
    return Response.json({ ...recent, quarantine }, { headers: noStore() });
  } catch (e) {
    return unavailable(e, "reading events failed");
  }
}
