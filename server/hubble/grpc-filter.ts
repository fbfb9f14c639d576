/**
 * hubble's FlowFilter (GetFlowsRequest whitelist/blacklist) → the FlowFilterSpec that /api/flows and
 * /api/live use, so the gRPC API, the history and the live stream share one matcher
 * (server/domain/flow-match.ts, server/db/flow-sql.ts). Values go through the same parsers as the
 * HTTP parameters. Every field of one FlowFilter ANDs, values of one field OR (as in the Relay).
 *
 * Where the Relay's meaning differs from a /api/flows parameter it is kept:
 * - source_pod / destination_pod / *_service without "namespace/" mean an endpoint without a
 *   namespace (the hubble CLI always sends one: `default/` or `--namespace`'s);
 * - http_status_code, ports, labels, FQDNs, node names, the HTTP path and the DNS query are
 *   directional or single-sided as the field says.
 * A value we cannot read, or an enum number we do not know, is INVALID_ARGUMENT naming the field
 * (`whitelist[0].source_pod: …`), never a filter silently dropped.
 */
import type { DescEnum } from "@bufbuild/protobuf";
import { IPVersionSchema, TrafficDirectionSchema, VerdictSchema, type FlowFilter, type TCPFlags } from "@/proto/gen/flow/flow_pb";
import type { FlowFilterSet, FlowFilterSpec, PodSelector, WorkloadMatch } from "@/server/domain/flows/flow-filter-spec";
import { TCP_FLAG_NAMES } from "@/server/domain/flows/flow-match";
import { overPatternBudget, toPortableRegex } from "@/server/domain/flows/pattern-rules";
import { MAX_VALUE_LENGTH, MAX_VALUES_PER_PARAMETER, labelValue } from "@/server/domain/flows/flow-query";
import {
  intParser,
  parseFqdn,
  parseHttpMethod,
  parseHttpStatus,
  parseIpValue,
  parseNodeName,
  parsePod,
  parseProtocol,
  parseUuid,
} from "@/server/domain/flows/flow-values";
import type { Parsed } from "@/server/domain/shared/parsed";

/** A request field that cannot be served as asked; `field` names it as the proto does. */
export class RequestFieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export const MAX_FILTERS = 100;

const q = (s: string) => JSON.stringify(s);

/** `name` or `namespace/name-prefix`; no namespace = endpoints without one (the Relay's rule). */
function parseNamespacedPrefix(s: string): Parsed<PodSelector> {
  if (!s.includes("/")) {
    if (!/^[a-z0-9.-]+$/.test(s) || s.length > 253) return { ok: false, error: `${q(s)} is not a name prefix like frontend- or a namespace/prefix like shop/frontend-` };
    return { ok: true, value: { namespace: "", prefix: s } };
  }
  return parsePod(s);
}

function regexValue(s: string): Parsed<string> {
  const r = toPortableRegex(s);
  return r.ok ? r : { ok: false, error: `${q(s)} ${r.error}` };
}

function traceIdValue(s: string): Parsed<string> {
  return s.length > 0 && s.length <= 256 ? { ok: true, value: s } : { ok: false, error: `${q(s)} is not a trace id` };
}

const portValue = intParser(0, 65535, "a port");

/** Values of one field through a parser; an error names the field. */
function parseValues<T>(field: string, values: readonly string[], parse: (s: string) => Parsed<T>): T[] {
  if (values.length > MAX_VALUES_PER_PARAMETER) throw new RequestFieldError(field, `more than ${MAX_VALUES_PER_PARAMETER} values`);
  return values.map((v) => {
    if (v.length > MAX_VALUE_LENGTH) throw new RequestFieldError(field, `a value is longer than ${MAX_VALUE_LENGTH} characters`);
    if (v === "") throw new RequestFieldError(field, "empty value");
    const r = parse(v);
    if (!r.ok) throw new RequestFieldError(field, r.error);
    return r.value;
  });
}

/** Enum numbers must be ones we know: a filter on a value no agent sends is a mistake. */
function enumValues(field: string, values: readonly number[], schema: DescEnum): number[] {
  for (const v of values) {
    if (!schema.values.some((e) => e.number === v)) {
      throw new RequestFieldError(field, `${v} is not a ${schema.typeName} value (${schema.values.map((e) => `${e.name} = ${e.number}`).join(", ")})`);
    }
  }
  return [...values];
}

function tcpMask(f: TCPFlags): number {
  let bits = 0;
  TCP_FLAG_NAMES.forEach((name, i) => {
    if (f[name]) bits |= 1 << i;
  });
  return bits;
}

function workloads(field: string, values: readonly { name: string; kind: string }[]): WorkloadMatch[] {
  if (values.length > MAX_VALUES_PER_PARAMETER) throw new RequestFieldError(field, `more than ${MAX_VALUES_PER_PARAMETER} values`);
  return values.map((w) => {
    if (w.name.length > MAX_VALUE_LENGTH || w.kind.length > MAX_VALUE_LENGTH) throw new RequestFieldError(field, "a value is too long");
    const m: WorkloadMatch = {};
    if (w.name !== "") m.name = w.name;
    if (w.kind !== "") m.kind = w.kind;
    return m;
  });
}

/** One FlowFilter → one spec (fields AND). `at` is its place, e.g. `whitelist[0]`. */
export function flowFilterToSpec(f: FlowFilter, at: string): FlowFilterSpec {
  if (f.$unknown && f.$unknown.length > 0) {
    // a newer client's field we cannot evaluate: ignoring it would return flows it excludes
    throw new RequestFieldError(`${at}.#${f.$unknown[0].no}`, `FlowFilter field number ${f.$unknown[0].no} is not supported by Flowlens`);
  }
  const spec: FlowFilterSpec = {};
  const set = <K extends keyof FlowFilterSpec>(k: K, v: FlowFilterSpec[K] & unknown[]) => {
    if (v.length > 0) spec[k] = [...new Map(v.map((x) => [JSON.stringify(x), x])).values()] as FlowFilterSpec[K];
  };
  const field = (name: string) => `${at}.${name}`;

  set("uuid", parseValues(field("uuid"), f.uuid, parseUuid));
  set("fromIp", parseValues(field("source_ip"), f.sourceIp, parseIpValue));
  set("toIp", parseValues(field("destination_ip"), f.destinationIp, parseIpValue));
  set("fromPod", parseValues(field("source_pod"), f.sourcePod, parseNamespacedPrefix));
  set("toPod", parseValues(field("destination_pod"), f.destinationPod, parseNamespacedPrefix));
  set("fromFqdn", parseValues(field("source_fqdn"), f.sourceFqdn, parseFqdn));
  set("toFqdn", parseValues(field("destination_fqdn"), f.destinationFqdn, parseFqdn));
  set("fromLabel", parseValues(field("source_label"), f.sourceLabel, labelValue));
  set("toLabel", parseValues(field("destination_label"), f.destinationLabel, labelValue));
  set("fromService", parseValues(field("source_service"), f.sourceService, parseNamespacedPrefix));
  set("toService", parseValues(field("destination_service"), f.destinationService, parseNamespacedPrefix));
  set("fromWorkload", workloads(field("source_workload"), f.sourceWorkload));
  set("toWorkload", workloads(field("destination_workload"), f.destinationWorkload));
  set("trafficDirection", enumValues(field("traffic_direction"), f.trafficDirection, TrafficDirectionSchema));
  set("verdict", enumValues(field("verdict"), f.verdict, VerdictSchema));
  set("ipVersion", enumValues(field("ip_version"), f.ipVersion, IPVersionSchema));
  if (f.eventType.length > MAX_VALUES_PER_PARAMETER) throw new RequestFieldError(field("event_type"), `more than ${MAX_VALUES_PER_PARAMETER} values`);
  set(
    "type",
    f.eventType.map((e) => {
      if (e.type < 0) throw new RequestFieldError(field("event_type"), `type ${e.type} is negative`);
      return e.matchSubType ? { type: e.type, subType: e.subType } : { type: e.type };
    }),
  );
  set("httpStatus", parseValues(field("http_status_code"), f.httpStatusCode, parseHttpStatus));
  set("protocol", parseValues(field("protocol"), f.protocol, parseProtocol).flat());
  set("fromPort", parseValues(field("source_port"), f.sourcePort, portValue));
  set("toPort", parseValues(field("destination_port"), f.destinationPort, portValue));
  set("reply", [...f.reply]);
  set("dnsQuery", parseValues(field("dns_query"), f.dnsQuery, regexValue));
  set("fromIdentity", [...f.sourceIdentity]);
  set("toIdentity", [...f.destinationIdentity]);
  set("httpMethod", parseValues(field("http_method"), f.httpMethod, parseHttpMethod));
  set("httpPath", parseValues(field("http_path"), f.httpPath, regexValue));
  if (f.tcpFlags.length > MAX_VALUES_PER_PARAMETER) throw new RequestFieldError(field("tcp_flags"), `more than ${MAX_VALUES_PER_PARAMETER} values`);
  set("tcpFlags", f.tcpFlags.map(tcpMask));
  set("nodeName", parseValues(field("node_name"), f.nodeName, parseNodeName));
  set("traceId", parseValues(field("trace_id"), f.traceId, traceIdValue));
  return spec;
}

/** whitelist/blacklist → the filter set the reader and the live matcher evaluate. */
export function filterSetOf(req: { whitelist: FlowFilter[]; blacklist: FlowFilter[] }): FlowFilterSet {
  for (const name of ["whitelist", "blacklist"] as const) {
    if (req[name].length > MAX_FILTERS) throw new RequestFieldError(name, `more than ${MAX_FILTERS} filters`);
  }
  const set = {
    whitelist: req.whitelist.map((f, i) => flowFilterToSpec(f, `whitelist[${i}]`)),
    blacklist: req.blacklist.map((f, i) => flowFilterToSpec(f, `blacklist[${i}]`)),
  };
  // the live matcher's work per flow is bounded per request, as for /api/flows: all patterns together
  const all: FlowFilterSpec = {};
  for (const spec of [...set.whitelist, ...set.blacklist]) {
    for (const k of PATTERN_FIELDS) if (spec[k]) (all[k] as unknown[]) = [...((all[k] as unknown[]) ?? []), ...(spec[k] as unknown[])];
  }
  const tooBig = overPatternBudget(all);
  if (tooBig) throw new RequestFieldError(set.whitelist.length ? "whitelist" : "blacklist", tooBig.error);
  return set;
}

const PATTERN_FIELDS = ["httpPath", "dnsQuery", "fqdn", "fromFqdn", "toFqdn", "nodeName", "label", "fromLabel", "toLabel"] as const satisfies readonly (keyof FlowFilterSpec)[];

