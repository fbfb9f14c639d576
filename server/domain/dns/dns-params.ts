/**
 * Parameters of GET /api/dns and /api/dns/summary: every filter and time parameter of /api/flows
 * (parsed by parseFlowQuery itself, so they mean exactly the same), plus a few DNS ones:
 *
 *   workload  client workload as shown by the API ("shop/backend"); repeat for OR
 *   query     case-insensitive substring of the query name
 *   status    NOERROR, NXDOMAIN, SERVFAIL, REFUSED, OTHER, UNANSWERED, PENDING; repeat or comma for OR
 *   timeout   how long a request may wait for its response before it counts as unanswered (5s)
 *   width     /api/dns only: pixel width of the timeline (decides marks or buckets), default 1000
 *   lane      /api/dns only: `workload` (default) or `name`
 *   buckets   /api/dns/summary only: columns of the status-over-time series, default 60
 *
 * Without since and until the range is the last 15 minutes (all of history could be millions of
 * queries). `cursor`, `last` and `format` other than json are not supported here.
 */
import { z } from "zod";
import { DNS_STATUSES, type DnsStatus } from "./dns-types";
import { DEFAULT_TIMEOUT_MS } from "./dns-pairing";
import { parseFlowQuery, FLOW_QUERY_PARAMETERS, MAX_VALUE_LENGTH, type FlowQueryResult } from "../flows/flow-query";
import { NS_PER_DAY, NS_PER_MINUTE, dateToNs, formatRfc3339Ns, parseDurationNs } from "../shared/time";
import type { FlowFilterSpec } from "../flows/flow-filter-spec";
import type { LaneBy } from "./dns-timeline";

export type DnsEndpoint = "list" | "summary";

export interface DnsApiQuery {
  filter: FlowFilterSpec;
  sinceNs: bigint;
  untilNs: bigint;
  workloads: string[];
  search: string | null;
  statuses: DnsStatus[];
  timeoutMs: number;
  limit: number;
  width: number;
  lane: LaneBy;
  buckets: number;
}

export type DnsQueryResult =
  | { ok: true; query: DnsApiQuery }
  | { ok: false; error: string; parameter: string; details?: Record<string, unknown> };

export const DEFAULT_RANGE_NS = 15n * NS_PER_MINUTE;
export const DEFAULT_DNS_LIMIT = 1000;
export const MAX_DNS_LIMIT = 5000;
/**
 * Longest range the DNS view reads. Its minute bookkeeping walks every minute of the range, so 100
 * years (52M minutes) would exhaust memory before the 1M-message limit could say anything; a month
 * of DNS is far past that limit on any cluster that resolves names.
 */
export const MAX_DNS_SPAN_NS = 31n * NS_PER_DAY;
const DNS_ONLY = ["workload", "query", "status", "timeout", "width", "lane", "buckets"] as const;
const UNSUPPORTED = ["cursor", "last"];
const FOR_ENDPOINT: Record<DnsEndpoint, readonly string[]> = {
  list: ["workload", "query", "status", "timeout", "width", "lane"],
  summary: ["workload", "query", "status", "timeout", "buckets"],
};

const fail = (parameter: string, error: string): DnsQueryResult => ({ ok: false, parameter, error: `${parameter}: ${error}` });

const intIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, { error: `is not a whole number from ${min} to ${max}` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error: `is not a whole number from ${min} to ${max}` });

export function parseDnsQuery(params: URLSearchParams, endpoint: DnsEndpoint, now: Date = new Date()): DnsQueryResult {
  const allowed = new Set<string>([...FLOW_QUERY_PARAMETERS.filter((p) => !UNSUPPORTED.includes(p)), ...FOR_ENDPOINT[endpoint], "_", "_rsc"]);
  for (const key of new Set(params.keys())) {
    if (UNSUPPORTED.includes(key)) return fail(key, `not supported by the DNS API (it returns whole ranges)`);
    if (!allowed.has(key)) {
      return fail(key, `unknown parameter; valid parameters are ${[...allowed].filter((k) => !k.startsWith("_")).join(", ")}`);
    }
  }
  for (const key of DNS_ONLY) {
    const vs = params.getAll(key);
    if (vs.some((v) => v.length > MAX_VALUE_LENGTH)) return fail(key, `a value is longer than ${MAX_VALUE_LENGTH} characters`);
    if (["timeout", "width", "lane", "buckets", "query"].includes(key) && vs.length > 1) return fail(key, "given more than once");
  }

  const flowParams = new URLSearchParams();
  for (const [k, v] of params) if (!(DNS_ONLY as readonly string[]).includes(k)) flowParams.append(k, v);
  const flow: FlowQueryResult = parseFlowQuery(flowParams, now);
  if (!flow.ok) return flow;
  if (flow.query.format !== "json") return fail("format", `only json is supported by the DNS API`);

  const statuses: DnsStatus[] = [];
  for (const raw of params.getAll("status").flatMap((v) => v.split(","))) {
    const s = raw.trim().toUpperCase();
    if (!(DNS_STATUSES as readonly string[]).includes(s)) return fail("status", `"${raw}" is not one of ${DNS_STATUSES.join(", ")}`);
    if (!statuses.includes(s as DnsStatus)) statuses.push(s as DnsStatus);
  }
  const workloads = [...new Set(params.getAll("workload").map((w) => w.trim()).filter(Boolean))];

  let timeoutMs = DEFAULT_TIMEOUT_MS;
  const timeout = params.get("timeout");
  if (timeout !== null) {
    const d = parseDurationNs(timeout);
    if (!d.ok || d.value < 100_000_000n || d.value > 120_000_000_000n) return fail("timeout", `"${timeout}" is not a duration from 100ms to 2m (like 5s)`);
    timeoutMs = Number(d.value / 1_000_000n);
  }
  const num = (key: string, min: number, max: number, dflt: number): number | DnsQueryResult => {
    const v = params.get(key);
    if (v === null) return dflt;
    const r = intIn(min, max).safeParse(v);
    return r.success ? r.data : fail(key, `"${v}" ${r.error.issues[0].message}`);
  };
  const width = num("width", 50, 10_000, 1000);
  if (typeof width !== "number") return width;
  const buckets = num("buckets", 1, 1000, 60);
  if (typeof buckets !== "number") return buckets;
  const limitRaw = params.get("limit");
  const limit = limitRaw === null ? DEFAULT_DNS_LIMIT : Math.min(flow.query.limit, MAX_DNS_LIMIT);
  const lane = params.get("lane") ?? "workload";
  if (lane !== "workload" && lane !== "name") return fail("lane", `"${lane}" is not workload or name`);

  const nowNs = dateToNs(now);
  const untilNs = flow.query.untilNs ?? nowNs;
  const sinceNs = flow.query.sinceNs ?? untilNs - DEFAULT_RANGE_NS;
  if (sinceNs >= untilNs) return fail("since", "the range is empty (since is not before until)");
  if (untilNs - sinceNs > MAX_DNS_SPAN_NS) {
    // fitsSince: what the page offers as a button, as for a range holding too many messages
    const fitsSince = formatRfc3339Ns(untilNs - MAX_DNS_SPAN_NS);
    return { ok: false, parameter: "since", error: "since: the DNS view covers at most 31 days; choose a later since", details: { fitsSince } };
  }

  return {
    ok: true,
    query: {
      filter: flow.query.filter,
      sinceNs,
      untilNs,
      workloads,
      search: params.get("query")?.trim().toLowerCase() || null,
      statuses,
      timeoutMs,
      limit,
      width,
      lane,
      buckets,
    },
  };
}
