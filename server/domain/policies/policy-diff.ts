/**
 * Before/after a policy change: the same connections (source workload → destination, protocol,
 * port) counted in a window before and a window after a moment, classified as became dropped,
 * became allowed, appeared, disappeared or unchanged — the learner's "what did my policy do".
 */
import { peerKey, peerLabel, type Peer } from "../drop-peer";
import { policyName, type PolicyRef } from "../drop-group";
import { POLICY_REASONS, dropReasonName } from "../drop-reasons";

export interface EdgeObservation {
  src: Peer;
  dst: Peer;
  protocol: string;
  port?: number;
  verdict: string;
  /** drop reason name for drops */
  reason?: string;
  count: number;
  /** allowed_by for forwarded flows, denied_by for drops */
  policies: PolicyRef[];
}

export interface WindowState {
  forwarded: number;
  /** drops by a policy decision (POLICY_DENIED, POLICY_DENY, AUTH_REQUIRED) and AUDIT verdicts */
  dropped: number;
  /** drops for other reasons (conntrack, routing, unknown…): shown, but no policy change causes them */
  otherDrops: number;
  allowedBy: string[];
  deniedBy: string[];
  reasons: string[];
}

export type EdgeChange = "became-dropped" | "became-allowed" | "appeared" | "disappeared" | "unchanged";

export interface EdgeDiff {
  key: string;
  src: Peer;
  dst: Peer;
  srcLabel: string;
  dstLabel: string;
  service: string;
  protocol: string;
  port?: number;
  change: EdgeChange;
  before: WindowState;
  after: WindowState;
}

const empty = (): WindowState => ({ forwarded: 0, dropped: 0, otherDrops: 0, allowedBy: [], deniedBy: [], reasons: [] });
const add = (list: string[], v: string) => {
  if (v && !list.includes(v)) list.push(v);
};
const POLICY_REASON_NAMES = new Set([...POLICY_REASONS].map(dropReasonName));
const DROPS = new Set(["DROPPED", "AUDIT"]);
const PASSES = new Set(["FORWARDED", "REDIRECTED"]);

export function edgeKey(o: Pick<EdgeObservation, "src" | "dst" | "protocol" | "port">): string {
  return `${peerKey(o.src)}|${peerKey(o.dst)}|${o.protocol}|${o.port ?? ""}`;
}

function classify(b: WindowState, a: WindowState): EdgeChange {
  const seenB = b.forwarded + b.dropped + b.otherDrops > 0;
  const seenA = a.forwarded + a.dropped + a.otherDrops > 0;
  if (!seenB && seenA) return "appeared";
  if (seenB && !seenA) return "disappeared";
  if (b.dropped === 0 && b.forwarded > 0 && a.dropped > 0) return "became-dropped";
  if (b.dropped > 0 && b.forwarded === 0 && a.forwarded > 0) return "became-allowed";
  return "unchanged";
}

const ORDER: EdgeChange[] = ["became-dropped", "became-allowed", "appeared", "disappeared", "unchanged"];

/** An edge some policy decided (named allow/deny, or a policy drop) in either window. */
export function policyDecided(e: EdgeDiff): boolean {
  return [e.before, e.after].some((w) => w.allowedBy.length > 0 || w.deniedBy.length > 0 || w.dropped > 0);
}

/**
 * Edges of both windows, what changed first. With `policyOnly` (the default) edges no policy
 * decided in either window are left out: endpoints no policy selects cannot change by a policy
 * edit, and their traffic coming and going would bury the edges that did.
 */
export function diffEdges(before: EdgeObservation[], after: EdgeObservation[], policyOnly = true): EdgeDiff[] {
  const edges = new Map<string, EdgeDiff>();
  const feed = (list: EdgeObservation[], side: "before" | "after") => {
    for (const o of list) {
      if (!DROPS.has(o.verdict) && !PASSES.has(o.verdict)) continue;
      const key = edgeKey(o);
      let e = edges.get(key);
      if (!e) {
        e = {
          key,
          src: o.src,
          dst: o.dst,
          srcLabel: peerLabel(o.src),
          dstLabel: peerLabel(o.dst),
          service: o.port !== undefined ? `${o.protocol}/${o.port}` : o.protocol || "no L4",
          protocol: o.protocol,
          port: o.port,
          change: "unchanged",
          before: empty(),
          after: empty(),
        };
        edges.set(key, e);
      }
      const w = e[side];
      if (DROPS.has(o.verdict) && o.verdict !== "AUDIT" && o.reason !== undefined && !POLICY_REASON_NAMES.has(o.reason)) {
        w.otherDrops += o.count;
        add(w.reasons, o.reason);
      } else if (DROPS.has(o.verdict)) {
        w.dropped += o.count;
        for (const p of o.policies) add(w.deniedBy, policyName(p));
        add(w.reasons, o.reason ?? "");
      } else {
        w.forwarded += o.count;
        for (const p of o.policies) add(w.allowedBy, policyName(p));
      }
    }
  };
  feed(before, "before");
  feed(after, "after");
  const out = [...edges.values()].filter((e) => !policyOnly || policyDecided(e));
  for (const e of out) e.change = classify(e.before, e.after);
  return out.sort(
    (x, y) =>
      ORDER.indexOf(x.change) - ORDER.indexOf(y.change) ||
      y.after.dropped + y.after.forwarded - (x.after.dropped + x.after.forwarded) ||
      x.key.localeCompare(y.key),
  );
}

export function summarizeDiff(edges: EdgeDiff[]): Record<EdgeChange, number> {
  const out = Object.fromEntries(ORDER.map((c) => [c, 0])) as Record<EdgeChange, number>;
  for (const e of edges) out[e.change]++;
  return out;
}
