/**
 * Before/after a policy change: each connection's outcome (server/domain/connections/outcome.ts)
 * in a window before and a window after a moment, compared — the learner's "what did my policy
 * do". Outcomes, not verdict counts: a denied connection still has FORWARDED flows at the client's
 * egress, so comparing raw counts hid every policy that let a connection through.
 */
import { serverLabel, type ConnectionOutcome, type ConnectionState, type EndTally } from "../connections/outcome";
import { peerLabel, type Peer } from "../shared/peer";

export type EdgeChange = "became-dropped" | "became-allowed" | "appeared" | "disappeared" | "unchanged";

export interface WindowState {
  /** the connection's outcome in this window; absent = not seen */
  state: ConnectionState | "absent";
  /** flows showing it arrived (replies, the server's end letting it in, …) */
  delivered: number;
  /** packets a policy denied (each counted once) */
  denied: number;
  replies: number;
  audit: number;
  /** drops no policy causes (conntrack, routing, unknown…): shown, but no policy change causes them */
  otherDrops: number;
  /** what each end decided, with the policies that decided it */
  egress: EndTally;
  ingress: EndTally;
  /** every policy named as allowing / denying, either end */
  allowedBy: string[];
  deniedBy: string[];
  reasons: string[];
  /** /api/flows (and /flows) query listing this connection's flows in this window */
  flows: string;
}

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

const emptyTally = (): EndTally => ({ allowed: 0, denied: 0, audit: 0, dropped: 0, allowedBy: [], deniedBy: [], reasons: [] });
const uniq = (xs: string[]) => [...new Set(xs)];

function windowState(c: ConnectionOutcome | undefined, flows: string): WindowState {
  if (!c) {
    return { state: "absent", delivered: 0, denied: 0, replies: 0, audit: 0, otherDrops: 0, egress: emptyTally(), ingress: emptyTally(), allowedBy: [], deniedBy: [], reasons: [], flows };
  }
  const ends = [c.egress, c.ingress, c.unknown];
  return {
    state: c.state,
    delivered: c.arrived,
    denied: c.denied,
    replies: c.replies,
    audit: ends.reduce((s, t) => s + t.audit, 0),
    otherDrops: ends.reduce((s, t) => s + t.dropped, 0),
    egress: c.egress,
    ingress: c.ingress,
    allowedBy: uniq(ends.flatMap((t) => t.allowedBy)),
    deniedBy: uniq(ends.flatMap((t) => t.deniedBy)),
    reasons: uniq(ends.flatMap((t) => t.reasons)),
    flows,
  };
}

/** Did anything get through / was anything denied: the two facts a policy change can flip. */
export function classify(b: WindowState, a: WindowState): EdgeChange {
  if (b.state === "absent" && a.state !== "absent") return "appeared";
  if (b.state !== "absent" && a.state === "absent") return "disappeared";
  const passedB = b.delivered > 0;
  const passedA = a.delivered > 0;
  const deniedB = b.denied > 0;
  const deniedA = a.denied > 0;
  // denied (or partly) before, delivered after with fewer denials: a policy now lets it through
  if (deniedB && passedA && (!passedB || !deniedA)) return "became-allowed";
  // delivered before, denied after (established connections may still get through a while)
  if (passedB && deniedA && (!deniedB || !passedA)) return "became-dropped";
  return "unchanged";
}

const ORDER: EdgeChange[] = ["became-dropped", "became-allowed", "appeared", "disappeared", "unchanged"];

/** A connection some policy decided (named allow/deny, a policy denial, audit) in either window. */
export function policyDecided(e: EdgeDiff): boolean {
  return [e.before, e.after].some((w) => w.allowedBy.length > 0 || w.deniedBy.length > 0 || w.denied > 0 || w.audit > 0);
}

/**
 * Connections of both windows, what changed first. With `policyOnly` (the default) connections no
 * policy decided in either window are left out: endpoints no policy selects cannot change by a
 * policy edit, and their traffic coming and going would bury the connections that did.
 * `flowsQuery(c, window)` gives the evidence link of a connection in a window.
 */
export function diffOutcomes(
  before: ConnectionOutcome[],
  after: ConnectionOutcome[],
  flowsQuery: (c: ConnectionOutcome, window: "before" | "after") => string,
  policyOnly = true,
): EdgeDiff[] {
  const b = new Map(before.map((c) => [c.key, c]));
  const a = new Map(after.map((c) => [c.key, c]));
  const out: EdgeDiff[] = [];
  for (const key of new Set([...b.keys(), ...a.keys()])) {
    const cb = b.get(key);
    const ca = a.get(key);
    const c = (ca ?? cb)!;
    const e: EdgeDiff = {
      key,
      src: c.client,
      dst: c.server,
      srcLabel: peerLabel(c.client),
      dstLabel: serverLabel(c),
      service: c.service,
      protocol: c.protocol,
      port: c.port,
      change: "unchanged",
      before: windowState(cb, flowsQuery(c, "before")),
      after: windowState(ca, flowsQuery(c, "after")),
    };
    e.change = classify(e.before, e.after);
    if (!policyOnly || policyDecided(e)) out.push(e);
  }
  return out.sort(
    (x, y) =>
      ORDER.indexOf(x.change) - ORDER.indexOf(y.change) ||
      y.after.denied + y.after.delivered - (x.after.denied + x.after.delivered) ||
      x.key.localeCompare(y.key),
  );
}

export function summarizeDiff(edges: EdgeDiff[]): Record<EdgeChange, number> {
  const out = Object.fromEntries(ORDER.map((c) => [c, 0])) as Record<EdgeChange, number>;
  for (const e of edges) out[e.change]++;
  return out;
}
