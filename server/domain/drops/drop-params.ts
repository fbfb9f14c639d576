/**
 * URL parameters of /api/drops and /api/policies/*: the /api/flows filter set (parseFlowQuery, so
 * the same URL filters /flows and /drops alike) plus a few parameters of their own, validated here
 * with the same error convention (`{error, parameter}`, error starting with the parameter name).
 */
import { FLOW_QUERY_PARAMETERS, parseFlowQuery, type FlowQueryResult } from "../flows/flow-query";
import { NS_PER_MINUTE, parseDurationNs, parseMomentNs } from "../shared/time";
import { DROP_SORTS, type DropSort } from "./drop-group";

export type ParamError = { ok: false; error: string; parameter: string };

/** Splits off `own` parameters, parses the rest as a flow query. */
export function parseWithOwn(params: URLSearchParams, own: readonly string[], now = new Date()): { flow: FlowQueryResult; own: Map<string, string[]>; explicitLimit: boolean } {
  const rest = new URLSearchParams();
  const mine = new Map<string, string[]>();
  for (const [k, v] of params) {
    if (own.includes(k)) mine.set(k, [...(mine.get(k) ?? []), v]);
    else rest.append(k, v);
  }
  return { flow: parseFlowQuery(rest, now, [...FLOW_QUERY_PARAMETERS, ...own]), own: mine, explicitLimit: rest.has("limit") };
}

export function oneOf<T extends string>(own: Map<string, string[]>, name: string, allowed: readonly T[], fallback: T): { ok: true; value: T } | ParamError {
  const vs = own.get(name);
  if (!vs) return { ok: true, value: fallback };
  if (vs.length > 1) return { ok: false, parameter: name, error: `${name}: given more than once` };
  const v = vs[0].toLowerCase() as T;
  return allowed.includes(v) ? { ok: true, value: v } : { ok: false, parameter: name, error: `${name}: ${JSON.stringify(vs[0])} is not one of ${allowed.join(", ")}` };
}

export function parseSort(own: Map<string, string[]>): { ok: true; by: DropSort; dir: "asc" | "desc" } | ParamError {
  const by = oneOf(own, "sort", DROP_SORTS, "count");
  if (!by.ok) return by;
  const dir = oneOf(own, "order", ["asc", "desc"] as const, by.value === "count" || by.value === "last" ? "desc" : "asc");
  if (!dir.ok) return dir;
  return { ok: true, by: by.value, dir: dir.value };
}

/** A moment: RFC 3339, or a duration back from now. */
export function parseMoment(own: Map<string, string[]>, name: string, now = new Date()): { ok: true; ns: bigint } | ParamError {
  const vs = own.get(name);
  if (!vs || !vs.length) return { ok: false, parameter: name, error: `${name}: required (an RFC 3339 time like 2026-11-23T18:00:00Z)` };
  if (vs.length > 1) return { ok: false, parameter: name, error: `${name}: given more than once` };
  const t = parseMomentNs(vs[0], now);
  return t.ok ? { ok: true, ns: t.value } : { ok: false, parameter: name, error: `${name}: ${t.error}` };
}

export function parseWindow(own: Map<string, string[]>, name: string, fallbackNs: bigint, maxNs: bigint): { ok: true; ns: bigint } | ParamError {
  const vs = own.get(name);
  if (!vs) return { ok: true, ns: fallbackNs };
  if (vs.length > 1) return { ok: false, parameter: name, error: `${name}: given more than once` };
  const d = parseDurationNs(vs[0]);
  if (!d.ok || d.value <= 0n) return { ok: false, parameter: name, error: `${name}: ${JSON.stringify(vs[0])} is not a duration like 2m` };
  if (d.value > maxNs) return { ok: false, parameter: name, error: `${name}: at most ${maxNs / NS_PER_MINUTE}m` };
  return { ok: true, ns: d.value };
}

export function parseCount(own: Map<string, string[]>, name: string, min: number, max: number, fallback: number): { ok: true; value: number } | ParamError {
  const vs = own.get(name);
  if (!vs) return { ok: true, value: fallback };
  const n = vs.length === 1 && /^\d{1,6}$/.test(vs[0]) ? Number(vs[0]) : NaN;
  return n >= min && n <= max ? { ok: true, value: n } : { ok: false, parameter: name, error: `${name}: ${JSON.stringify(vs.join(","))} is not an integer from ${min} to ${max}` };
}
