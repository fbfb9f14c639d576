import { dropsRepoFor } from "@/server/db/drops-repo";
import { PoliciesRepo } from "@/server/db/policies-repo";
import { oneOf, parseMoment, parseWindow, parseWithOwn } from "@/server/domain/drop-params";
import { diffEdges, summarizeDiff } from "@/server/domain/policy-diff";
import { formatRfc3339Ns } from "@/server/domain/flow-query";
import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { runtimeOrUnavailable } from "@/server/http/route-runtime";

export const dynamic = "force-dynamic";

const MINUTE = 60_000_000_000n;

/**
 * GET /api/policies/diff?at=<time>&window=2m (+ the /api/flows filters, without since/until):
 * connections in [at − window, at) against [at, at + window), classified as became dropped,
 * became allowed, appeared, disappeared, unchanged. edges=policy (default) keeps the connections a
 * policy decided in either window; edges=all keeps every one.
 */
export async function GET(request: Request): Promise<Response> {
  const now = new Date();
  const { flow, own } = parseWithOwn(new URL(request.url).searchParams, ["at", "window", "edges"], now);
  if (!flow.ok) return badRequest(flow.error, flow.parameter);
  const q = flow.query;
  if (q.sinceNs !== undefined || q.untilNs !== undefined) {
    return badRequest("since: the windows come from at and window; leave since/until out", q.sinceNs !== undefined ? "since" : "until");
  }
  const at = parseMoment(own, "at", now);
  if (!at.ok) return badRequest(at.error, at.parameter);
  const window = parseWindow(own, "window", 2n * MINUTE, 24n * 60n * MINUTE);
  if (!window.ok) return badRequest(window.error, window.parameter);
  const scope = oneOf(own, "edges", ["policy", "all"] as const, "policy");
  if (!scope.ok) return badRequest(scope.error, scope.parameter);
  const rt = await runtimeOrUnavailable();
  if (rt instanceof Response) return rt;
  try {
    const repo = new PoliciesRepo(rt.db, dropsRepoFor(rt).catalog);
    const before = { from: at.ns - window.ns, to: at.ns };
    const after = { from: at.ns, to: at.ns + window.ns };
    const [b, a] = await Promise.all([
      repo.connections({ filter: q.filter, sinceNs: before.from, untilNs: before.to, signal: request.signal }),
      repo.connections({ filter: q.filter, sinceNs: after.from, untilNs: after.to, signal: request.signal }),
    ]);
    const edges = diffEdges(b, a, scope.value === "policy");
    const span = (w: { from: bigint; to: bigint }) => ({ since: formatRfc3339Ns(w.from), until: formatRfc3339Ns(w.to) });
    return Response.json(
      { at: formatRfc3339Ns(at.ns), before: span(before), after: span(after), summary: summarizeDiff(edges), edges },
      { headers: noStore() },
    );
  } catch (e) {
    return unavailable(e, "reading connections failed");
  }
}
