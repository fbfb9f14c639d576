/**
 * The /dns page's URL state, parsed and written only here, so every view (time range or brushed
 * zoom, workload, query search, status, and any hubble filter of /api/flows) is a shareable link.
 * Pure: no React, no Next. The parameter names are those of /api/dns (docs/api.md), so the page's
 * query is, apart from defaults, exactly what the API receives.
 */
import { FILTER_PARAMS, isFilterParam, type FilterValues } from "@/app/lib/flow-filter-params";
import { parseDurationMs } from "@/server/domain/shared/time";
import { flowsHref } from "../flows/search-params";

export const DNS_PATH = "/dns";
export const DEFAULT_SINCE = "15m";
export const TIME_PRESETS = ["5m", "15m", "1h", "6h", "24h"] as const;
export const STATUS_VALUES = ["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "OTHER", "UNANSWERED", "PENDING"] as const;

export interface DnsUrlState {
  /** RFC 3339 or a duration back from now; default 15m */
  since: string;
  until?: string;
  /** client workload ("shop/backend") */
  workload?: string;
  /** substring of the query name */
  query?: string;
  status: string[];
  /** hubble-style filters, passed through to the API untouched */
  filters: FilterValues;
  /** `live=off`: a relative range stays where it was instead of following the clock */
  paused?: boolean;
}

export type SearchInput = string | URLSearchParams | Record<string, string | string[] | undefined>;

function entries(input: SearchInput): [string, string][] {
  if (typeof input === "string") return [...new URLSearchParams(input.replace(/^\?/, "")).entries()];
  if (input instanceof URLSearchParams) return [...input.entries()];
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push([k, one]);
  }
  return out;
}

export function parseDnsSearch(input: SearchInput): DnsUrlState {
  const state: DnsUrlState = { since: DEFAULT_SINCE, status: [], filters: {} };
  let sinceSet = false;
  for (const [rawKey, rawValue] of entries(input)) {
    const key = rawKey.trim();
    const value = rawValue.trim();
    if (value === "") continue;
    if (key === "since" && !sinceSet) {
      state.since = value;
      sinceSet = true;
    } else if ((key === "until" || key === "workload" || key === "query") && state[key] === undefined) state[key] = value;
    else if (key === "status") {
      for (const s of value.split(",")) {
        const u = s.trim().toUpperCase();
        if ((STATUS_VALUES as readonly string[]).includes(u) && !state.status.includes(u)) state.status.push(u);
      }
    } else if (key === "live") {
      state.paused = value === "off";
    } else if (isFilterParam(key)) {
      const list = (state.filters[key] ??= []);
      if (!list.includes(value)) list.push(value);
    }
  }
  return state;
}

/** The page query, canonical order, defaults omitted. */
export function serializeDnsSearch(state: DnsUrlState): string {
  const p = new URLSearchParams();
  if (state.since !== DEFAULT_SINCE || state.until) p.set("since", state.since);
  if (state.until) p.set("until", state.until);
  if (state.workload) p.set("workload", state.workload);
  if (state.query) p.set("query", state.query);
  for (const s of state.status) p.append("status", s);
  for (const name of FILTER_PARAMS) for (const v of state.filters[name] ?? []) p.append(name, v);
  if (state.paused) p.set("live", "off");
  return p.toString();
}

/** A relative range follows the clock unless paused; a zoomed (absolute) one never moves. */
export function isLive(state: DnsUrlState): boolean {
  return !isZoomed(state) && !state.paused;
}

export function dnsHref(state: DnsUrlState): string {
  const q = serializeDnsSearch(state);
  return q ? `${DNS_PATH}?${q}` : DNS_PATH;
}

/** A bound as ms since epoch: RFC 3339 as is, a duration back from `nowMs`. */
export function boundMs(text: string | undefined, nowMs: number): number | undefined {
  if (!text) return undefined;
  const d = parseDurationMs(text);
  if (d !== undefined) return nowMs - d;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * The absolute range to ask for. Relative ranges are pinned to `nowMs` (whole seconds), so the
 * timeline and summary requests are identical and the server answers both from one read.
 */
export function resolveRange(state: DnsUrlState, nowMs: number): { since: string; until: string; sinceMs: number; untilMs: number } | null {
  const now = Math.floor(nowMs / 1000) * 1000;
  const untilMs = boundMs(state.until, now) ?? now;
  const sinceMs = boundMs(state.since, now) ?? untilMs - 15 * 60_000;
  if (!(sinceMs < untilMs)) return null;
  return { since: new Date(sinceMs).toISOString(), until: new Date(untilMs).toISOString(), sinceMs, untilMs };
}

/** Query string for /api/dns or /api/dns/summary. */
export function dnsApiQuery(state: DnsUrlState, range: { since: string; until: string }, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams();
  p.set("since", range.since);
  p.set("until", range.until);
  if (state.workload) p.set("workload", state.workload);
  if (state.query) p.set("query", state.query);
  for (const s of state.status) p.append("status", s);
  for (const name of FILTER_PARAMS) for (const v of state.filters[name] ?? []) p.append(name, v);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p.toString();
}

/** A zoomed view: an absolute range (from brushing or "show burst"). */
export function zoomTo(state: DnsUrlState, sinceMs: number, untilMs: number): DnsUrlState {
  return { ...state, since: new Date(Math.floor(sinceMs)).toISOString(), until: new Date(Math.ceil(untilMs)).toISOString() };
}

export function isZoomed(state: DnsUrlState): boolean {
  return Boolean(state.until) || parseDurationMs(state.since) === undefined;
}

export function dnsTitle(state: DnsUrlState): string {
  const parts = [state.workload, state.query && `“${state.query}”`, state.status.join(",")].filter(Boolean);
  return parts.length ? `DNS · ${parts.join(" ")}` : "DNS";
}

/**
 * /flows showing the request and response flows of one query (by their keys, around its time),
 * with the request open in the detail drawer: the verdict, policies and raw flow behind a mark.
 */
export function queryFlowsHref(q: { requestKey: string | null; responseKey: string | null; tMs: number; endMs: number | null }): string {
  const keys = [q.requestKey, q.responseKey].filter((k): k is string => k !== null);
  return flowsHref({
    filters: { uuid: keys },
    since: new Date(Math.floor(q.tMs) - 1000).toISOString(),
    until: new Date(Math.ceil(q.endMs ?? q.tMs) + 1000).toISOString(),
    live: false,
    flow: keys[0],
  });
}
