/**
 * URL parameters of GET /api/graph: a time window (`since`/`until`, or a live `window` back from
 * now), `noise` (hide host/health/unmanaged/kube-system; on by default), `focus` (a map element id
 * to return a flows series for; `only=series` returns just that), `protocol` limited to L4 kinds, and the context-level filters of
 * /api/flows (namespace, verdict, cluster, pod, label, ip, fqdn, node-name, …) parsed by
 * parseFlowQuery so they mean exactly what they mean on /flows. Per-flow filters (port, HTTP
 * fields, uuid) are refused: the map is built from per-minute rollups that do not keep them.
 */
import { z } from "zod";
import type { FlowFilterSpec } from "../flows/flow-filter-spec";
import { FLOW_QUERY_PARAMETERS, parseFlowQuery } from "../flows/flow-query";
import { NS_PER_DAY, NS_PER_MINUTE, dateToNs, parseDurationNs } from "../shared/time";

export const LIVE_WINDOWS = ["5m", "15m", "1h"] as const;
export const DEFAULT_WINDOW = "15m";
/** a month of minute rollups is ~45k minutes: beyond that a map is no longer an answer in < 1 s */
export const MAX_SPAN_NS = 31n * NS_PER_DAY;
const OWN = ["window", "noise", "focus", "protocol", "buckets", "only"] as const;
const REFUSED = ["port", "from-port", "to-port", "http-status", "http-method", "http-path", "uuid", "last", "cursor", "limit", "format"];
const L4: Record<string, number[]> = { tcp: [1], udp: [2], icmp: [3, 4], icmpv4: [3], icmpv6: [4], sctp: [5] };

export interface GraphParams {
  filter: FlowFilterSpec;
  l4?: number[];
  sinceNs: bigint;
  untilNs: bigint;
  live: boolean;
  hideNoise: boolean;
  focus?: string;
  buckets: number;
  /** `only=series`: just the focused element's series (a selection needs no new graph) */
  seriesOnly: boolean;
}

export type GraphParamsResult = { ok: true; params: GraphParams } | { ok: false; error: string; parameter: string };

const own = z.object({
  window: z.string().optional(),
  noise: z.enum(["on", "off", "true", "false", "1", "0", "hide", "show"]).optional(),
  focus: z.string().min(1).max(1024).optional(),
  buckets: z.coerce.number().int().min(1).max(600).optional(),
  only: z.enum(["series"]).optional(),
});

export function parseGraphParams(search: URLSearchParams, now: Date = new Date()): GraphParamsResult {
  const rest = new URLSearchParams();
  const mine: Record<string, string> = {};
  const protocols: string[] = [];
  for (const [k, v] of search) {
    if (REFUSED.includes(k)) return { ok: false, parameter: k, error: `${k}: not available on the map (it is built from per-minute rollups by context, L4 kind and server port)` };
    if (k === "protocol") protocols.push(...v.split(",").map((x) => x.trim().toLowerCase()).filter(Boolean));
    else if ((OWN as readonly string[]).includes(k)) {
      if (k in mine) return { ok: false, parameter: k, error: `${k}: given more than once` };
      mine[k] = v;
    } else rest.append(k, v);
  }
  const o = own.safeParse(mine);
  if (!o.success) {
    const issue = o.error.issues[0];
    const parameter = String(issue.path[0] ?? "query");
    return { ok: false, parameter, error: `${parameter}: ${JSON.stringify(mine[parameter] ?? "")} ${issue.message}` };
  }
  if (o.data.only === "series" && !o.data.focus) return { ok: false, parameter: "only", error: "only: series needs focus (the element whose series to return)" };
  const l4: number[] = [];
  for (const p of protocols) {
    const kinds = Object.hasOwn(L4, p) ? L4[p] : undefined;
    if (!kinds) return { ok: false, parameter: "protocol", error: `protocol: ${JSON.stringify(p)} is not one of ${Object.keys(L4).join(", ")} (L7 protocols are not kept in the map's rollups)` };
    l4.push(...kinds);
  }
  const hasRange = rest.has("since") || rest.has("until");
  if (hasRange && o.data.window) return { ok: false, parameter: "window", error: "window: give either window (live) or since/until, not both" };

  const parsed = parseFlowQuery(rest, now, [...FLOW_QUERY_PARAMETERS.filter((n) => !REFUSED.includes(n)), ...OWN]);
  if (!parsed.ok) return parsed;
  const nowNs = dateToNs(now);
  let sinceNs: bigint;
  let untilNs: bigint;
  let live = false;
  if (hasRange) {
    untilNs = parsed.query.untilNs ?? nowNs;
    sinceNs = parsed.query.sinceNs ?? untilNs - 15n * NS_PER_MINUTE;
    live = parsed.query.untilNs === undefined;
  } else {
    const w = o.data.window ?? DEFAULT_WINDOW;
    const d = parseDurationNs(w);
    if (!d.ok || d.value <= 0n) return { ok: false, parameter: "window", error: `window: ${JSON.stringify(w)} is not a duration like 5m, 15m or 1h` };
    untilNs = nowNs;
    sinceNs = nowNs - d.value;
    live = true;
  }
  if (sinceNs >= untilNs) return { ok: false, parameter: "since", error: "since: must be before until" };
  if (untilNs - sinceNs > MAX_SPAN_NS) return { ok: false, parameter: hasRange ? "since" : "window", error: `${hasRange ? "since" : "window"}: the map covers at most 31 days` };
  const noise = o.data.noise ?? "on";
  return {
    ok: true,
    params: {
      filter: parsed.query.filter,
      ...(l4.length ? { l4: [...new Set(l4)] } : {}),
      sinceNs,
      untilNs,
      live,
      hideNoise: noise === "on" || noise === "true" || noise === "1" || noise === "hide",
      ...(o.data.focus ? { focus: o.data.focus } : {}),
      buckets: o.data.buckets ?? 60,
      seriesOnly: o.data.only === "series",
    },
  };
}
