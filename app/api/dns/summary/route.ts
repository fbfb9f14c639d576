import { parseDnsQuery } from "@/server/domain/dns/dns-params";
import { dnsSummaryBody } from "@/server/domain/dns/dns-response";
import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { authorize, scoped } from "@/server/http/access";
import { queryInputError } from "@/server/http/stream-pages";

export const dynamic = "force-dynamic";

/** GET /api/dns/summary: totals, status over time, latency by server, failing names, ndots findings. */
export async function GET(request: Request): Promise<Response> {
  const parsed = parseDnsQuery(new URL(request.url).searchParams, "summary");
  if (!parsed.ok) return badRequest(parsed.error, parsed.parameter, parsed.details);
  const access = await authorize(request, "view");
  if (access instanceof Response) return access;
  const rt = access.rt;
  const query = { ...parsed.query, filter: scoped(parsed.query.filter, access) };
  try {
    const { analysis } = await rt.repos.dns.analyze(query, Date.now(), request.signal);
    return Response.json(dnsSummaryBody(analysis, parsed.query), { headers: noStore() });
  } catch (e) {
    return queryInputError(e) ?? unavailable(e, "reading DNS flows failed");
  }
}
