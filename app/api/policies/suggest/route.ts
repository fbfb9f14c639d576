import { oneOf, parseWithOwn } from "@/server/domain/drops/drop-params";
import { NS_PER_MINUTE, dateToNs, formatRfc3339Ns } from "@/server/domain/shared/time";
import { suggestForNamespace } from "@/server/domain/policies/policy-suggest";
import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { compileNamespaceScope } from "@/server/domain/auth/namespace-scope";
import { authorize, forbidden, scoped } from "@/server/http/access";

export const dynamic = "force-dynamic";

const HOUR = 60n * NS_PER_MINUTE;

/**
 * GET /api/policies/suggest?namespace=shop&since=1h: a least-privilege policy set for one
 * namespace from its delivered traffic in the range (default the last hour), with the preview of
 * every observed connection against it. format=yaml answers the CiliumNetworkPolicy stream
 * (`&kind=kubernetes` the NetworkPolicy one) for kubectl. A namespace without traffic in the range
 * answers `message` and no policies (format=yaml: 404 with the message as a YAML comment).
 */
export async function GET(request: Request): Promise<Response> {
  const now = new Date();
  const sp = new URL(request.url).searchParams;
  const formats = sp.getAll("format");
  if (formats.length > 1) return badRequest("format: given more than once", "format");
  const format = (formats[0] ?? "json").toLowerCase();
  if (format !== "json" && format !== "yaml") return badRequest(`format: ${JSON.stringify(formats[0])} is not one of json, yaml`, "format");
  const yaml = format === "yaml";
  sp.delete("format");
  const { flow, own } = parseWithOwn(sp, ["kind"], now);
  if (!flow.ok) return badRequest(flow.error, flow.parameter);
  const q = flow.query;
  const ns = q.filter.namespace ?? [];
  if (ns.length !== 1) return badRequest("namespace: give exactly one namespace to suggest policies for", "namespace");
  const kind = oneOf(own, "kind", ["cilium", "kubernetes"] as const, "cilium");
  if (!kind.ok) return badRequest(kind.error, kind.parameter);
  const kindValue = kind.value;
  const sinceNs = q.sinceNs ?? dateToNs(now) - HOUR;
  const access = await authorize(request, yaml ? "export" : "view");
  if (access instanceof Response) return access;
  if (access.scope && !compileNamespaceScope(access.scope)(ns[0])) return forbidden(`namespace: ${ns[0]} is outside your namespaces (${access.scope.join(", ")})`);
  const rt = access.rt;
  try {
    const s = suggestForNamespace(ns[0], await rt.repos.connections.outcomes({ filter: scoped(q.filter, access), sinceNs, untilNs: q.untilNs, signal: request.signal }));
    if (yaml && s.message) {
      return new Response(`# ${s.message}\n`, { status: 404, headers: noStore({ "Content-Type": "application/yaml; charset=utf-8" }) });
    }
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
