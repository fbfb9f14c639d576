import { dnsDetails } from "@/server/flow-codec/dns-record";
import { parseDnsQuery } from "@/server/domain/dns/dns-params";
import { dnsListBody } from "@/server/domain/dns/dns-response";
import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { authorize, scoped } from "@/server/http/access";
import { queryInputError } from "@/server/http/stream-pages";

export const dynamic = "force-dynamic";

/** GET /api/dns: paired DNS queries of a range, their search-path lookups and the timeline (docs/api.md). */
export async function GET(request: Request): Promise<Response> {
  const parsed = parseDnsQuery(new URL(request.url).searchParams, "list");
  if (!parsed.ok) return badRequest(parsed.error, parsed.parameter, parsed.details);
  const access = await authorize(request, "view");
  if (access instanceof Response) return access;
  const rt = access.rt;
  const query = { ...parsed.query, filter: scoped(parsed.query.filter, access) };
  try {
    const { analysis, answers } = await rt.repos.dns.analyze(query, Date.now(), request.signal);
    const body = dnsListBody(analysis, parsed.query, (key) => dnsDetails(answers.get(key)));
    return Response.json(body, { headers: noStore() });
  } catch (e) {
    return queryInputError(e) ?? unavailable(e, "reading DNS flows failed");
  }
}
