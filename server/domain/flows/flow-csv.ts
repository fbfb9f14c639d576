/**
 * CSV export of flows: one row per flow with the columns an auditor reads, quoted per RFC 4180.
 * Cells that a spreadsheet would run as a formula are prefixed with a quote (CSV injection).
 */
import type { FlowItem } from "./flow-item";
import { record } from "@/server/domain/shared/json";

type J = Record<string, unknown>;
const str = (v: unknown): string => (v === undefined || v === null ? "" : Array.isArray(v) ? v.join(" ") : String(v));

export const CSV_COLUMNS = [
  "time",
  "uuid",
  "node",
  "verdict",
  "drop_reason",
  "direction",
  "type",
  "source_namespace",
  "source_pod",
  "source_workload",
  "source_identity",
  "source_ip",
  "source_port",
  "source_labels",
  "source_names",
  "destination_namespace",
  "destination_pod",
  "destination_workload",
  "destination_identity",
  "destination_ip",
  "destination_port",
  "destination_labels",
  "destination_names",
  "protocol",
  "tcp_flags",
  "l7_type",
  "dns_query",
  "dns_rcode",
  "http_method",
  "http_url",
  "http_code",
  "latency_ns",
  "allowed_by",
  "denied_by",
  "summary",
] as const;

function policies(f: J, ...keys: string[]): string {
  return keys
    .flatMap((k) => (Array.isArray(f[k]) ? (f[k] as J[]) : []).map((p) => `${k.startsWith("ingress") ? "ingress" : "egress"}:${p.namespace ? `${p.namespace}/` : ""}${p.name ?? ""}`))
    .join(" ");
}

function workload(ep: J): string {
  return (Array.isArray(ep.workloads) ? (ep.workloads as J[]) : []).map((w) => `${w.kind ?? ""}/${w.name ?? ""}`).join(" ");
}

export function csvRow(item: FlowItem): string[] {
  const f = item.flow as J;
  const src = record(f.source);
  const dst = record(f.destination);
  const ip = record(f.IP);
  const l4 = record(f.l4);
  const proto = Object.keys(l4)[0] ?? "";
  const l4v = record(l4[proto]);
  const l7 = record(f.l7);
  const dns = record(l7.dns);
  const http = record(l7.http);
  const flags = Object.entries(record(l4v.flags))
    .filter(([, v]) => v)
    .map(([k]) => k)
    .join(" ");
  return [
    str(f.time ?? item.time),
    str(f.uuid ?? item.key),
    str(f.node_name ?? item.node_name),
    str(f.verdict),
    str(f.drop_reason_desc),
    str(f.traffic_direction),
    str(f.Type),
    str(src.namespace),
    str(src.pod_name),
    workload(src),
    str(src.identity),
    str(ip.source),
    str(l4v.source_port ?? l4v.type),
    str(src.labels),
    str(f.source_names),
    str(dst.namespace),
    str(dst.pod_name),
    workload(dst),
    str(dst.identity),
    str(ip.destination),
    str(l4v.destination_port ?? l4v.code),
    str(dst.labels),
    str(f.destination_names),
    l7.dns ? "DNS" : l7.http ? "HTTP" : l7.kafka ? "Kafka" : proto,
    flags,
    str(l7.type),
    str(dns.query),
    str(dns.rcode),
    str(http.method),
    str(http.url),
    str(http.code),
    str(l7.latency_ns),
    policies(f, "ingress_allowed_by", "egress_allowed_by"),
    policies(f, "ingress_denied_by", "egress_denied_by"),
    str(f.Summary),
  ];
}

export function csvLine(cells: readonly string[]): string {
  return (
    cells
      .map((c) => {
        const safe = /^[=+\-@\t\r]/.test(c) ? `'${c}` : c;
        return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
      })
      .join(",") + "\r\n"
  );
}
