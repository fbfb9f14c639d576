/**
 * In-memory evaluation of a FlowFilterSpec over hubble JSON (FlowItem.flow), for the live stream.
 * The SQL compiler over the same spec must give the same answer for every flow, so these are the
 * rules, stated over the JSON (proto field names). "Missing" is how protojson writes a zero value,
 * so a missing scalar inside a present message is 0 / "" — never "no match" by itself.
 *
 * General: fields AND; the values of one field OR; an empty or absent field is no condition.
 * Non-directional fields (namespace, pod, label, ip, port, fqdn, cluster) hold when the source
 * side OR the destination side holds. src = flow.source, dst = flow.destination (either may be
 * missing: then all its fields are missing).
 *
 * verdict            flow.verdict (name or number; missing = 0 VERDICT_UNKNOWN) ∈ values.
 * drop-reason-desc   flow.drop_reason_desc (missing = 0) ∈ values. The deprecated numeric
 *                    flow.drop_reason is not consulted (hubble's filter does not either).
 * traffic-direction  flow.traffic_direction (missing = 0) ∈ values.
 * namespace          ep.namespace = value (exact, case-sensitive). Missing namespace never matches.
 * pod                (selector.namespace absent OR ep.namespace = selector.namespace) AND
 *                    ep.pod_name (missing = "") starts with selector.prefix (case-sensitive).
 *                    `ns/` (prefix "") = every endpoint of ns, with or without a pod name.
 * label              the selector holds for ep.labels (missing = []); see label-selector.ts —
 *                    labelRequirementPattern gives the regex per requirement: exists/in = some
 *                    label matches it, notExists/notIn = no label does.
 * ip                 flow.IP.source / flow.IP.destination is inside the prefix (PostgreSQL
 *                    `inet <<= cidr`; IPv4 never matches an IPv6 prefix nor vice versa). Missing or
 *                    unparseable IP never matches. IP.source_xlated is not consulted.
 * port               the L4 record is flow.l4.TCP, else flow.l4.UDP, else flow.l4.SCTP; its
 *                    source_port / destination_port (missing = 0) = value. No such record (ICMP,
 *                    no l4) never matches, not even port 0.
 * protocol           tcp/udp/sctp/icmpv4/icmpv6 = flow.l4.TCP/UDP/SCTP/ICMPv4/ICMPv6 is present;
 *                    http/dns/kafka = flow.l7.http/dns/kafka is present (the L7 record type, so a
 *                    DNS-over-UDP L7 flow is both `dns` and `udp`). "icmp" was expanded by the parser.
 * type               flow.event_type.type (missing = 0) = type, AND when subType is given
 *                    flow.event_type.sub_type (missing = 0) = subType.
 * http-status        flow.l7.http is present AND its code (missing = 0) is within [min, max].
 * http-method        flow.l7.http is present AND upper(method) (missing = "") ∈ values (upper-case).
 * http-path          flow.l7.http is present AND the regex is found anywhere (unanchored search;
 *                    PostgreSQL `path ~ regex`, RE2 with dotAll so `.` also matches a newline as
 *                    in PostgreSQL) in the URL's path: substring of url (missing = "") matching capture
 *                    group 1 of HTTP_URL_PATH_PATTERN (scheme://authority removed, ?query and
 *                    #fragment cut). The parser only accepts regexes both engines read alike.
 * fqdn               some name in flow.source_names / flow.destination_names matches
 *                    fqdnPatternRegex(values) (PostgreSQL `~`): case-insensitive for ASCII letters
 *                    only, as DNS is (RFC 4343), spelled out as classes ([aA]) so every engine
 *                    agrees. Patterns are lower-case without trailing dot; `*` = any run of
 *                    [-.0-9A-Za-z_] (crosses dots, like hubble); one trailing dot on the name is
 *                    ignored.
 * node-name          node = flow.node_name, or item.node_name when that is missing/"". An empty
 *                    node never matches; otherwise node matches nodeNamePatternRegex(values)
 *                    (ASCII case-insensitive, like fqdn). Pattern `n` matches node `n` and `<any cluster>/n`;
 *                    `c/n` matches `c/n`, and also a bare `n` when c matches "default" (hubble's
 *                    name for a node without cluster); an empty side of `/` is `*`.
 * cluster            ep.cluster_name = value (exact). Missing never matches.
 * uuid               flow.uuid = value OR item.key = value (values are lower-case; Cilium uuids
 *                    and storage keys are lower-case too).
 * scope              the caller's namespace scope (auth/namespace-scope.ts): src.namespace or
 *                    dst.namespace matches a pattern; a missing or empty namespace (world, host,
 *                    reserved identities) never does, so the pod's side decides. [] = nothing.
 *
 * Fields only hubble's FlowFilter has (gRPC GetFlows; server/hubble/grpc-filter.ts), with the Relay's
 * semantics (cilium pkg/hubble/filters):
 * reply              flow.is_reply (BoolValue) ∈ values. A flow without is_reply matches nothing,
 *                    except a DROPPED one, which counts as is_reply = false.
 * from/to-service    flow.source_service / destination_service {namespace, name} with the pod
 *                    selector rule (namespace exact, name prefix).
 * from/to-identity   ep.identity (missing = 0) ∈ values.
 * ip-version         flow.IP is present AND IP.ipVersion (missing = 0) ∈ values.
 * from/to-workload   some ep.workloads entry has (match.name absent OR = name) AND (match.kind
 *                    absent OR = kind).
 * dns-query          flow.l7.dns is present AND the regex is found in its query (missing = "";
 *                    PostgreSQL `dns_query ~ regex`, here the linear-time matcher with dotAll).
 * tcp-flags          flow.l4.TCP.flags is present AND, for some mask, every flag of the mask is set.
 * trace-id           flow.trace_context.parent.trace_id = value (values are non-empty).
 * A pod or service selector's namespace "" means an endpoint without namespace (a FlowFilter pod
 * without "namespace/"), as in the Relay; absent (only /api/flows makes it) means any namespace.
 *
 * Speed: everything is compiled once (regexes, CIDR masks, Sets) and the per-flow work is cheap
 * field reads, ordered roughly cheapest first so non-matching flows leave early. Every regex is a
 * linear-time one (linear-regex.ts): a pattern from a request cannot hold the event loop.
 */
import { DropReasonSchema, IPVersionSchema, TrafficDirectionSchema, Verdict, VerdictSchema } from "@/proto/gen/flow/flow_pb";
import { compileCidrList } from "../shared/cidr";
import type { FlowFilterSet, FlowFilterSpec, LabelSelector, PodSelector, WorkloadMatch } from "./flow-filter-spec";
import type { FlowItem } from "./flow-item";
import { compileLabelSelector, escapeRegex } from "../shared/label-selector";
import { compileLinearRegex } from "../shared/linear-regex";
import { compileNamespaceScope } from "../auth/namespace-scope";

/** The parts of hubble's Flow JSON the matcher reads. Everything is optional on the wire. */
interface EndpointJson {
  namespace?: string;
  pod_name?: string;
  labels?: string[];
  cluster_name?: string;
  identity?: number;
  workloads?: { name?: string; kind?: string }[];
}
interface ServiceJson {
  name?: string;
  namespace?: string;
}
interface PortsJson {
  source_port?: number;
  destination_port?: number;
}
interface FlowJsonView {
  uuid?: string;
  verdict?: string | number;
  drop_reason_desc?: string | number;
  traffic_direction?: string | number;
  node_name?: string;
  source?: EndpointJson;
  destination?: EndpointJson;
  IP?: { source?: string; destination?: string; ipVersion?: string | number };
  l4?: { TCP?: PortsJson & { flags?: Record<string, boolean> }; UDP?: PortsJson; SCTP?: PortsJson; ICMPv4?: object; ICMPv6?: object };
  l7?: { dns?: { query?: string }; kafka?: object; http?: { code?: number; method?: string; url?: string } };
  is_reply?: boolean;
  source_service?: ServiceJson;
  destination_service?: ServiceJson;
  trace_context?: { parent?: { trace_id?: string } };
  event_type?: { type?: number; sub_type?: number };
  source_names?: string[];
  destination_names?: string[];
}

type Predicate = (f: FlowJsonView, item: FlowItem) => boolean;

/**
 * Capture group 1 is the URL's path; valid in JavaScript and PostgreSQL (`substring(url from …)`).
 * A constant that backtracks at most once per character: RegExp is fine here.
 */
export const HTTP_URL_PATH_PATTERN = "^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)";
const HTTP_URL_PATH_RE = new RegExp(HTTP_URL_PATH_PATTERN);

export function httpUrlPath(url: string | undefined): string {
  return HTTP_URL_PATH_RE.exec(url ?? "")![1];
}

/** `*` in FQDN and node patterns: the characters of a DNS name (hubble's patterns.go), either case. */
const NAME_WILDCARD = "[-.0-9A-Za-z_]*";

/** ASCII letters match either case (`a` → `[aA]`); no engine flag, whose Unicode folding differs. */
const bothCases = (literal: string) =>
  escapeRegex(literal).replace(/[a-zA-Z]/g, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);

function namePatternBody(pattern: string, wildcard: string): string {
  return pattern.split("*").map(bothCases).join(wildcard);
}

/**
 * One regex for a list of FQDN patterns (as parseFlowQuery stores them: lower-case, no trailing
 * dot). Match it without flags (PostgreSQL `~`) against each name: ASCII case-insensitive.
 */
export function fqdnPatternRegex(patterns: readonly string[]): string {
  return `^(?:${patterns.map((p) => namePatternBody(p, NAME_WILDCARD)).join("|")})\\.?$`;
}

/** One regex for a list of node name patterns; match it without flags against a non-empty node. */
export function nodeNamePatternRegex(patterns: readonly string[]): string {
  const alternatives = patterns.flatMap((p) => {
    const slash = p.indexOf("/");
    const side = (s: string) => (s === "" ? NAME_WILDCARD : namePatternBody(s, NAME_WILDCARD));
    if (slash < 0) return [`(?:[^/]*/)?${side(p)}`];
    const cluster = p.slice(0, slash);
    const node = side(p.slice(slash + 1));
    const out = [`${side(cluster)}/${node}`];
    // A node name without "cluster/" belongs to the cluster hubble calls "default".
    if (compileLinearRegex(`^${side(cluster)}$`).test("default")) out.push(node);
    return out;
  });
  return `^(?:${alternatives.join("|")})$`;
}

/** A test for an enum field that hubble JSON writes as a name (known) or a number (unknown). */
function enumTest(schema: { values: readonly { name: string; number: number }[] }, numbers: readonly number[]) {
  const nums = new Set(numbers);
  const names = new Set(schema.values.filter((v) => nums.has(v.number)).map((v) => v.name));
  const zero = nums.has(0);
  return (v: string | number | undefined): boolean =>
    v === undefined ? zero : typeof v === "number" ? nums.has(v) : names.has(v);
}

/** TCPFlags field names (protojson) by bit, FIN=1 … NS=256 (the flows.tcp_flags column's bits). */
export const TCP_FLAG_NAMES = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "NS"] as const;

function tcpFlagBits(flags: Record<string, boolean>): number {
  let bits = 0;
  for (let i = 0; i < TCP_FLAG_NAMES.length; i++) if (flags[TCP_FLAG_NAMES[i]] === true) bits |= 1 << i;
  return bits;
}

function compileWorkloads(matches: readonly WorkloadMatch[]): (ep: EndpointJson | undefined) => boolean {
  return (ep) => {
    for (const w of ep?.workloads ?? []) {
      for (const m of matches) {
        if ((m.name === undefined || m.name === (w.name ?? "")) && (m.kind === undefined || m.kind === (w.kind ?? ""))) return true;
      }
    }
    return false;
  };
}

function compilePod(selectors: readonly PodSelector[]): (ep: EndpointJson | undefined) => boolean {
  return (ep) => {
    const ns = ep?.namespace ?? "";
    const pod = ep?.pod_name ?? "";
    for (const s of selectors) {
      if ((s.namespace === undefined || s.namespace === ns) && pod.startsWith(s.prefix)) return true;
    }
    return false;
  };
}

function compileLabels(selectors: readonly LabelSelector[]): (ep: EndpointJson | undefined) => boolean {
  const tests = selectors.map(compileLabelSelector);
  return (ep) => {
    const labels = ep?.labels;
    for (const t of tests) if (t(labels)) return true;
    return false;
  };
}

function l4Ports(f: FlowJsonView): PortsJson | undefined {
  const l4 = f.l4;
  return l4 ? (l4.TCP ?? l4.UDP ?? l4.SCTP) : undefined;
}

const PROTOCOL_TESTS: Record<string, (f: FlowJsonView) => boolean> = {
  tcp: (f) => f.l4?.TCP != null,
  udp: (f) => f.l4?.UDP != null,
  sctp: (f) => f.l4?.SCTP != null,
  icmpv4: (f) => f.l4?.ICMPv4 != null,
  icmpv6: (f) => f.l4?.ICMPv6 != null,
  http: (f) => f.l7?.http != null,
  dns: (f) => f.l7?.dns != null,
  kafka: (f) => f.l7?.kafka != null,
};

/** Non-directional: the test holds for the source or the destination. */
function either<T>(
  test: (v: T | undefined) => boolean,
  src: (f: FlowJsonView) => T | undefined,
  dst: (f: FlowJsonView) => T | undefined,
): Predicate {
  return (f) => test(src(f)) || test(dst(f));
}

const has = <T>(v: readonly T[] | undefined): v is readonly T[] => v !== undefined && v.length > 0;

/** Compiles the spec once; the returned function is what runs per flow. */
export function compileMatcher(spec: FlowFilterSpec): (item: FlowItem) => boolean {
  const preds: Predicate[] = [];
  const src = (f: FlowJsonView) => f.source;
  const dst = (f: FlowJsonView) => f.destination;

  if (has(spec.verdict)) {
    const t = enumTest(VerdictSchema, spec.verdict);
    preds.push((f) => t(f.verdict));
  }
  if (has(spec.trafficDirection)) {
    const t = enumTest(TrafficDirectionSchema, spec.trafficDirection);
    preds.push((f) => t(f.traffic_direction));
  }
  if (has(spec.dropReasonDesc)) {
    const t = enumTest(DropReasonSchema, spec.dropReasonDesc);
    preds.push((f) => t(f.drop_reason_desc));
  }
  if (has(spec.type)) {
    const types = spec.type;
    preds.push((f) => {
      const type = f.event_type?.type ?? 0;
      const sub = f.event_type?.sub_type ?? 0;
      for (const t of types) if (t.type === type && (t.subType === undefined || t.subType === sub)) return true;
      return false;
    });
  }
  if (has(spec.protocol)) {
    const tests = spec.protocol.map((p) => {
      const t = PROTOCOL_TESTS[p];
      if (!t) throw new Error(`unknown protocol ${p} in FlowFilterSpec`);
      return t;
    });
    preds.push((f) => tests.some((t) => t(f)));
  }

  if (spec.scope !== undefined) {
    const allowed = compileNamespaceScope(spec.scope);
    preds.push((f) => allowed(f.source?.namespace) || allowed(f.destination?.namespace));
  }

  const inSet = (values: readonly string[]) => {
    const set = new Set(values);
    return (v: string | undefined) => v !== undefined && set.has(v);
  };
  if (has(spec.namespace)) {
    preds.push(either(inSet(spec.namespace), (f) => f.source?.namespace, (f) => f.destination?.namespace));
  }
  if (has(spec.fromNamespace)) {
    const t = inSet(spec.fromNamespace);
    preds.push((f) => t(f.source?.namespace));
  }
  if (has(spec.toNamespace)) {
    const t = inSet(spec.toNamespace);
    preds.push((f) => t(f.destination?.namespace));
  }
  if (has(spec.cluster)) {
    preds.push(either(inSet(spec.cluster), (f) => f.source?.cluster_name, (f) => f.destination?.cluster_name));
  }
  if (has(spec.uuid)) {
    const t = inSet(spec.uuid);
    preds.push((f, item) => t(f.uuid) || t(item.key));
  }

  const portIn = (values: readonly number[]) => {
    const set = new Set(values);
    return (v: number | undefined) => set.has(v ?? 0);
  };
  if (has(spec.port)) {
    const t = portIn(spec.port);
    preds.push((f) => {
      const p = l4Ports(f);
      return p !== undefined && (t(p.source_port) || t(p.destination_port));
    });
  }
  if (has(spec.fromPort)) {
    const t = portIn(spec.fromPort);
    preds.push((f) => {
      const p = l4Ports(f);
      return p !== undefined && t(p.source_port);
    });
  }
  if (has(spec.toPort)) {
    const t = portIn(spec.toPort);
    preds.push((f) => {
      const p = l4Ports(f);
      return p !== undefined && t(p.destination_port);
    });
  }

  if (has(spec.nodeName)) {
    const re = compileLinearRegex(nodeNamePatternRegex(spec.nodeName));
    preds.push((f, item) => {
      const node = f.node_name || item.node_name;
      return !!node && re.test(node);
    });
  }

  if (has(spec.httpStatus)) {
    const ranges = spec.httpStatus;
    preds.push((f) => {
      const http = f.l7?.http;
      if (!http) return false;
      const code = http.code ?? 0;
      for (const r of ranges) if (code >= r.min && code <= r.max) return true;
      return false;
    });
  }
  if (has(spec.httpMethod)) {
    const set = new Set(spec.httpMethod);
    preds.push((f) => {
      const http = f.l7?.http;
      return !!http && set.has((http.method ?? "").toUpperCase());
    });
  }

  if (has(spec.pod)) preds.push(either(compilePod(spec.pod), src, dst));
  if (has(spec.fromPod)) {
    const t = compilePod(spec.fromPod);
    preds.push((f) => t(f.source));
  }
  if (has(spec.toPod)) {
    const t = compilePod(spec.toPod);
    preds.push((f) => t(f.destination));
  }

  if (has(spec.ip)) preds.push(either(compileCidrList(spec.ip), (f) => f.IP?.source, (f) => f.IP?.destination));
  if (has(spec.fromIp)) {
    const t = compileCidrList(spec.fromIp);
    preds.push((f) => t(f.IP?.source));
  }
  if (has(spec.toIp)) {
    const t = compileCidrList(spec.toIp);
    preds.push((f) => t(f.IP?.destination));
  }

  const namesMatch = (patterns: readonly string[]) => {
    const re = compileLinearRegex(fqdnPatternRegex(patterns));
    return (names: string[] | undefined) => {
      if (!names) return false;
      for (const n of names) if (re.test(n)) return true;
      return false;
    };
  };
  if (has(spec.fqdn)) preds.push(either(namesMatch(spec.fqdn), (f) => f.source_names, (f) => f.destination_names));
  if (has(spec.fromFqdn)) {
    const t = namesMatch(spec.fromFqdn);
    preds.push((f) => t(f.source_names));
  }
  if (has(spec.toFqdn)) {
    const t = namesMatch(spec.toFqdn);
    preds.push((f) => t(f.destination_names));
  }

  if (has(spec.label)) preds.push(either(compileLabels(spec.label), src, dst));
  if (has(spec.fromLabel)) {
    const t = compileLabels(spec.fromLabel);
    preds.push((f) => t(f.source));
  }
  if (has(spec.toLabel)) {
    const t = compileLabels(spec.toLabel);
    preds.push((f) => t(f.destination));
  }

  if (has(spec.reply)) {
    const want = new Set(spec.reply);
    const dropped = enumTest(VerdictSchema, [Verdict.DROPPED]);
    preds.push((f) => {
      const r = f.is_reply ?? (dropped(f.verdict) ? false : undefined);
      return r !== undefined && want.has(r);
    });
  }
  if (has(spec.fromIdentity)) {
    const set = new Set(spec.fromIdentity);
    preds.push((f) => set.has(f.source?.identity ?? 0));
  }
  if (has(spec.toIdentity)) {
    const set = new Set(spec.toIdentity);
    preds.push((f) => set.has(f.destination?.identity ?? 0));
  }
  if (has(spec.ipVersion)) {
    const t = enumTest(IPVersionSchema, spec.ipVersion);
    preds.push((f) => f.IP !== undefined && t(f.IP.ipVersion));
  }
  if (has(spec.tcpFlags)) {
    const masks = spec.tcpFlags;
    preds.push((f) => {
      const flags = f.l4?.TCP?.flags;
      if (!flags) return false;
      const bits = tcpFlagBits(flags);
      for (const m of masks) if ((bits & m) === m) return true;
      return false;
    });
  }
  if (has(spec.traceId)) {
    const set = new Set(spec.traceId);
    preds.push((f) => {
      const id = f.trace_context?.parent?.trace_id;
      return id !== undefined && set.has(id);
    });
  }
  const service = (s: ServiceJson | undefined): EndpointJson | undefined => (s ? { namespace: s.namespace, pod_name: s.name } : undefined);
  if (has(spec.fromService)) {
    const t = compilePod(spec.fromService);
    preds.push((f) => t(service(f.source_service)));
  }
  if (has(spec.toService)) {
    const t = compilePod(spec.toService);
    preds.push((f) => t(service(f.destination_service)));
  }
  if (has(spec.fromWorkload)) {
    const t = compileWorkloads(spec.fromWorkload);
    preds.push((f) => t(f.source));
  }
  if (has(spec.toWorkload)) {
    const t = compileWorkloads(spec.toWorkload);
    preds.push((f) => t(f.destination));
  }
  if (has(spec.dnsQuery)) {
    const res = spec.dnsQuery.map((p) => compileLinearRegex(p, { dotAll: true }));
    preds.push((f) => {
      const dns = f.l7?.dns;
      if (!dns) return false;
      const q = dns.query ?? "";
      for (const re of res) if (re.test(q)) return true;
      return false;
    });
  }

  if (has(spec.httpPath)) {
    const res = spec.httpPath.map((p) => compileLinearRegex(p, { dotAll: true }));
    preds.push((f) => {
      const http = f.l7?.http;
      if (!http) return false;
      const path = httpUrlPath(http.url);
      for (const re of res) if (re.test(path)) return true;
      return false;
    });
  }

  const n = preds.length;
  if (n === 0) return () => true;
  return (item) => {
    const f = item.flow as FlowJsonView;
    for (let i = 0; i < n; i++) if (!preds[i](f, item)) return false;
    return true;
  };
}

/** A FlowFilterSet: any whitelist filter (or none) and no blacklist filter. */
export function compileFilterSet(set: FlowFilterSet): (item: FlowItem) => boolean {
  const allow = set.whitelist.map(compileMatcher);
  const deny = set.blacklist.map(compileMatcher);
  return (item) => (allow.length === 0 || allow.some((m) => m(item))) && !deny.some((m) => m(item));
}
