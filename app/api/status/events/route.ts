import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { getRuntime } from "@/server/runtime";

export const dynamic = "force-dynamic";

/** The lost events, gaps, node status changes and quarantined responses behind the status header's counters. */
export async function GET(request: Request): Promise<Response> {
  // no parameters (the cache-busters aside): a limit or filter that did nothing would mislead
  const unknown = [...new URL(request.url).searchParams.keys()].find((k) => k !== "_" && k !== "_rsc");
  if (unknown !== undefined) return badRequest(`${unknown}: unknown parameter; /api/status/events takes none`, unknown);
  try {
    const rt = await getRuntime();
    const [recent, quarantined] = await Promise.all([rt.events.recent(100, request.signal), rt.quarantine.page({ limit: 100, signal: request.signal }, false)]);
    const quarantine = quarantined.items.map(({ bytes_base64: _bytes, ...rest }) => rest);
    return Response.json({ ...recent, quarantine }, { headers: noStore() });
  } catch (e) {
    return unavailable(e, "reading events failed");
  }
}
