/**
 * A drop group → the /flows (and /api/flows) query that lists exactly its flows: the group's time
 * span, verdict, reason, direction, both sides by namespace + identifying labels (or DNS name, IP,
 * CIDR, reserved label), protocol and port. Every value goes through the same parameters
 * parseFlowQuery reads, so the link is checked by the API like any typed filter.
 */
import { formatRfc3339Ns } from "../shared/time";
import type { DropGroup } from "./drop-group";
import type { Peer } from "../shared/peer";
import { selectorLabels } from "../policies/policy-rule";

/** One side of a flow as /api/flows parameters (`from-…` or `to-…`). */
export function peerParams(p: Peer, dir: "from" | "to", out: URLSearchParams): void {
  switch (p.kind) {
    case "pod": {
      if (p.namespace) out.append(`${dir}-namespace`, p.namespace);
      const labels = Object.entries(selectorLabels(p.labels));
      if (labels.length) out.append(`${dir}-label`, labels.map(([k, v]) => (v === "" ? `k8s:${k}` : `k8s:${k}=${v}`)).join(","));
      else if (p.pod && p.namespace) out.append(`${dir}-pod`, `${p.namespace}/${p.pod}`);
      return;
    }
    case "world":
      if (p.names.length) out.append(`${dir}-fqdn`, p.names[0]);
      else if (p.ip) out.append(`${dir}-ip`, p.ip);
      else out.append(`${dir}-label`, "reserved:world");
      return;
    case "cidr":
      if (p.cidr) out.append(`${dir}-ip`, p.cidr);
      return;
    case "unknown":
      if (p.ip) out.append(`${dir}-ip`, p.ip);
      return;
    default:
      out.append(`${dir}-label`, `reserved:${p.kind}`);
  }
}

export function groupFlowsParams(g: DropGroup): URLSearchParams {
  const out = new URLSearchParams();
  out.append("since", formatRfc3339Ns(BigInt(g.firstNs)));
  // until is exclusive
  out.append("until", formatRfc3339Ns(BigInt(g.lastNs) + 1n));
  out.append("verdict", g.verdict);
  if (g.reason !== 0) out.append("drop-reason-desc", g.reasonName);
  if (g.direction !== "UNKNOWN") out.append("traffic-direction", g.direction.toLowerCase());
  peerParams(g.src, "from", out);
  peerParams(g.dst, "to", out);
  if (g.protocol) out.append("protocol", g.protocol.toLowerCase());
  if (g.port !== undefined) out.append("to-port", String(g.port));
  return out;
}
