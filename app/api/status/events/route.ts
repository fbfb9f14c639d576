import { noStore, unavailable } from "@/server/http/responses";
import { getRuntime } from "@/server/runtime";

export const dynamic = "force-dynamic";

/** The lost events, gaps and node status changes behind the status header's counters. */
export async function GET(request: Request): Promise<Response> {
  try {
    const rt = await getRuntime();
    return Response.json(await rt.events.recent(100, request.signal), { headers: noStore() });
  } catch (e) {
    return unavailable(e, "reading events failed");
  }
}
