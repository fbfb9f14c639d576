import { parseCount, parseWithOwn } from "@/server/domain/drops/drop-params";
import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { authorize, scoped } from "@/server/http/access";
import { policyInScope } from "@/server/domain/auth/scope-views";

export const dynamic = "force-dynamic";

/**
 * GET /api/policies: every policy named in allowed_by / denied_by within the range (the /api/flows
 * filter set), with allowed flows and denied packets (each counted once) per time bucket, the
 * revisions seen, and the moments a policy changed: every change of a node's revision in flows
 * (repeats after an agent restart included) and the agents' policy events where served.
 */
export async function GET(request: Request): Promise<Response> {
  const { flow, own } = parseWithOwn(new URL(request.url).searchParams, ["buckets"]);
  if (!flow.ok) return badRequest(flow.error, flow.parameter);
  if (flow.query.format !== "json") return badRequest("format: /api/policies answers json only", "format");
  const buckets = parseCount(own, "buckets", 1, 500, 48);
  if (!buckets.ok) return badRequest(buckets.error, buckets.parameter);
  const access = await authorize(request, "view");
  if (access instanceof Response) return access;
  const rt = access.rt;
  try {
    const q = flow.query;
    const overview = await rt.repos.policies.overview({ filter: scoped(q.filter, access), sinceNs: q.sinceNs, untilNs: q.untilNs, signal: request.signal }, buckets.value);
    return Response.json(access.scope ? policyInScope(overview, access.scope) : overview, { headers: noStore() });
  } catch (e) {
    return unavailable(e, "reading policies failed");
  }
}
