import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { getRuntime } from "@/server/runtime";

export const dynamic = "force-dynamic";

/** The lost events, gaps and node status changes behind the status header's counters. */
export async function GET(request: Request): Promise<Response> {
  // no parameters (the cache-busters aside): a limit or filter that did nothing would mislead
  const unknown = [...new URL(request.url).searchParams.keys()].find((k) => k !== "_" && k !== "_rsc");
  if (unknown !== undefined) return badRequest(`${unknown}: unknown parameter; /api/status/events takes none`, unknown);
  try {
    const rt = await getRuntime();
    return Response.json(await rt.events.recent(100), { headers: noStore() });
  } catch (e) {
    return unavailable(e, "reading events failed");
  }
}
