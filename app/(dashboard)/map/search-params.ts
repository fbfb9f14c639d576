/**
 * The map page's URL state, parsed and written only here so every view (window, filters, search,
 * selection) is a shareable link. Pure: no React, no Next. Filter names are the API's own
 * (docs/api.md), so the page's query minus `q`/`sel` is what GET /api/graph receives.
 */

export const LIVE_WINDOWS = ["5m", "15m", "1h"] as const;
export type LiveWindow = (typeof LIVE_WINDOWS)[number];
export const MAP_PATH = "/map";

export interface MapUrlState {
  /** live window back from now; ignored when since/until are set */
  window: LiveWindow;
  since?: string;
  until?: string;
  namespace: string[];
  verdict: string[];
  cluster: string[];
  protocol: string[];
  /** hide host/health/unmanaged/kube-system */
  noise: boolean;
  /** search box: highlights matching nodes */
  q: string;
  /** selected node or edge id (a namespace or aggregated edge in the overview) */
  sel?: string;
  /** "namespaces": one node per namespace; "workloads": every workload; unset: by the graph's size */
  view?: MapViewMode;
  /** namespaces (group ids) expanded in the namespace view */
  open: string[];
}

export const VIEW_MODES = ["namespaces", "workloads"] as const;
export type MapViewMode = (typeof VIEW_MODES)[number];

export type SearchInput = string | Record<string, string | string[] | undefined>;

function entries(input: SearchInput): [string, string][] {
  if (typeof input === "string") return [...new URLSearchParams(input.replace(/^\?/, "")).entries()];
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push([k, one]);
  }
  return out;
}

const list = (vs: string[]) => [...new Set(vs.flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean))];

export function parseMapSearch(input: SearchInput): MapUrlState {
  const all = entries(input);
  const get = (k: string) => all.filter(([key]) => key === k).map(([, v]) => v);
  const w = get("window")[0];
  const state: MapUrlState = {
    window: (LIVE_WINDOWS as readonly string[]).includes(w ?? "") ? (w as LiveWindow) : "5m",
    namespace: list(get("namespace")),
    verdict: list(get("verdict")),
    cluster: list(get("cluster")),
    protocol: list(get("protocol")),
    noise: !["off", "false", "0", "show"].includes(get("noise")[0] ?? ""),
    q: get("q")[0] ?? "",
    open: list(get("open")),
  };
  const view = get("view")[0];
  if ((VIEW_MODES as readonly string[]).includes(view ?? "")) state.view = view as MapViewMode;
  const since = get("since")[0];
  const until = get("until")[0];
  if (since) state.since = since;
  if (until) state.until = until;
  const sel = get("sel")[0];
  if (sel) state.sel = sel;
  return state;
}

export function isLive(s: MapUrlState): boolean {
  return !s.since && !s.until;
}

/** The page URL's query (defaults left out, so URLs stay short). */
export function mapSearch(s: MapUrlState): string {
  const p = new URLSearchParams();
  if (isLive(s)) {
    if (s.window !== "5m") p.set("window", s.window);
  } else {
    if (s.since) p.set("since", s.since);
    if (s.until) p.set("until", s.until);
  }
  for (const k of ["namespace", "verdict", "cluster", "protocol"] as const) for (const v of s[k]) p.append(k, v);
  if (!s.noise) p.set("noise", "off");
  if (s.q) p.set("q", s.q);
  if (s.sel) p.set("sel", s.sel);
  if (s.view) p.set("view", s.view);
  for (const g of s.open) p.append("open", g);
  const q = p.toString();
  return q ? `?${q}` : "";
}

/** GET /api/graph for this state: the graph of the window and filters (the selection is not part of it). */
export function graphApiQuery(s: MapUrlState): string {
  return `/api/graph?${graphParams(s).toString()}`;
}

/**
 * The selection's flows/s series alone (a workload, an edge, a namespace or an aggregated edge),
 * for the same window and filters: selecting something never refetches the graph.
 */
export function seriesApiQuery(s: MapUrlState): string | null {
  if (!s.sel) return null;
  const p = graphParams(s);
  p.set("focus", s.sel);
  p.set("only", "series");
  return `/api/graph?${p.toString()}`;
}

function graphParams(s: MapUrlState): URLSearchParams {
  const p = new URLSearchParams();
  if (isLive(s)) p.set("window", s.window);
  else {
    if (s.since) p.set("since", s.since);
    if (s.until) p.set("until", s.until);
  }
  for (const k of ["namespace", "verdict", "cluster", "protocol"] as const) for (const v of s[k]) p.append(k, v);
  p.set("noise", s.noise ? "on" : "off");
  return p;
}
