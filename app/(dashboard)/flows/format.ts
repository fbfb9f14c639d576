/**
 * Flows-page helpers that turn a flow into filters: the drawer's "flows between these two",
 * "from this pod" and "to this destination" links. Pure.
 */
import type { FlowJson } from "@/server/domain/flows/flow-item";
import { endpointOf, l4Of, type Side } from "@/app/lib/flow-format";
import type { FilterValues } from "@/app/lib/flow-filter-params";
import type { FlowsUrlState } from "./search-params";

/**
 * The most specific filter that selects this endpoint on the given end of a flow: the pod
 * (`namespace/pod`), else the IP, else the DNS name, else a reserved label like `reserved:world`.
 */
export function endpointFilter(flow: FlowJson, side: Side, end: "from" | "to"): FilterValues | undefined {
  const e = endpointOf(flow, side);
  if (e.podName) return { [`${end}-pod`]: [e.namespace ? `${e.namespace}/${e.podName}` : e.podName] };
  if (e.ip) return { [`${end}-ip`]: [e.ip] };
  if (e.names.length) return { [`${end}-fqdn`]: [e.names[0]] };
  if (e.reserved) return { [`${end}-label`]: [`reserved:${e.reserved}`] };
  return undefined;
}

export interface FlowLink {
  label: string;
  state: FlowsUrlState;
}

/**
 * Links from one flow to related views. They keep the time range, replace the filters, and close
 * the drawer (the new list may not contain this flow).
 */
export function relatedLinks(flow: FlowJson, current: FlowsUrlState): FlowLink[] {
  const base = { since: current.since, until: current.until, live: current.live };
  const from = endpointFilter(flow, "source", "from");
  const to = endpointFilter(flow, "destination", "to");
  const src = endpointOf(flow, "source");
  const port = l4Of(flow).destinationPort;
  const links: FlowLink[] = [];
  if (from && to) links.push({ label: "Flows between these two", state: { ...base, filters: { ...from, ...to } } });
  if (from) {
    links.push({ label: src.podName ? "From this pod" : "From this source", state: { ...base, filters: from } });
  }
  if (to) {
    const withPort = port !== undefined ? { ...to, "to-port": [String(port)] } : to;
    links.push({ label: port !== undefined ? `To this destination (port ${port})` : "To this destination", state: { ...base, filters: withPort } });
  }
  return links;
}
