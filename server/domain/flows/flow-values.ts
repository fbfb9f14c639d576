/**
 * Value parsers of the flow query parameters (docs/api.md): one string, already split at commas
 * where the parameter allows, → a typed value or an error that quotes it; and the formatters that
 * write a value back the way its parser reads it.
 */
import { DropReasonSchema, TrafficDirectionSchema, VerdictSchema } from "@/proto/gen/flow/flow_pb";
import { parseCidr } from "../shared/cidr";
import { fail, ok, q, type Parsed } from "../shared/parsed";
import { readCursor, splitCursor } from "./flow-cursor";
import type { EventTypeMatch, FlowQuery, HttpStatusMatch, PodSelector } from "./flow-filter-spec";
import { toPortableRegex } from "./pattern-rules";

export function intParser(min: number, max: number, what = "an integer") {
  return (s: string): Parsed<number> => {
    const n = /^\d{1,16}$/.test(s) ? Number(s) : NaN;
    return n >= min && n <= max ? ok(n) : fail(`${q(s)} is not ${what} from ${min} to ${max}`);
  };
}

export const INT32_MAX = 2 ** 31 - 1;

/** Enum by proto name (case-insensitive) or any non-negative int32 number. */
export function enumParser(schema: { values: readonly { name: string; number: number }[] }, what: string) {
  const byName = new Map(schema.values.map((v) => [v.name.toUpperCase(), v.number]));
  return (s: string): Parsed<number> => {
    if (/^\d+$/.test(s)) return intParser(0, INT32_MAX, `a ${what} number`)(s);
    const n = byName.get(s.toUpperCase());
    if (n !== undefined) return ok(n);
    const needle = s.toUpperCase().replace(/[^A-Z0-9]/g, "");
    const close = schema.values.filter((v) => needle.length >= 3 && v.name.replace(/_/g, "").includes(needle));
    const hint =
      close.length > 0 && close.length <= 5
        ? `did you mean ${close.map((v) => v.name).join(", ")}?`
        : schema.values.length <= 10
          ? `use one of ${schema.values.map((v) => v.name).join(", ")} or a number`
          : `use a name like ${schema.values[2].name} or a number`;
    return fail(`${q(s)} is not a ${what}; ${hint}`);
  };
}
export const enumName = (schema: { values: readonly { name: string; number: number }[] }, n: number) =>
  schema.values.find((v) => v.number === n)?.name ?? String(n);

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function parseNamespace(s: string): Parsed<string> {
  return DNS_LABEL.test(s) && s.length <= 63
    ? ok(s)
    : fail(`${q(s)} is not a Kubernetes namespace name (lower-case letters, digits and "-", at most 63)`);
}

export function parsePod(s: string): Parsed<PodSelector> {
  const parts = s.split("/");
  if (parts.length > 2) return fail(`${q(s)} has more than one "/"; use namespace/pod-prefix`);
  const [ns, prefix] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (ns !== undefined) {
    const n = parseNamespace(ns);
    if (!n.ok) return fail(ns === "" ? `${q(s)} has an empty namespace before "/"` : `in ${q(s)}: ${n.error}`);
  }
  if (!/^[a-z0-9.-]*$/.test(prefix) || prefix.length > 253) {
    return fail(`${q(s)}: a pod name prefix has only lower-case letters, digits, "-" and "."`);
  }
  return ok(ns === undefined ? { prefix } : { namespace: ns, prefix });
}

export function parseIpValue(s: string) {
  const r = parseCidr(s);
  return r.ok ? ok(r.value) : fail<never>(`${q(s)} is not an IP address or CIDR: ${r.error}`);
}

const PROTOCOLS = ["tcp", "udp", "icmpv4", "icmpv6", "sctp", "http", "dns", "kafka"];

export function parseProtocol(s: string): Parsed<string[]> {
  const p = s.toLowerCase();
  if (p === "icmp") return ok(["icmpv4", "icmpv6"]);
  return PROTOCOLS.includes(p) ? ok([p]) : fail(`${q(s)} is not one of icmp, ${PROTOCOLS.join(", ")}`);
}

/** hubble's monitor message type names (cilium pkg/monitor/api). */
const EVENT_TYPES: Record<string, number> = {
  drop: 1,
  debug: 2,
  capture: 3,
  trace: 4,
  "policy-verdict": 5,
  recorder: 6,
  sock: 7,
  "trace-sock": 7,
  l7: 129,
  agent: 130,
};
/** Canonical spelling for output: the first name listed per number. */
const EVENT_TYPE_NAMES = new Map<number, string>();
for (const [name, n] of Object.entries(EVENT_TYPES)) if (!EVENT_TYPE_NAMES.has(n)) EVENT_TYPE_NAMES.set(n, name);
/** Trace observation points (trace sub_type), hubble's `trace:<name>` spelling. */
const TRACE_SUB_TYPES = [
  "to-endpoint",
  "to-proxy",
  "to-host",
  "to-stack",
  "to-overlay",
  "from-endpoint",
  "from-proxy",
  "from-host",
  "from-stack",
  "from-overlay",
  "from-network",
  "to-network",
  "from-crypto",
  "to-crypto",
];

export function parseEventType(s: string): Parsed<EventTypeMatch> {
  const [typeText, subText, ...extra] = s.toLowerCase().split(":");
  if (extra.length > 0) return fail(`${q(s)} has more than one ":"`);
  const type = /^\d{1,3}$/.test(typeText) && Number(typeText) <= 255 ? Number(typeText) : Object.hasOwn(EVENT_TYPES, typeText) ? EVENT_TYPES[typeText] : undefined;
  if (type === undefined) {
    return fail(`${q(s)} is not an event type; use one of ${Object.keys(EVENT_TYPES).join(", ")} or a number`);
  }
  if (subText === undefined) return ok({ type });
  if (/^\d{1,10}$/.test(subText) && Number(subText) <= INT32_MAX) return ok({ type, subType: Number(subText) });
  const sub = type === 4 ? TRACE_SUB_TYPES.indexOf(subText) : -1;
  if (sub < 0) {
    return fail(
      type === 4
        ? `${q(s)}: unknown trace sub-type; use one of ${TRACE_SUB_TYPES.join(", ")} or a number`
        : `${q(s)}: only trace has named sub-types; use a number (like drop:133)`,
    );
  }
  return ok({ type, subType: sub });
}

export function formatEventType(t: EventTypeMatch): string {
  const name = EVENT_TYPE_NAMES.get(t.type) ?? String(t.type);
  if (t.subType === undefined) return name;
  const sub = t.type === 4 && t.subType < TRACE_SUB_TYPES.length ? TRACE_SUB_TYPES[t.subType] : String(t.subType);
  return `${name}:${sub}`;
}

/**
 * `404` exactly; `4+` = 400–499, `40+` = 400–409 (hubble's prefix form). `4` and `40` mean the same
 * as `4+` and `40+`: that is what an unencoded `+` in a typed URL decodes to (a space, trimmed).
 */
export function parseHttpStatus(s: string): Parsed<HttpStatusMatch> {
  const m = /^([1-5])(\d?)(\d?)(\+?)$/.exec(s);
  const digits = m ? m[1] + m[2] + m[3] : "";
  if (!m || (m[4] === "+" && digits.length === 3)) {
    return fail(`${q(s)} is not an HTTP status like 404 or a class like 4+ or 40+`);
  }
  const width = 10 ** (3 - digits.length);
  const min = Number(digits) * width;
  return ok({ min, max: min + width - 1 });
}

export function formatHttpStatus(h: HttpStatusMatch): string {
  if (h.min === h.max) return String(h.min);
  const width = h.max - h.min + 1;
  if ((width === 100 || width === 10) && h.min % width === 0) return `${h.min / width}+`;
  throw new Error(`HTTP status range ${h.min}-${h.max} has no parameter spelling`);
}

export function parseHttpMethod(s: string): Parsed<string> {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/.test(s) ? ok(s.toUpperCase()) : fail(`${q(s)} is not an HTTP method`);
}

export function parseHttpPath(s: string): Parsed<string> {
  const r = toPortableRegex(s);
  return r.ok ? r : fail(`${q(s)} ${r.error}`);
}

/**
 * A run of `*` means what one does; it is kept as one because the live matcher's regex backtracks
 * through every split of the name among adjacent wildcards (20 of them take seconds per name).
 */
const oneStar = (p: string) => p.replace(/\*{2,}/g, "*");

/** hubble's FQDN pattern alphabet; `*` is the wildcard. Stored lower-case without a trailing dot. */
export function parseFqdn(s: string): Parsed<string> {
  const p = oneStar(s.toLowerCase().replace(/\.$/, ""));
  if (p === "" || !/^[-a-z0-9_.*]+$/.test(p) || p.endsWith(".")) {
    return fail(`${q(s)} is not a DNS name pattern (letters, digits, "-", "_", "." and * wildcards)`);
  }
  return ok(p);
}

/** `node`, `cluster/node`, with `*` wildcards (hubble's --node-name). Stored lower-case. */
export function parseNodeName(s: string): Parsed<string> {
  const p = oneStar(s.toLowerCase());
  if (!/^[-a-z0-9_.*]*(\/[-a-z0-9_.*]*)?$/.test(p) || p === "") {
    return fail(`${q(s)} is not a node name pattern like kind-worker*, or cluster/node`);
  }
  return ok(p);
}

export function parseTrafficDirection(s: string): Parsed<number> {
  const upper = s.toUpperCase();
  const r = enumParser(TrafficDirectionSchema, "traffic direction")(upper === "UNKNOWN" ? "TRAFFIC_DIRECTION_UNKNOWN" : s);
  return r.ok ? r : fail(`${q(s)} is not a traffic direction; use ingress or egress`);
}
export const formatPod = (s: PodSelector) => (s.namespace === undefined ? s.prefix : `${s.namespace}/${s.prefix}`);

export const formatTrafficDirection = (n: number) => {
  const name = enumName(TrafficDirectionSchema, n);
  return name === String(n) ? name : name.toLowerCase();
};

export function parseCluster(s: string): Parsed<string> {
  return /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,251}[A-Za-z0-9])?$/.test(s) ? ok(s) : fail(`${q(s)} is not a cluster name`);
}

export function parseUuid(s: string): Parsed<string> {
  return /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s)
    ? ok(s.toLowerCase())
    : fail(`${q(s)} is not a UUID`);
}

export function parseFormat(s: string): Parsed<FlowQuery["format"]> {
  const f = s.toLowerCase();
  return f === "json" || f === "jsonl" || f === "csv" ? ok(f) : fail(`${q(s)} is not one of json, jsonl, csv`);
}

/** Checked here, not first by the store: a filter that matches nothing never reads the cursor. */
export function parseCursor(s: string): Parsed<string> {
  return readCursor(splitCursor(s).cursor) ? ok(s) : fail(`${q(s)} is not a cursor from a previous page's "next"`);
}
