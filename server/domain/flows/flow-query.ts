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
import { DropReasonSchema, VerdictSchema } from "@/proto/gen/flow/flow_pb";
import { formatCidr } from "../shared/cidr";
import { formatLabelSelector, parseLabelSelector } from "../shared/label-selector";
import { fail, q, type Parsed } from "../shared/parsed";
import { clampTimeNs, dateToNs, formatRfc3339Ns, parseTimeBound, type TimeBound } from "../shared/time";
import type { FlowFilterSpec, FlowQuery, LabelSelector } from "./flow-filter-spec";
import {
  enumName,
  enumParser,
  formatEventType,
  formatHttpStatus,
  formatPod,
  formatTrafficDirection,
  intParser,
  parseCluster,
  parseCursor,
  parseEventType,
  parseFormat,
  parseFqdn,
  parseHttpMethod,
  parseHttpPath,
  parseHttpStatus,
  parseIpValue,
  parseNamespace,
  parseNodeName,
  parsePod,
  parseProtocol,
  parseTrafficDirection,
  parseUuid,
} from "./flow-values";
import { overPatternBudget } from "./pattern-rules";


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

export const labelValue = (s: string): Parsed<LabelSelector> => {
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
