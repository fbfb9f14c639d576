/**
 * Pure formatting of one hubble flow (JSON form) for tables and the detail drawer. Everything here
 * returns plain strings: the components render them as text, never as HTML, because labels, names,
 * URLs and headers come from the cluster and are untrusted.
 */
import type { FlowJson } from "@/server/domain/flows/flow-item";
import { dnsRcodeName, dropReasonLabel, eventTypeLabel, verdictName, type DropReasonLabel } from "./hubble-enums";
import { RESERVED_IDENTITIES } from "@/server/domain/shared/reserved-identities";
import { formatLatency } from "./flow-time";
import { arr, num, obj, objects, str, strings, type Json } from "@/server/domain/shared/json";

export type Side = "source" | "destination";

export interface EndpointView {
  namespace?: string;
  podName?: string;
  workloads: { name: string; kind?: string }[];
  identity?: number;
  id?: number;
  labels: string[];
  clusterName?: string;
  ip?: string;
  port?: number;
  names: string[];
  service?: { name: string; namespace?: string };
  /** `world`, `host`, … from a `reserved:` label or a reserved identity number */
  reserved?: string;
}

/** Everything the UI knows about one side of a flow, gathered from the places hubble spreads it. */
export function endpointOf(flow: FlowJson, side: Side): EndpointView {
  const ep = obj(flow[side]) ?? {};
  const labels = strings(ep.labels);
  const identity = num(ep.identity);
  const reservedLabel = labels.find((l) => l.startsWith("reserved:"));
  const svc = obj(flow[`${side}_service`]);
  const l4 = l4Of(flow);
  return {
    namespace: str(ep.namespace),
    podName: str(ep.pod_name),
    workloads: objects(ep.workloads)
      .map((w) => ({ name: str(w.name) ?? "", kind: str(w.kind) }))
      .filter((w) => w.name !== ""),
    identity,
    id: num(ep.ID),
    labels,
    clusterName: str(ep.cluster_name),
    ip: str(obj(flow.IP)?.[side]),
    port: side === "source" ? l4.sourcePort : l4.destinationPort,
    names: strings(flow[`${side}_names`]),
    service: svc && str(svc.name) ? { name: str(svc.name)!, namespace: str(svc.namespace) } : undefined,
    reserved: reservedLabel
      ? reservedLabel.slice("reserved:".length)
      : identity !== undefined
        ? RESERVED_IDENTITIES[identity]
        : undefined,
  };
}

export interface EndpointSummary {
  /** small tag before the name: `world`, `host`, … */
  tag?: string;
  /** `namespace/pod`, `namespace/workload`, an FQDN or an IP */
  primary: string;
  /** usually the IP when primary is a name */
  secondary?: string;
}

/** One line for a table cell: who this endpoint is, as specifically as the flow allows. */
export function endpointSummary(flow: FlowJson, side: Side): EndpointSummary {
  const e = endpointOf(flow, side);
  const ns = (name: string) => (e.namespace ? `${e.namespace}/${name}` : name);
  if (e.podName) return { primary: ns(e.podName), secondary: e.ip };
  if (e.workloads.length > 0) return { primary: ns(e.workloads[0].name), secondary: e.ip, tag: e.reserved };
  if (e.names.length > 0) return { primary: e.names[0], secondary: e.ip, tag: e.reserved ?? "fqdn" };
  if (e.service) {
    const svc = e.service.namespace ? `${e.service.namespace}/${e.service.name}` : e.service.name;
    return { primary: svc, secondary: e.ip, tag: e.reserved ?? "svc" };
  }
  if (e.ip) return { primary: e.ip, tag: e.reserved };
  if (e.reserved) return { primary: e.reserved, tag: "reserved" };
  if (e.namespace) return { primary: e.namespace };
  if (e.identity !== undefined) return { primary: `identity ${e.identity}` };
  return { primary: "—" };
}

export interface L4View {
  protocol?: string;
  sourcePort?: number;
  destinationPort?: number;
  /** TCP flags that are set, in hubble's order */
  flags: string[];
  /** ICMP type/code, VRRP, IGMP details */
  detail?: string;
}

const TCP_FLAG_ORDER = ["SYN", "ACK", "FIN", "RST", "PSH", "URG", "ECE", "CWR", "NS"];

export function l4Of(flow: FlowJson): L4View {
  const l4 = obj(flow.l4);
  if (!l4) return { flags: [] };
  for (const proto of ["TCP", "UDP", "SCTP"] as const) {
    const p = obj(l4[proto]);
    if (p) {
      const f = obj(p.flags) ?? {};
      return {
        protocol: proto,
        sourcePort: num(p.source_port),
        destinationPort: num(p.destination_port),
        flags: TCP_FLAG_ORDER.filter((k) => f[k] === true),
      };
    }
  }
  for (const proto of ["ICMPv4", "ICMPv6"] as const) {
    const p = obj(l4[proto]);
    if (p) return { protocol: proto, flags: [], detail: `type ${num(p.type) ?? 0} code ${num(p.code) ?? 0}` };
  }
  const vrrp = obj(l4.VRRP);
  if (vrrp) return { protocol: "VRRP", flags: [], detail: `vrid ${num(vrrp.vrid) ?? 0} priority ${num(vrrp.priority) ?? 0}` };
  const igmp = obj(l4.IGMP);
  if (igmp) return { protocol: "IGMP", flags: [], detail: str(igmp.group_address) };
  const other = Object.keys(l4)[0];
  return { protocol: other, flags: [] };
}

/** Table cell: `443/TCP`, `ICMPv4 type 8 code 0`, or "" for flows without L4. */
export function l4Summary(flow: FlowJson): string {
  const l4 = l4Of(flow);
  if (!l4.protocol) return "";
  if (l4.destinationPort !== undefined) return `${l4.destinationPort}/${l4.protocol}`;
  return l4.detail ? `${l4.protocol} ${l4.detail}` : l4.protocol;
}

/** The path (and query) of an HTTP URL; the raw text when it isn't a URL. */
export function urlPath(url: string): string {
  try {
    const u = new URL(url);
    return `${u.pathname}${u.search}`;
  } catch {
    return url;
  }
}

/** Table cell: the L7 record in one line (DNS query + rcode, HTTP method path code, Kafka). */
export function l7Summary(flow: FlowJson): string {
  const l7 = obj(flow.l7);
  if (!l7) return "";
  const type = str(l7.type);
  const isResponse = type === "RESPONSE" || type === "2";
  const latency = formatLatency(l7.latency_ns);
  const dns = obj(l7.dns);
  if (dns) {
    const q = str(dns.query) ?? "?";
    const qtypes = strings(dns.qtypes).join(",");
    const head = `DNS ${qtypes ? `${qtypes} ` : ""}${q}`;
    if (!isResponse) return head;
    const ips = strings(dns.ips);
    const answer = ips.length ? ` ${ips.slice(0, 2).join(", ")}${ips.length > 2 ? ` +${ips.length - 2}` : ""}` : "";
    return `${head} → ${dnsRcodeName(dns.rcode)}${answer}`;
  }
  const http = obj(l7.http);
  if (http) {
    const method = str(http.method) ?? "";
    const path = urlPath(str(http.url) ?? "");
    const code = num(http.code);
    const head = `${method} ${path}`.trim() || "HTTP";
    if (!isResponse && !code) return head;
    return `${head} → ${code ?? "?"}${latency ? ` (${latency})` : ""}`;
  }
  const kafka = obj(l7.kafka);
  if (kafka) {
    const key = str(kafka.api_key) ?? "kafka";
    const topic = str(kafka.topic);
    const err = num(kafka.error_code);
    return `Kafka ${key}${topic ? ` ${topic}` : ""}${err ? ` error ${err}` : ""}`;
  }
  return type ? `L7 ${type.toLowerCase()}` : "L7";
}

export function verdictOf(flow: FlowJson): string {
  return verdictName(flow.verdict);
}

/** Why a flow was dropped: drop_reason_desc, else the deprecated drop_reason, else a drop event's sub_type. */
export function dropReasonOf(flow: FlowJson): DropReasonLabel | undefined {
  const desc = flow.drop_reason_desc;
  if (desc !== undefined && desc !== "" && desc !== "DROP_REASON_UNKNOWN" && desc !== 0) return dropReasonLabel(desc);
  const legacy = num(flow.drop_reason);
  if (legacy) return dropReasonLabel(legacy);
  const et = obj(flow.event_type);
  if (et && num(et.type) === 1 && num(et.sub_type)) return dropReasonLabel(num(et.sub_type));
  return undefined;
}

/** `ingress` / `egress` / undefined (unknown). Numbers for values newer than our protos. */
export function directionOf(flow: FlowJson): string | undefined {
  const d = flow.traffic_direction;
  if (d === "INGRESS" || d === 1) return "ingress";
  if (d === "EGRESS" || d === 2) return "egress";
  if (d === undefined || d === "TRAFFIC_DIRECTION_UNKNOWN" || d === 0) return undefined;
  return String(d).toLowerCase();
}

/** is_reply (BoolValue) wins; the deprecated `reply` only when is_reply is absent. */
export function isReplyOf(flow: FlowJson): boolean | undefined {
  if (typeof flow.is_reply === "boolean") return flow.is_reply;
  if (typeof flow.reply === "boolean") return flow.reply;
  return undefined;
}

export function eventTypeOf(flow: FlowJson): string | undefined {
  const et = obj(flow.event_type);
  if (!et) return undefined;
  return eventTypeLabel(num(et.type), num(et.sub_type));
}

export interface PolicyRef {
  name: string;
  namespace?: string;
  kind?: string;
  revision?: string;
  labels: string[];
  direction: "ingress" | "egress";
  effect: "allow" | "deny";
}

const POLICY_FIELDS = [
  ["ingress_denied_by", "ingress", "deny"],
  ["egress_denied_by", "egress", "deny"],
  ["ingress_allowed_by", "ingress", "allow"],
  ["egress_allowed_by", "egress", "allow"],
] as const;

function labelValue(labels: string[], key: string): string | undefined {
  for (const l of labels) {
    const bare = l.replace(/^[a-z0-9-]+:/, "");
    if (bare.startsWith(`${key}=`)) return bare.slice(key.length + 1);
  }
  return undefined;
}

/** Every policy that allowed or denied the flow; deny first. Names fall back to the policy's labels. */
export function policiesOf(flow: FlowJson): PolicyRef[] {
  const out: PolicyRef[] = [];
  for (const [field, direction, effect] of POLICY_FIELDS) {
    for (const p of objects(flow[field])) {
      const labels = strings(p.labels);
      out.push({
        name: str(p.name) ?? labelValue(labels, "io.cilium.k8s.policy.name") ?? "(unnamed)",
        namespace: str(p.namespace) ?? labelValue(labels, "io.cilium.k8s.policy.namespace"),
        kind: str(p.kind) ?? labelValue(labels, "io.cilium.k8s.policy.derived-from"),
        revision: str(p.revision),
        labels,
        direction,
        effect,
      });
    }
  }
  return out;
}

export function policyName(p: Pick<PolicyRef, "name" | "namespace">): string {
  return p.namespace ? `${p.namespace}/${p.name}` : p.name;
}

export interface PolicyCompact {
  text: string;
  /** full list for a tooltip */
  title: string;
  denied: boolean;
}

/** Table cell: `✗ ns/deny-all`, `✓ ns/allow-web +2`; undefined when the flow names no policy. */
export function policyCompact(flow: FlowJson): PolicyCompact | undefined {
  const ps = policiesOf(flow);
  if (ps.length === 0) return undefined;
  const first = ps[0];
  const mark = first.effect === "deny" ? "✗" : "✓";
  const extra = ps.length > 1 ? ` +${ps.length - 1}` : "";
  return {
    text: `${mark} ${policyName(first)}${extra}`,
    title: ps
      .map((p) => `${p.effect === "deny" ? "denied" : "allowed"} (${p.direction}) by ${p.kind ? `${p.kind} ` : ""}${policyName(p)}`)
      .join("\n"),
    denied: first.effect === "deny",
  };
}

export function policyLogOf(flow: FlowJson): string[] {
  return strings(flow.policy_log);
}

/** HTTP headers as key/value pairs (repeated keys kept). */
export function httpHeaders(http: Json | undefined): { key: string; value: string }[] {
  return objects(http?.headers).map((h) => ({ key: str(h.key) ?? "", value: typeof h.value === "string" ? h.value : "" }));
}

/** The number of items in a JSON array field, for "+N more" hints. */
export function countOf(v: unknown): number {
  return arr(v).length;
}
