/**
 * The flows page's URL state, parsed and written here and nowhere else, so every view (filters,
 * time range, live follow, the open flow) is a link someone can share. Pure: no React, no Next.
 *
 * The page uses the API's own parameter names (docs/api.md), so a page URL's query is, apart from
 * `live` and `flow`, exactly what /api/flows receives.
 */
import {
  FILTER_PARAMS,
  isFilterParam,
  type FilterParam,
  type FilterValues,
} from "@/app/lib/flow-filter-params";

export interface FlowsUrlState {
  filters: FilterValues;
  /** RFC 3339 or a duration back from now (`15m`) */
  since?: string;
  until?: string;
  /** only the N newest matching flows (digits, as typed; the API validates) */
  last?: string;
  /** follow new flows over /api/live */
  live: boolean;
  /** key of the flow open in the detail drawer */
  flow?: string;
}

export type SearchInput =
  | string
  | { forEach(cb: (value: string, key: string) => void): void }
  | Record<string, string | string[] | undefined>;

export const FLOWS_PATH = "/flows";

/** Entries of any search-params shape, in order, repeated keys kept. */
function entries(input: SearchInput): [string, string][] {
  if (typeof input === "string") return [...new URLSearchParams(input.replace(/^\?/, "")).entries()];
  if (typeof (input as URLSearchParams).forEach === "function" && !isPlainRecord(input)) {
    const out: [string, string][] = [];
    (input as URLSearchParams).forEach((v, k) => out.push([k, v]));
    return out;
  }
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(input as Record<string, string | string[] | undefined>)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push([k, one]);
  }
  return out;
}

function isPlainRecord(v: unknown): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const TRUE = new Set(["", "1", "true", "yes", "on"]);

export function emptyFlowsState(): FlowsUrlState {
  return { filters: {}, live: false };
}

/** URL → state. Unknown parameters are ignored; values are trimmed; empty values dropped. */
export function parseFlowsSearch(input: SearchInput): FlowsUrlState {
  const state = emptyFlowsState();
  for (const [rawKey, rawValue] of entries(input)) {
    const key = rawKey.trim();
    const value = rawValue.trim();
    if (isFilterParam(key)) {
      if (value === "") continue;
      const list = (state.filters[key] ??= []);
      if (!list.includes(value)) list.push(value);
    } else if (key === "since" || key === "until" || key === "last" || key === "flow") {
      if (value !== "" && state[key] === undefined) state[key] = value;
    } else if (key === "live") {
      state.live = TRUE.has(value.toLowerCase());
    }
  }
  return state;
}

/** Filters and time bounds: exactly the query of /api/flows (without limit/cursor/format). */
export function apiParams(state: FlowsUrlState): URLSearchParams {
  const p = new URLSearchParams();
  if (state.since) p.set("since", state.since);
  if (state.until) p.set("until", state.until);
  if (state.last) p.set("last", state.last);
  appendFilters(p, state.filters);
  return p;
}

function appendFilters(p: URLSearchParams, filters: FilterValues): void {
  for (const name of FILTER_PARAMS) {
    for (const v of filters[name] ?? []) p.append(name, v);
  }
}

/** State → page query string, canonical order, without the leading `?`. */
export function serializeFlowsSearch(state: FlowsUrlState): string {
  const p = apiParams(state);
  if (state.live) p.set("live", "1");
  if (state.flow) p.set("flow", state.flow);
  return p.toString();
}

export function flowsHref(state: FlowsUrlState): string {
  const q = serializeFlowsSearch(state);
  return q ? `${FLOWS_PATH}?${q}` : FLOWS_PATH;
}

/** The query of /api/flows for this view; also the identity of the loaded data (query key). */
export function flowsApiQuery(state: FlowsUrlState): string {
  return apiParams(state).toString();
}

/** /api/live takes the same filters; time parameters are ignored there, so they aren't sent. */
export function liveApiQuery(state: FlowsUrlState): string {
  const p = new URLSearchParams();
  appendFilters(p, state.filters);
  return p.toString();
}

/** Download link for every flow matching this view. */
export function exportHref(state: FlowsUrlState, format: "csv" | "jsonl"): string {
  const p = apiParams(state);
  p.set("format", format);
  return `/api/flows?${p.toString()}`;
}

export function activeFilterCount(state: FlowsUrlState): number {
  return FILTER_PARAMS.reduce((n, name) => n + ((state.filters[name]?.length ?? 0) > 0 ? 1 : 0), 0);
}

export function hasTimeBounds(state: FlowsUrlState): boolean {
  return Boolean(state.since || state.until || state.last);
}

/** A new state with these filters replacing the current ones (time range and live kept). */
export function withFilters(state: FlowsUrlState, filters: FilterValues): FlowsUrlState {
  const clean: FilterValues = {};
  for (const name of FILTER_PARAMS) {
    const vs = (filters[name] ?? []).map((v) => v.trim()).filter((v) => v !== "");
    if (vs.length) clean[name] = [...new Set(vs)];
  }
  return { ...state, filters: clean };
}

/** Short human summary for the document title: `namespace=default verdict=DROPPED since=15m`. */
export function flowsTitle(state: FlowsUrlState): string {
  const parts: string[] = [];
  for (const name of FILTER_PARAMS) {
    const vs = state.filters[name];
    if (vs?.length) parts.push(`${name}=${vs.join(",")}`);
  }
  if (state.since) parts.push(`since=${state.since}`);
  if (state.until) parts.push(`until=${state.until}`);
  if (state.last) parts.push(`last=${state.last}`);
  const text = parts.join(" ");
  return text.length > 80 ? `Flows · ${text.slice(0, 79)}…` : text ? `Flows · ${text}` : "Flows";
}

export type { FilterParam, FilterValues };
