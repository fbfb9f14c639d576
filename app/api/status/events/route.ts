import { noStore, unavailable } from "@/server/http/responses";
import { getRuntime } from "@/server/runtime";

export const dynamic = "force-dynamic";

/** The lost events, gaps, node status changes and quarantined responses behind the status header's counters. */
export async function GET(): Promise<Response> {
  try {
    const rt = await getRuntime();
    const [recent, quarantined] = await Promise.all([rt.events.recent(100), rt.quarantine.page({ limit: 100 }, false)]);
    const quarantine = quarantined.items.map(({ bytes_base64: _bytes, ...rest }) => rest);
    return Response.json({ ...recent, quarantine }, { headers: noStore() });
  } catch (e) {
    return unavailable(e, "reading events failed");
  }
}
