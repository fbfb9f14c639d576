import { parseFlowQuery } from "@/server/domain/flows/flow-query";
import { badRequest } from "@/server/http/responses";
import { metrics } from "@/server/metrics";
import { authorize, scoped } from "@/server/http/access";

export const dynamic = "force-dynamic";

/** Server-Sent Events of newly stored flows, filtered like /api/flows (time parameters ignored). */
export async function GET(request: Request): Promise<Response> {
  const params = new URL(request.url).searchParams;
  for (const p of ["since", "until", "last", "cursor", "limit", "format"]) params.delete(p);
  const parsed = parseFlowQuery(params);
  if (!parsed.ok) return badRequest(parsed.error, parsed.parameter);
  const access = await authorize(request, "view");
  if (access instanceof Response) return access;
  const rt = access.rt;
  // bounded per viewer: a client that does not keep up is told what it skipped (server/live/live-viewer.ts)
  metrics().liveClients.inc();
  const viewer = rt.live.open(scoped(parsed.query.filter, access), request, () => metrics().liveClients.dec());
  return new Response(viewer.stream, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    },
  });
}
