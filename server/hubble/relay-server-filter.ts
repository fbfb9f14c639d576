/**
 * GetFlowsRequest whitelist/blacklist for the test/demo Observer server: the FlowFilter fields
 * that are cheap to evaluate on a decoded Flow. Fields we do not evaluate (label selectors,
 * workloads, anything newer we do not model) make the request fail with UNIMPLEMENTED instead of
 * being ignored, so a client relying on them notices at once rather than getting wrong results.
 */
import type { Flow, FlowFilter } from "@/proto/gen/flow/flow_pb";
import { escapeRegex } from "@/server/domain/label-selector";
import { compileLinearRegex } from "@/server/domain/linear-regex";

export type FlowPredicate = (flow: Flow) => boolean;

export class UnsupportedFilterError extends Error {
  constructor(readonly field: string) {
    super(`FlowFilter field "${field}" is not supported by this relay server`);
  }
}

/** protobuf-es field name → hubble name, for the error message. */
const UNSUPPORTED: Record<string, string> = {
  sourceLabel: "source_label",
  destinationLabel: "destination_label",
  sourceWorkload: "source_workload",
  destinationWorkload: "destination_workload",
};

/** whitelist: keep if ANY matches (or no whitelist); blacklist: drop if ANY matches. */
export function compileFilters(whitelist: FlowFilter[], blacklist: FlowFilter[]): FlowPredicate | undefined {
  if (whitelist.length === 0 && blacklist.length === 0) return undefined;
  const allow = whitelist.map(compileFilter);
  const deny = blacklist.map(compileFilter);
  return (flow) => (allow.length === 0 || allow.some((p) => p(flow))) && !deny.some((p) => p(flow));
}

function compileFilter(f: FlowFilter): FlowPredicate {
  for (const [key, name] of Object.entries(UNSUPPORTED)) {
    if ((f[key as keyof FlowFilter] as unknown[]).length > 0) throw new UnsupportedFilterError(name);
  }
  if (f.$unknown && f.$unknown.length > 0) throw new UnsupportedFilterError(`#${f.$unknown[0].no}`);

  const checks: FlowPredicate[] = [];
  const add = <V>(values: V[], test: (flow: Flow, v: V) => boolean) => {
    if (values.length > 0) checks.push((flow) => values.some((v) => test(flow, v)));
  };
  add(f.uuid, (fl, v) => fl.uuid === v);
  add(f.sourceIp.map(ipMatcher), (fl, m) => m(fl.IP?.source ?? ""));
  add(f.destinationIp.map(ipMatcher), (fl, m) => m(fl.IP?.destination ?? ""));
  add(f.sourcePod.map(podMatcher), (fl, m) => m(fl.source?.namespace ?? "", fl.source?.podName ?? ""));
  add(f.destinationPod.map(podMatcher), (fl, m) => m(fl.destination?.namespace ?? "", fl.destination?.podName ?? ""));
  add(f.sourceService.map(podMatcher), (fl, m) => m(fl.sourceService?.namespace ?? "", fl.sourceService?.name ?? ""));
  add(f.destinationService.map(podMatcher), (fl, m) =>
    m(fl.destinationService?.namespace ?? "", fl.destinationService?.name ?? ""),
  );
  add(f.sourceFqdn.map(globMatcher), (fl, m) => fl.sourceNames.some(m));
  add(f.destinationFqdn.map(globMatcher), (fl, m) => fl.destinationNames.some(m));
  add(f.nodeName.map(globMatcher), (fl, m) => m(fl.nodeName));
  add(f.verdict, (fl, v) => fl.verdict === v);
  add(f.trafficDirection, (fl, v) => fl.trafficDirection === v);
  add(f.ipVersion, (fl, v) => fl.IP?.ipVersion === v);
  add(f.sourceIdentity, (fl, v) => fl.source?.identity === v);
  add(f.destinationIdentity, (fl, v) => fl.destination?.identity === v);
  add(f.reply, (fl, v) => fl.isReply !== undefined && fl.isReply === v);
  add(f.eventType, (fl, v) => fl.eventType?.type === v.type && (!v.matchSubType || fl.eventType.subType === v.subType));
  add(f.protocol, (fl, v) => protocolOf(fl).includes(v.toLowerCase()));
  add(f.sourcePort, (fl, v) => ports(fl)?.[0] === Number(v));
  add(f.destinationPort, (fl, v) => ports(fl)?.[1] === Number(v));
  add(f.httpStatusCode.map(statusMatcher), (fl, m) => fl.l7?.record.case === "http" && m(fl.l7.record.value.code));
  add(f.httpMethod, (fl, v) => fl.l7?.record.case === "http" && fl.l7.record.value.method.toUpperCase() === v.toUpperCase());
  // hubble reads these as Go regexps, which is RE2: same syntax, same linear-time matching
  add(f.httpPath.map((p) => compileLinearRegex(p)), (fl, re) => fl.l7?.record.case === "http" && re.test(urlPath(fl.l7.record.value.url)));
  add(f.dnsQuery.map((p) => compileLinearRegex(p)), (fl, re) => fl.l7?.record.case === "dns" && re.test(fl.l7.record.value.query));
  add(f.traceId, (fl, v) => fl.traceContext?.parent?.traceId === v);
  add(f.tcpFlags, (fl, want) => {
    if (fl.l4?.protocol.case !== "TCP") return false;
    const got = fl.l4.protocol.value.flags;
    // every flag set in the filter must be set on the flow
    return (["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "NS"] as const).every((k) => !want[k] || got?.[k] === true);
  });
  return (flow) => checks.every((c) => c(flow));
}

/** `ns/prefix`, `ns/` (whole namespace) or `prefix` (any namespace). */
function podMatcher(sel: string): (ns: string, name: string) => boolean {
  const slash = sel.indexOf("/");
  const ns = slash >= 0 ? sel.slice(0, slash) : undefined;
  const prefix = slash >= 0 ? sel.slice(slash + 1) : sel;
  return (flowNs, name) => (ns === undefined || ns === flowNs) && name !== "" && name.startsWith(prefix);
}

function globMatcher(pattern: string): (s: string) => boolean {
  const re = compileLinearRegex(`^${pattern.split("*").map(escapeRegex).join(".*")}$`, { ignoreCase: true });
  return (s) => re.test(s);
}

/** Exact address, or an IPv4 CIDR. */
function ipMatcher(spec: string): (ip: string) => boolean {
  const slash = spec.indexOf("/");
  if (slash < 0) return (ip) => ip === spec;
  const base = ipv4ToInt(spec.slice(0, slash));
  const bits = Number(spec.slice(slash + 1));
  if (base === undefined || !(bits >= 0 && bits <= 32)) return (ip) => ip === spec;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ip) => {
    const v = ipv4ToInt(ip);
    return v !== undefined && ((v & mask) >>> 0) === ((base & mask) >>> 0);
  };
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 0 || n > 255 || p === "") return undefined;
    v = v * 256 + n;
  }
  return v;
}

/** "404" exact, "4+" a class. */
function statusMatcher(spec: string): (code: number) => boolean {
  const m = /^([1-5])\+$/.exec(spec);
  if (m) return (code) => Math.floor(code / 100) === Number(m[1]);
  return (code) => code === Number(spec);
}

function protocolOf(flow: Flow): string[] {
  const out: string[] = [];
  switch (flow.l4?.protocol.case) {
    case "TCP":
      out.push("tcp");
      break;
    case "UDP":
      out.push("udp");
      break;
    case "SCTP":
      out.push("sctp");
      break;
    case "ICMPv4":
      out.push("icmp", "icmpv4");
      break;
    case "ICMPv6":
      out.push("icmp", "icmpv6");
      break;
  }
  if (flow.l7?.record.case) out.push(flow.l7.record.case);
  return out;
}

function ports(flow: Flow): [number, number] | undefined {
  const p = flow.l4?.protocol;
  if (p?.case === "TCP" || p?.case === "UDP" || p?.case === "SCTP") return [p.value.sourcePort, p.value.destinationPort];
  return undefined;
}

function urlPath(url: string): string {
  try {
    return new URL(url, "http://x").pathname;
  } catch {
    return url;
  }
}
