import { dropsRepoFor } from "@/server/db/drops-repo";
import { PoliciesRepo } from "@/server/db/policies-repo";
import { parseWithOwn } from "@/server/domain/drop-params";
import { dateToNs, formatRfc3339Ns } from "@/server/domain/flow-query";
import { suggestForNamespace } from "@/server/domain/policy-suggest";
import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { runtimeOrUnavailable } from "@/server/http/route-runtime";

export const dynamic = "force-dynamic";

const HOUR = 3_600_000_000_000n;

/**
 * GET /api/policies/suggest?namespace=shop&since=1h: a least-privilege policy set for one
 * namespace from its forwarded traffic in the range (default the last hour), with the preview of
 * every observed connection against it. format=yaml answers the CiliumNetworkPolicy stream
 * (`&kind=kubernetes` the NetworkPolicy one) for kubectl.
 */
export async function GET(request: Request): Promise<Response> {
  const now = new Date();
  const sp = new URL(request.url).searchParams;
  const yaml = sp.get("format") === "yaml";
  if (yaml) sp.delete("format");
  const { flow, own } = parseWithOwn(sp, ["kind"], now);
  if (!flow.ok) return badRequest(flow.error, flow.parameter);
  const q = flow.query;
  const ns = q.filter.namespace ?? [];
  if (ns.length !== 1) return badRequest("namespace: give exactly one namespace to suggest policies for", "namespace");
  const kindValue = own.get("kind")?.[0] ?? "cilium";
  if (kindValue !== "cilium" && kindValue !== "kubernetes") return badRequest(`kind: ${JSON.stringify(kindValue)} is not one of cilium, kubernetes`, "kind");
  const sinceNs = q.sinceNs ?? dateToNs(now) - HOUR;
  const rt = await runtimeOrUnavailable();
  if (rt instanceof Response) return rt;
  try {
    const repo = new PoliciesRepo(rt.db, dropsRepoFor(rt).catalog);
    const observed = await repo.connections({ filter: q.filter, sinceNs, untilNs: q.untilNs, signal: request.signal });
    const s = suggestForNamespace(ns[0], observed);
    if (yaml) {
      return new Response(kindValue === "kubernetes" ? s.kubernetesYaml : s.ciliumYaml, {
        headers: noStore({ "Content-Type": "application/yaml; charset=utf-8" }),
      });
    }
    const { plans: _plans, ...rest } = s;
    return Response.json(
      { ...rest, since: formatRfc3339Ns(sinceNs), until: q.untilNs === undefined ? null : formatRfc3339Ns(q.untilNs) },
      { headers: noStore() },
    );
  } catch (e) {
    return unavailable(e, "reading connections failed");
  }
}
