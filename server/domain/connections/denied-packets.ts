/**
 * A packet a policy denies is reported twice by the agent that denied it: a policy-verdict event
 * (verdict DROPPED, with denied_by and the match type) and a drop event (drop reason, datapath
 * location), microseconds apart, on the same node, between the same endpoints, in the same
 * direction, on the same port. Both are stored (exports hand back what Hubble sent); every count
 * of denied packets pairs them so the packet counts once — see docs/adr/0005-denied-packets-count-once.md.
 *
 * Pairing works on counts, so it gives the same answer on raw flows and on per-minute rollups:
 * within one (packet key, minute, L4, server port), p policy-verdict drops and d drop events are
 * max(p, d) packets. The min(p, d) paired drop events are the ones not counted (oldest first), so
 * the policy-verdict event — the one naming the policy — stands for the packet.
 */
import { dropReasonNumber, POLICY_REASONS } from "../shared/drop-reasons";
import { EVENT_DROP, EVENT_POLICY_VERDICT, verdictNumber } from "./observation";
import { record } from "@/server/domain/shared/json";
import { l4AndServerPort } from "../flows/flow-l4";
import { NS_PER_MINUTE } from "@/server/domain/shared/time";

type J = Record<string, unknown>;
const keyPart = (v: unknown) => (typeof v === "string" ? v : v === undefined || v === null ? "" : String(v));

export interface PairInfo {
  /** what the two events of one packet share */
  key: string;
  side: "drop" | "verdict";
}

function endpointKey(e: unknown): string {
  const o = record(e);
  return `${keyPart(o.ID)}/${keyPart(o.identity)}/${keyPart(o.namespace)}/${keyPart(o.pod_name)}`;
}

/**
 * The pairing key of a denied flow context, or undefined for flows that are not one half of a
 * denied packet (forwarded, audit, L7 drops, other event types).
 */
export function pairInfo(flow: J): PairInfo | undefined {
  if (verdictNumber(flow.verdict) !== 2) return undefined;
  const type = Number(record(flow.event_type).type ?? NaN);
  const side = type === EVENT_DROP ? "drop" : type === EVENT_POLICY_VERDICT ? "verdict" : undefined;
  if (!side) return undefined;
  const reason = dropReasonNumber((flow.drop_reason_desc ?? flow.drop_reason) as string | number | undefined);
  // a policy verdict is always a policy reason; an agent that leaves it out means "denied by policy"
  const reasonKey = side === "verdict" && reason === 0 ? "policy" : POLICY_REASONS.has(reason) ? "policy" : String(reason);
  if (side === "drop" && reasonKey !== "policy") return undefined; // datapath drops have no verdict twin
  const ip = record(flow.IP);
  const dir = keyPart(flow.traffic_direction);
  return {
    side,
    key: [keyPart(flow.node_name), keyPart(ip.source), keyPart(ip.destination), endpointKey(flow.source), endpointKey(flow.destination), dir, reasonKey].join("|"),
  };
}

/** A count of flows of one context in one minute (and L4 kind / server port), as SQL or rollups give it. */
export interface CountRow {
  ctxId: number;
  minute: number;
  l4: number;
  port: number;
  count: number;
  /** rows of one group lose their paired events in this order (a time bucket, a timestamp); default 0 */
  order?: number;
}

/**
 * For each row, how many of its flows are the drop-event half of a packet whose policy-verdict half
 * is counted: subtract these to count denied packets once. `info` gives a context's PairInfo.
 */
export function pairedDropEvents(rows: readonly CountRow[], info: (ctxId: number) => PairInfo | undefined): number[] {
  const out = new Array<number>(rows.length).fill(0);
  const groups = new Map<string, { drops: number[]; d: number; p: number }>();
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const pi = info(r.ctxId);
    if (!pi || r.count <= 0) continue;
    const key = `${pi.key}|${r.minute}|${r.l4}|${r.port}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { drops: [], d: 0, p: 0 }));
    if (pi.side === "drop") {
      g.drops.push(i);
      g.d += r.count;
    } else g.p += r.count;
  }
  for (const g of groups.values()) {
    let k = Math.min(g.d, g.p);
    if (k === 0) continue;
    g.drops.sort((a, b) => (rows[a].order ?? 0) - (rows[b].order ?? 0) || rows[a].ctxId - rows[b].ctxId || a - b);
    for (const i of g.drops) {
      const take = Math.min(k, rows[i].count);
      out[i] = take;
      k -= take;
      if (k === 0) break;
    }
  }
  return out;
}

/** The rows' counts with paired drop events taken out (rows left with nothing are dropped). */
export function countDeniedOnce<T extends CountRow>(rows: readonly T[], info: (ctxId: number) => PairInfo | undefined): T[] {
  const paired = pairedDropEvents(rows, info);
  const out: T[] = [];
  for (let i = 0; i < rows.length; i++) {
    const n = rows[i].count - paired[i];
    if (n > 0) out.push(paired[i] ? { ...rows[i], count: n } : rows[i]);
  }
  return out;
}

/**
 * For a stream of single flows read newest first (the raw export): says of each drop event whether
 * it is a paired one. Built from the same per-minute counts, so the flows it leaves unpaired add up
 * to the grouped count.
 */
export class PairedStream {
  private readonly groups = new Map<string, { d: number; k: number; seen: number }>();

  constructor(rows: readonly CountRow[], info: (ctxId: number) => PairInfo | undefined) {
    const sums = new Map<string, { d: number; p: number }>();
    for (const r of rows) {
      const pi = info(r.ctxId);
      if (!pi) continue;
      const key = `${pi.key}|${r.minute}|${r.l4}|${r.port}`;
      const s = sums.get(key) ?? { d: 0, p: 0 };
      if (pi.side === "drop") s.d += r.count;
      else s.p += r.count;
      sums.set(key, s);
    }
    for (const [key, s] of sums) if (s.d && s.p) this.groups.set(key, { d: s.d, k: Math.min(s.d, s.p), seen: 0 });
  }

  /** call once per flow, newest first; true = a drop event whose packet is counted by its policy verdict */
  paired(flow: J, tsNs: bigint): boolean {
    const pi = pairInfo(flow);
    if (!pi || pi.side !== "drop") return false;
    const { l4, port } = serverPortOf(flow);
    const g = this.groups.get(`${pi.key}|${Number(tsNs / NS_PER_MINUTE)}|${l4}|${port}`);
    if (!g) return false;
    // newest first: the last k of the group's d drop events are its oldest ones
    const j = g.seen++;
    return j >= g.d - g.k;
  }
}

/** L4 kind and server port of a whole flow, by the rollups' rule (the source port of a reply). */
export function serverPortOf(flow: J): { l4: number; port: number } {
  const reply = flow.is_reply === true || (flow.is_reply === undefined && flow.reply === true);
  return l4AndServerPort(flow, reply);
}
