import { noStore } from "@/server/http/responses";

export const dynamic = "force-dynamic";

/**
 * Liveness: the process answers. Asks nothing of the store (a database outage must not get every
 * replica restarted); /api/readyz says whether this replica can serve.
 */
export function GET(): Response {
  return Response.json({ ok: true }, { headers: noStore() });
}
