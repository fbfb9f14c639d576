/**
 * The policies page's URL: /flows' filters and time range, the moment picked for before/after
 * (`at`, RFC 3339) with its window, and the namespace a policy set is suggested for. Pure.
 */
import { apiParams, parseFlowsSearch, type FlowsUrlState, type SearchInput } from "../flows/search-params";

export interface PoliciesUrlState {
  flows: FlowsUrlState;
  at?: string;
  window: string;
  suggest?: string;
}

export const POLICIES_PATH = "/policies";
export const DEFAULT_WINDOW = "2m";

export function parsePoliciesSearch(input: SearchInput): PoliciesUrlState {
  const flows = parseFlowsSearch(input);
  flows.live = false;
  delete flows.flow;
  const p = typeof input === "string" ? new URLSearchParams(input.replace(/^\?/, "")) : toParams(input);
  const at = p.get("at")?.trim() || undefined;
  const window = p.get("window")?.trim() || DEFAULT_WINDOW;
  const suggest = p.get("suggest")?.trim() || undefined;
  return { flows, at, window, suggest };
}

function toParams(input: Exclude<SearchInput, string>): URLSearchParams {
  const out = new URLSearchParams();
  if (typeof (input as URLSearchParams).forEach === "function" && Object.getPrototypeOf(input) !== Object.prototype) {
    (input as URLSearchParams).forEach((v, k) => out.append(k, v));
    return out;
  }
  for (const [k, v] of Object.entries(input as Record<string, string | string[] | undefined>)) {
    for (const x of v === undefined ? [] : Array.isArray(v) ? v : [v]) out.append(k, x);
  }
  return out;
}

export function policiesApiQuery(s: PoliciesUrlState): string {
  return apiParams(s.flows).toString();
}

/** /api/policies/diff: the filters without the time range (the windows come from `at`). */
export function diffApiQuery(s: PoliciesUrlState): string | null {
  if (!s.at) return null;
  const p = apiParams({ ...s.flows, since: undefined, until: undefined, last: undefined });
  p.set("at", s.at);
  p.set("window", s.window);
  return p.toString();
}

export function suggestApiQuery(s: PoliciesUrlState): string | null {
  if (!s.suggest) return null;
  const p = new URLSearchParams();
  p.set("namespace", s.suggest);
  if (s.flows.since) p.set("since", s.flows.since);
  if (s.flows.until) p.set("until", s.flows.until);
  return p.toString();
}

export function policiesHref(s: PoliciesUrlState): string {
  const p = apiParams(s.flows);
  if (s.at) p.set("at", s.at);
  if (s.window !== DEFAULT_WINDOW) p.set("window", s.window);
  if (s.suggest) p.set("suggest", s.suggest);
  const q = p.toString();
  return q ? `${POLICIES_PATH}?${q}` : POLICIES_PATH;
}
