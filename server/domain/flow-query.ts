/**
 * The HTTP boundary of /api/flows and /api/live: URL parameters (docs/api.md) → FlowQuery, and back.
 *
 * Conventions, all from docs/api.md:
 * - A parameter may repeat, and most also take comma-separated values; either way the values OR.
 *   Exceptions where a comma means something else and only repetition ORs: `label`/`from-label`/
 *   `to-label` (a comma ANDs requirements inside one selector, `app in (a,b)` holds a set) and
 *   `http-path` (a regex may contain `{1,3}`).
 * - Every error starts with its parameter's name and quotes the offending value; unknown
 *   parameters are rejected with the list of valid ones, except the cache-busters `_` and `_rsc`.
 * - Enum names are those of the generated protobuf enums (the names in hubble's JSON), matched
 *   case-insensitively; numbers the enum does not know are accepted, because newer agents send them.
 * - The result is canonical (unused fields absent, lists de-duplicated, names normalised, regex
 *   class escapes spelled out), so parseFlowQuery(flowQueryToSearchParams(q)) deep-equals q.
 * - Durations in since/until count back from `now`; flowQueryToSearchParams writes absolute times.
 */
import { z } from "zod";
import { DropReasonSchema, TrafficDirectionSchema, VerdictSchema } from "@/proto/gen/flow/flow_pb";
import { formatCidr, parseCidr } from "./cidr";
import { readCursor, splitCursor } from "./flow-cursor";
import type {
  EventTypeMatch,
  FlowFilterSpec,
  FlowQuery,
  HttpStatusMatch,
  LabelSelector,
  PodSelector,
} from "./flow-filter-spec";
import { formatLabelSelector, parseLabelSelector } from "./label-selector";
import { overPatternBudget, toPortableRegex } from "./pattern-rules";

export { MAX_PATTERN_SIZE, toPortableRegex } from "./pattern-rules";

export type FlowQueryResult = { ok: true; query: FlowQuery } | { ok: false; error: string; parameter: string };

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 5000;
export const MAX_LAST = 1_000_000;
/** Bounds the work one request can ask of the live matcher and the SQL planner. */
export const MAX_VALUE_LENGTH = 1024;
/** Cursors are values too: whoever makes them must keep them at most this long. */
export const MAX_CURSOR_LENGTH = MAX_VALUE_LENGTH;
export const MAX_VALUES_PER_PARAMETER = 100;
const CACHE_BUSTERS = new Set(["_", "_rsc"]);

// ---------------------------------------------------------------------------------------------
// Time: RFC 3339 and durations as bigint nanoseconds. Not Date: flows carry nanoseconds, cursors
// and exports must round-trip them, and Date maps years 0–99 to 1900–1999.
// ---------------------------------------------------------------------------------------------

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;
const NS_PER_DAY = 86_400n * NS_PER_S;
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|([+-])(\d{2}):(\d{2}))$/;

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

/**
 * Parses an RFC 3339 time (`2026-11-23T18:00:00.123456789Z`, `…+02:00`) into nanoseconds since the
 * epoch, keeping all nine fraction digits. A leap second (`:60`) is the next minute's first second.
 */
export function parseRfc3339Ns(text: string): Parsed<bigint> {
  const m = RFC3339.exec(text);
  if (!m) return { ok: false, error: "not an RFC 3339 time" };
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12) return { ok: false, error: `month ${m[2]} does not exist` };
  if (d < 1 || d > daysInMonth(y, mo)) return { ok: false, error: `day ${m[3]} does not exist in ${m[1]}-${m[2]}` };
  if (h > 23 || mi > 59 || s > 60) return { ok: false, error: `time of day ${m[4]}:${m[5]}:${m[6]} does not exist` };
  let offsetMin = 0;
  if (m[9]) {
    if (Number(m[10]) > 23 || Number(m[11]) > 59) return { ok: false, error: `UTC offset ${m[8]} does not exist` };
    offsetMin = (m[9] === "-" ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  }
  const fraction = BigInt((m[7] ?? "").padEnd(9, "0"));
  const seconds = BigInt(daysFromCivil(y, mo, d)) * 86_400n + BigInt(h * 3600 + mi * 60 + s - offsetMin * 60);
  return { ok: true, value: seconds * NS_PER_S + fraction };
}

/** RFC 3339 in UTC with 0, 3, 6 or 9 fraction digits (the protobuf JSON convention). */
export function formatRfc3339Ns(ns: bigint): string {
  let days = ns / NS_PER_DAY;
  let rest = ns % NS_PER_DAY;
  if (rest < 0n) {
    rest += NS_PER_DAY;
    days -= 1n;
  }
  const [y, mo, d] = civilFromDays(Number(days));
  const secOfDay = Number(rest / NS_PER_S);
  const nanos = Number(rest % NS_PER_S);
  const p2 = (n: number) => String(n).padStart(2, "0");
  let frac = "";
  if (nanos !== 0) {
    const nine = String(nanos).padStart(9, "0");
    frac = "." + (nanos % 1_000_000 === 0 ? nine.slice(0, 3) : nanos % 1000 === 0 ? nine.slice(0, 6) : nine);
  }
  const hms = `${p2(Math.floor(secOfDay / 3600))}:${p2(Math.floor((secOfDay % 3600) / 60))}:${p2(secOfDay % 60)}`;
  return `${String(y).padStart(4, "0")}-${p2(mo)}-${p2(d)}T${hms}${frac}Z`;
}

const UNIT_NS: Record<string, bigint> = {
  ms: NS_PER_MS,
  s: NS_PER_S,
  m: 60n * NS_PER_S,
  h: 3600n * NS_PER_S,
  d: NS_PER_DAY,
  w: 7n * NS_PER_DAY,
};
const DURATION = /^(?:\d{1,9}(?:\.\d{1,9})?(?:ms|s|m|h|d|w))+$/;
const DURATION_PART = /(\d+)(?:\.(\d+))?(ms|s|m|h|d|w)/g;
/** 100 years: anything longer is a typo (`since=15000000m`). */
export const MAX_DURATION_NS = 36_500n * NS_PER_DAY;

/** Parses `30s`, `15m`, `2h`, `7d`, `1w`, `1h30m`, `1.5h`, `500ms` into nanoseconds. */
export function parseDurationNs(text: string): Parsed<bigint> {
  if (!DURATION.test(text)) return { ok: false, error: "not a duration" };
  let total = 0n;
  for (const [, whole, frac = "", unit] of text.matchAll(DURATION_PART)) {
    const scale = UNIT_NS[unit];
    total += BigInt(whole) * scale + (BigInt(frac.padEnd(9, "0")) * scale) / NS_PER_S;
  }
  if (total > MAX_DURATION_NS) return { ok: false, error: "is longer than 100 years (36500d)" };
  return { ok: true, value: total };
}

export function dateToNs(date: Date): bigint {
  return BigInt(date.getTime()) * NS_PER_MS;
}

/**
 * The times a request can name. Flows are int64 nanoseconds (up to 2262) and none is older than
 * 1970; stopping at 2200 leaves room for the windows and paddings the routes add, so no sum
 * overflows PostgreSQL's bigint (or the map's int minutes). A since/until outside is an open end
 * and is clamped (Go's zero time 0001-01-01 and 9999-12-31 are common ways to say "no bound"); a
 * moment (`at`) outside is refused.
 */
export const MIN_TIME_NS = 0n;
export const MAX_TIME_NS = BigInt(daysFromCivil(2200, 1, 1)) * NS_PER_DAY;

export function clampTimeNs(ns: bigint): bigint {
  return ns < MIN_TIME_NS ? MIN_TIME_NS : ns > MAX_TIME_NS ? MAX_TIME_NS : ns;
}

/** A moment: RFC 3339, or a duration back from `now`; within MIN_TIME_NS…MAX_TIME_NS. */
export function parseMomentNs(text: string, now: Date): Parsed<bigint> {
  const b = parseTimeBound(text);
  if (!b.ok) return b;
  const ns = b.value.kind === "time" ? b.value.ns : dateToNs(now) - b.value.ns;
  if (ns < MIN_TIME_NS || ns > MAX_TIME_NS) {
    return fail(`${q(text)} is outside ${formatRfc3339Ns(MIN_TIME_NS)} … ${formatRfc3339Ns(MAX_TIME_NS)}, the times flows can have`);
  }
  return ok(ns);
}

// ---------------------------------------------------------------------------------------------
// Value parsers: one string (already split at commas where the parameter allows) → typed value.
// ---------------------------------------------------------------------------------------------

const q = (s: string) => JSON.stringify(s);
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T = never>(error: string): Parsed<T> => ({ ok: false, error });

type TimeBound = { kind: "time"; ns: bigint } | { kind: "ago"; ns: bigint };

function parseTimeBound(s: string): Parsed<TimeBound> {
  // An unencoded "+02:00" in a typed URL arrives as " 02:00".
  const t = parseRfc3339Ns(s.replace(/ (\d{2}:\d{2})$/, "+$1"));
  if (t.ok) return ok({ kind: "time", ns: t.value });
  const d = parseDurationNs(s);
  if (d.ok) return ok({ kind: "ago", ns: d.value });
  if (/^\d{4}-\d{2}-\d{2}[Tt ]/.test(s) && t.error !== "not an RFC 3339 time") {
    return fail(`${q(s)} is not a valid RFC 3339 time: ${t.error}`);
  }
  if (d.error !== "not a duration") return fail(`${q(s)} ${d.error}`);
  return fail(
    `${q(s)} is neither an RFC 3339 time nor a duration like 15m (e.g. 2026-11-23T18:00:00Z, 30s, 2h, 7d, 1h30m)`,
  );
}

function intParser(min: number, max: number, what = "an integer") {
  return (s: string): Parsed<number> => {
    const n = /^\d{1,16}$/.test(s) ? Number(s) : NaN;
    return n >= min && n <= max ? ok(n) : fail(`${q(s)} is not ${what} from ${min} to ${max}`);
  };
}

const INT32_MAX = 2 ** 31 - 1;

/** Enum by proto name (case-insensitive) or any non-negative int32 number. */
function enumParser(schema: { values: readonly { name: string; number: number }[] }, what: string) {
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
const enumName = (schema: { values: readonly { name: string; number: number }[] }, n: number) =>
  schema.values.find((v) => v.number === n)?.name ?? String(n);

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function parseNamespace(s: string): Parsed<string> {
  return DNS_LABEL.test(s) && s.length <= 63
    ? ok(s)
    : fail(`${q(s)} is not a Kubernetes namespace name (lower-case letters, digits and "-", at most 63)`);
}

function parsePod(s: string): Parsed<PodSelector> {
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

function parseIpValue(s: string) {
  const r = parseCidr(s);
  return r.ok ? ok(r.value) : fail<never>(`${q(s)} is not an IP address or CIDR: ${r.error}`);
}

const PROTOCOLS = ["tcp", "udp", "icmpv4", "icmpv6", "sctp", "http", "dns", "kafka"];

function parseProtocol(s: string): Parsed<string[]> {
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

function parseEventType(s: string): Parsed<EventTypeMatch> {
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

function formatEventType(t: EventTypeMatch): string {
  const name = EVENT_TYPE_NAMES.get(t.type) ?? String(t.type);
  if (t.subType === undefined) return name;
  const sub = t.type === 4 && t.subType < TRACE_SUB_TYPES.length ? TRACE_SUB_TYPES[t.subType] : String(t.subType);
  return `${name}:${sub}`;
}

/**
 * `404` exactly; `4+` = 400–499, `40+` = 400–409 (hubble's prefix form). `4` and `40` mean the same
 * as `4+` and `40+`: that is what an unencoded `+` in a typed URL decodes to (a space, trimmed).
 */
function parseHttpStatus(s: string): Parsed<HttpStatusMatch> {
  const m = /^([1-5])(\d?)(\d?)(\+?)$/.exec(s);
  const digits = m ? m[1] + m[2] + m[3] : "";
  if (!m || (m[4] === "+" && digits.length === 3)) {
    return fail(`${q(s)} is not an HTTP status like 404 or a class like 4+ or 40+`);
  }
  const width = 10 ** (3 - digits.length);
  const min = Number(digits) * width;
  return ok({ min, max: min + width - 1 });
}

function formatHttpStatus(h: HttpStatusMatch): string {
  if (h.min === h.max) return String(h.min);
  const width = h.max - h.min + 1;
  if ((width === 100 || width === 10) && h.min % width === 0) return `${h.min / width}+`;
  throw new Error(`HTTP status range ${h.min}-${h.max} has no parameter spelling`);
}

function parseHttpMethod(s: string): Parsed<string> {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/.test(s) ? ok(s.toUpperCase()) : fail(`${q(s)} is not an HTTP method`);
}

function parseHttpPath(s: string): Parsed<string> {
  const r = toPortableRegex(s);
  return r.ok ? r : fail(`${q(s)} ${r.error}`);
}

/**
 * A run of `*` means what one does; it is kept as one because the live matcher's regex backtracks
 * through every split of the name among adjacent wildcards (20 of them take seconds per name).
 */
const oneStar = (p: string) => p.replace(/\*{2,}/g, "*");

/** hubble's FQDN pattern alphabet; `*` is the wildcard. Stored lower-case without a trailing dot. */
function parseFqdn(s: string): Parsed<string> {
  const p = oneStar(s.toLowerCase().replace(/\.$/, ""));
  if (p === "" || !/^[-a-z0-9_.*]+$/.test(p) || p.endsWith(".")) {
    return fail(`${q(s)} is not a DNS name pattern (letters, digits, "-", "_", "." and * wildcards)`);
  }
  return ok(p);
}

/** `node`, `cluster/node`, with `*` wildcards (hubble's --node-name). Stored lower-case. */
function parseNodeName(s: string): Parsed<string> {
  const p = oneStar(s.toLowerCase());
  if (!/^[-a-z0-9_.*]*(\/[-a-z0-9_.*]*)?$/.test(p) || p === "") {
    return fail(`${q(s)} is not a node name pattern like kind-worker*, or cluster/node`);
  }
  return ok(p);
}

function parseTrafficDirection(s: string): Parsed<number> {
  const upper = s.toUpperCase();
  const r = enumParser(TrafficDirectionSchema, "traffic direction")(upper === "UNKNOWN" ? "TRAFFIC_DIRECTION_UNKNOWN" : s);
  return r.ok ? r : fail(`${q(s)} is not a traffic direction; use ingress or egress`);
}
const formatTrafficDirection = (n: number) => {
  const name = enumName(TrafficDirectionSchema, n);
  return name === String(n) ? name : name.toLowerCase();
};

function parseCluster(s: string): Parsed<string> {
  return /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,251}[A-Za-z0-9])?$/.test(s) ? ok(s) : fail(`${q(s)} is not a cluster name`);
}

function parseUuid(s: string): Parsed<string> {
  return /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s)
    ? ok(s.toLowerCase())
    : fail(`${q(s)} is not a UUID`);
}

function parseFormat(s: string): Parsed<FlowQuery["format"]> {
  const f = s.toLowerCase();
  return f === "json" || f === "jsonl" || f === "csv" ? ok(f) : fail(`${q(s)} is not one of json, jsonl, csv`);
}

/** Checked here, not first by the store: a filter that matches nothing never reads the cursor. */
function parseCursor(s: string): Parsed<string> {
  return readCursor(splitCursor(s).cursor) ? ok(s) : fail(`${q(s)} is not a cursor from a previous page's "next"`);
}

// ---------------------------------------------------------------------------------------------
// zod schemas: one per parameter, over the list of raw values URLSearchParams gives for it.
// ---------------------------------------------------------------------------------------------

/** Adapts a Parsed-returning function into a zod string schema with our own message. */
function value<T>(parse: (s: string) => Parsed<T>) {
  return z.string().transform((s, ctx) => {
    const r = s === "" ? fail<T>("empty value") : parse(s);
    if (r.ok) return r.value;
    ctx.issues.push({ code: "custom", message: r.error, input: s });
    return z.NEVER;
  });
}

const tooLong = (s: string) => s.length > MAX_VALUE_LENGTH;
const rawValues = z
  .array(z.string())
  .refine((vs) => !vs.some(tooLong), { error: `a value is longer than ${MAX_VALUE_LENGTH} characters` });

/** A parameter that may repeat; `split` also ORs comma-separated values within one occurrence. */
function list<T>(parse: (s: string) => Parsed<T>, split = true) {
  return rawValues
    .transform((vs) => (split ? vs.flatMap((v) => v.split(",").map((x) => x.trim())) : vs))
    .pipe(
      z
        .array(value(parse))
        .max(MAX_VALUES_PER_PARAMETER, { error: `more than ${MAX_VALUES_PER_PARAMETER} values` }),
    );
}

function single<T>(parse: (s: string) => Parsed<T>) {
  return rawValues
    .max(1, { error: "given more than once" })
    .transform((vs) => vs[0])
    .pipe(value(parse));
}

const labelValue = (s: string): Parsed<LabelSelector> => {
  const r = parseLabelSelector(s);
  return r.ok ? r : fail(`${q(s)} is not a label selector: ${r.error}`);
};

const verdictValue = enumParser(VerdictSchema, "verdict");
const dropReasonValue = enumParser(DropReasonSchema, "drop reason");

/** Parameter name → schema. Order is the order of docs/api.md and of flowQueryToSearchParams. */
const PARAMETERS = {
  since: single(parseTimeBound),
  until: single(parseTimeBound),
  last: single(intParser(1, MAX_LAST)),
  verdict: list(verdictValue),
  namespace: list(parseNamespace),
  "from-namespace": list(parseNamespace),
  "to-namespace": list(parseNamespace),
  pod: list(parsePod),
  "from-pod": list(parsePod),
  "to-pod": list(parsePod),
  label: list(labelValue, false),
  "from-label": list(labelValue, false),
  "to-label": list(labelValue, false),
  ip: list(parseIpValue),
  "from-ip": list(parseIpValue),
  "to-ip": list(parseIpValue),
  port: list(intParser(0, 65535, "a port")),
  "from-port": list(intParser(0, 65535, "a port")),
  "to-port": list(intParser(0, 65535, "a port")),
  protocol: list(parseProtocol),
  type: list(parseEventType),
  "drop-reason-desc": list(dropReasonValue),
  "http-status": list(parseHttpStatus),
  "http-method": list(parseHttpMethod),
  "http-path": list(parseHttpPath, false),
  fqdn: list(parseFqdn),
  "from-fqdn": list(parseFqdn),
  "to-fqdn": list(parseFqdn),
  "node-name": list(parseNodeName),
  "traffic-direction": list(parseTrafficDirection),
  cluster: list(parseCluster),
  uuid: list(parseUuid),
  limit: single(intParser(1, MAX_LIMIT)),
  cursor: single(parseCursor),
  format: single(parseFormat),
} as const;

export type FlowQueryParameter = keyof typeof PARAMETERS;
export const FLOW_QUERY_PARAMETERS = Object.keys(PARAMETERS) as FlowQueryParameter[];

const paramsSchema = z.strictObject(
  Object.fromEntries(Object.entries(PARAMETERS).map(([k, s]) => [k, s.optional()])) as {
    [K in FlowQueryParameter]: z.ZodOptional<(typeof PARAMETERS)[K]>;
  },
);
type RawParsed = z.output<typeof paramsSchema>;

/** FlowFilterSpec field ↔ parameter name, for the list parameters that map one to one. */
const FILTER_FIELDS = [
  ["verdict", "verdict"],
  ["namespace", "namespace"],
  ["fromNamespace", "from-namespace"],
  ["toNamespace", "to-namespace"],
  ["pod", "pod"],
  ["fromPod", "from-pod"],
  ["toPod", "to-pod"],
  ["label", "label"],
  ["fromLabel", "from-label"],
  ["toLabel", "to-label"],
  ["ip", "ip"],
  ["fromIp", "from-ip"],
  ["toIp", "to-ip"],
  ["port", "port"],
  ["fromPort", "from-port"],
  ["toPort", "to-port"],
  ["protocol", "protocol"],
  ["type", "type"],
  ["dropReasonDesc", "drop-reason-desc"],
  ["httpStatus", "http-status"],
  ["httpMethod", "http-method"],
  ["httpPath", "http-path"],
  ["fqdn", "fqdn"],
  ["fromFqdn", "from-fqdn"],
  ["toFqdn", "to-fqdn"],
  ["nodeName", "node-name"],
  ["trafficDirection", "traffic-direction"],
  ["cluster", "cluster"],
  ["uuid", "uuid"],
] as const satisfies readonly (readonly [keyof FlowFilterSpec, FlowQueryParameter])[];

function dedupe<T>(values: T[]): T[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const k = JSON.stringify(v);
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

/**
 * Parses the query string of /api/flows or /api/live. Durations in since/until count back from
 * `now`. On error, `parameter` is the offending parameter and `error` starts with its name.
 * `accepted`: what a route that takes other parameters too lists for an unknown one.
 */
export function parseFlowQuery(params: URLSearchParams, now: Date = new Date(), accepted: readonly string[] = FLOW_QUERY_PARAMETERS): FlowQueryResult {
  // no prototype: "__proto__" or "constructor" are parameter names like any other (unknown ones)
  const raw: Record<string, string[]> = Object.create(null);
  for (const key of new Set(params.keys())) {
    if (!CACHE_BUSTERS.has(key)) raw[key] = params.getAll(key);
  }
  const unknown = Object.keys(raw).filter((k) => !Object.hasOwn(PARAMETERS, k));
  if (unknown.length > 0) {
    return {
      ok: false,
      parameter: unknown[0],
      error: `${unknown[0]}: unknown parameter; valid parameters are ${accepted.join(", ")}`,
    };
  }
  const parsed = paramsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const parameter = String(issue.path[0] ?? "");
    return { ok: false, parameter, error: `${parameter}: ${issue.message}` };
  }
  const p: RawParsed = parsed.data;

  const filter: FlowFilterSpec = {};
  for (const [field, name] of FILTER_FIELDS) {
    const values = p[name] as unknown[] | undefined;
    if (values && values.length > 0) {
      // protocol values are lists themselves (icmp → icmpv4, icmpv6)
      (filter as Record<string, unknown[]>)[field] = dedupe(name === "protocol" ? values.flat() : values);
    }
  }

  const tooBig = overPatternBudget(filter);
  if (tooBig) return { ok: false, ...tooBig };

  const nowNs = dateToNs(now);
  const resolve = (b: TimeBound | undefined) => (b === undefined ? undefined : b.kind === "time" ? b.ns : nowNs - b.ns);
  const sinceNs = resolve(p.since);
  const untilNs = resolve(p.until);
  if (sinceNs !== undefined && untilNs !== undefined && sinceNs > untilNs) {
    return {
      ok: false,
      parameter: "since",
      error: `since: ${formatRfc3339Ns(sinceNs)} is after until (${formatRfc3339Ns(untilNs)})`,
    };
  }

  const query: FlowQuery = { filter, limit: p.limit ?? DEFAULT_LIMIT, format: p.format ?? "json" };
  if (sinceNs !== undefined) query.sinceNs = clampTimeNs(sinceNs);
  if (untilNs !== undefined) query.untilNs = clampTimeNs(untilNs);
  if (p.last !== undefined) query.last = p.last;
  if (p.cursor !== undefined) query.cursor = p.cursor;
  return { ok: true, query };
}

const formatPod = (s: PodSelector) => (s.namespace === undefined ? s.prefix : `${s.namespace}/${s.prefix}`);

/** How each filter field is written back; everything else is String(value). */
const FORMATTERS: Partial<Record<keyof FlowFilterSpec, (v: never) => string>> = {
  verdict: (n: number) => enumName(VerdictSchema, n),
  dropReasonDesc: (n: number) => enumName(DropReasonSchema, n),
  trafficDirection: formatTrafficDirection,
  pod: formatPod,
  fromPod: formatPod,
  toPod: formatPod,
  label: formatLabelSelector,
  fromLabel: formatLabelSelector,
  toLabel: formatLabelSelector,
  ip: formatCidr,
  fromIp: formatCidr,
  toIp: formatCidr,
  type: formatEventType,
  httpStatus: formatHttpStatus,
};

/**
 * The inverse of parseFlowQuery, for links and exports: one parameter occurrence per value (never
 * comma-joined, so labels and regexes survive), absolute times, defaults omitted.
 */
export function flowQueryToSearchParams(query: FlowQuery): URLSearchParams {
  const out = new URLSearchParams();
  if (query.sinceNs !== undefined) out.append("since", formatRfc3339Ns(query.sinceNs));
  if (query.untilNs !== undefined) out.append("until", formatRfc3339Ns(query.untilNs));
  if (query.last !== undefined) out.append("last", String(query.last));
  for (const [field, name] of FILTER_FIELDS) {
    const values = query.filter[field] as unknown[] | undefined;
    const format = (FORMATTERS[field] ?? String) as (v: unknown) => string;
    for (const v of values ?? []) out.append(name, format(v));
  }
  if (query.limit !== DEFAULT_LIMIT) out.append("limit", String(query.limit));
  if (query.cursor !== undefined) out.append("cursor", query.cursor);
  if (query.format !== "json") out.append("format", query.format);
  return out;
}
