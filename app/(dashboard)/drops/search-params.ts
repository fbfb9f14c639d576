/**
 * The drops page's URL: exactly /flows' filter parameters and time range (so a filter moves
 * between /flows and /drops unchanged), plus the table's sort and the open group. Pure.
 */
import { apiParams, parseFlowsSearch, type FlowsUrlState, type SearchInput } from "../flows/search-params";

export const SORTS = ["count", "last", "first", "source", "destination", "port", "reason", "policy"] as const;
export type DropsSort = (typeof SORTS)[number];

export interface DropsUrlState {
  flows: FlowsUrlState;
  sort: DropsSort;
  order: "asc" | "desc";
  /** key of the open group */
  group?: string;
}

export const DROPS_PATH = "/drops";

function pairs(input: SearchInput): [string, string][] {
  if (typeof input === "string") return [...new URLSearchParams(input.replace(/^\?/, "")).entries()];
  if (typeof (input as URLSearchParams).forEach === "function" && Object.getPrototypeOf(input) !== Object.prototype) {
    const out: [string, string][] = [];
    (input as URLSearchParams).forEach((v, k) => out.push([k, v]));
    return out;
  }
  return Object.entries(input as Record<string, string | string[] | undefined>).flatMap(([k, v]) =>
    v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x): [string, string] => [k, x]),
  );
}

export const defaultOrder = (s: DropsSort): "asc" | "desc" => (s === "count" || s === "last" ? "desc" : "asc");

export function parseDropsSearch(input: SearchInput): DropsUrlState {
  const flows = parseFlowsSearch(input);
  flows.live = false;
  delete flows.flow;
  let sort: DropsSort = "count";
  let order: "asc" | "desc" | undefined;
  let group: string | undefined;
  for (const [k, v] of pairs(input)) {
    if (k === "sort" && (SORTS as readonly string[]).includes(v)) sort = v as DropsSort;
    else if (k === "order" && (v === "asc" || v === "desc")) order = v;
    else if (k === "group" && v) group = v;
  }
  return { flows, sort, order: order ?? defaultOrder(sort), group };
}

/** Query of /api/drops (filters, time, sort). */
export function dropsApiQuery(s: DropsUrlState): string {
  const p = apiParams(s.flows);
  if (s.sort !== "count") p.set("sort", s.sort);
  if (s.order !== defaultOrder(s.sort)) p.set("order", s.order);
  return p.toString();
}

export function serializeDropsSearch(s: DropsUrlState): string {
  const p = new URLSearchParams(dropsApiQuery(s));
  if (s.group) p.set("group", s.group);
  return p.toString();
}

export function dropsHref(s: DropsUrlState): string {
  const q = serializeDropsSearch(s);
  return q ? `${DROPS_PATH}?${q}` : DROPS_PATH;
}

/** Audit export of this view: grouped or every raw denied flow. */
export function dropsExportHref(s: DropsUrlState, format: "csv" | "jsonl", rows: "grouped" | "raw"): string {
  const p = new URLSearchParams(dropsApiQuery(s));
  p.set("format", format);
  if (rows === "raw") p.set("rows", "raw");
  return `/api/drops?${p.toString()}`;
}
