import { connectionFlowsQuery } from "@/server/domain/connections/links";
import { oneOf, parseMoment, parseWindow, parseWithOwn } from "@/server/domain/drops/drop-params";
import { diffOutcomes, summarizeDiff } from "@/server/domain/policies/policy-diff";
import { NS_PER_MINUTE, formatRfc3339Ns } from "@/server/domain/shared/time";
import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { authorize, scoped } from "@/server/http/access";

export const dynamic = "force-dynamic";

/**
 * GET /api/policies/diff?at=<time>&window=2m (+ the /api/flows filters, without since/until):
 * each connection's outcome (delivered, denied, mixed) in [at − window, at) against [at, at + window),
 * classified as became dropped, became allowed, appeared, disappeared, unchanged, with what each
 * end decided and the /flows query of its flows in each window. edges=policy (default) keeps the
 * connections a policy decided in either window; edges=all keeps every one.
 */
export async function GET(request: Request): Promise<Response> {
  const now = new Date();
  const { flow, own } = parseWithOwn(new URL(request.url).searchParams, ["at", "window", "edges"], now);
  if (!flow.ok) return badRequest(flow.error, flow.parameter);
  const q = flow.query;
  if (q.format !== "json") return badRequest("format: /api/policies/diff answers json only", "format");
  if (q.sinceNs !== undefined || q.untilNs !== undefined) {
    return badRequest("since: the windows come from at and window; leave since/until out", q.sinceNs !== undefined ? "since" : "until");
  }
  const at = parseMoment(own, "at", now);
  if (!at.ok) return badRequest(at.error, at.parameter);
  const window = parseWindow(own, "window", 2n * NS_PER_MINUTE, 24n * 60n * NS_PER_MINUTE);
  if (!window.ok) return badRequest(window.error, window.parameter);
  const scope = oneOf(own, "edges", ["policy", "all"] as const, "policy");
  if (!scope.ok) return badRequest(scope.error, scope.parameter);
  const access = await authorize(request, "view");
  if (access instanceof Response) return access;
  const rt = access.rt;
  const filter = scoped(q.filter, access);
  try {
    const repo = rt.repos.connections;
    const before = { from: at.ns - window.ns, to: at.ns };
    const after = { from: at.ns, to: at.ns + window.ns };
    const [b, a] = await Promise.all([
      repo.outcomes({ filter, sinceNs: before.from, untilNs: before.to, signal: request.signal }),
      repo.outcomes({ filter, sinceNs: after.from, untilNs: after.to, signal: request.signal }),
    ]);
    const link = (c: Parameters<typeof connectionFlowsQuery>[0], w: "before" | "after") =>
      w === "before" ? connectionFlowsQuery(c, before.from, before.to) : connectionFlowsQuery(c, after.from, after.to);
    const edges = diffOutcomes(b, a, link, scope.value === "policy");
    const span = (w: { from: bigint; to: bigint }) => ({ since: formatRfc3339Ns(w.from), until: formatRfc3339Ns(w.to) });
    return Response.json(
      { at: formatRfc3339Ns(at.ns), before: span(before), after: span(after), summary: summarizeDiff(edges), edges },
      { headers: noStore() },
    );
  } catch (e) {
    return unavailable(e, "reading connections failed");
  }
}
