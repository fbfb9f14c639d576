/**
 * A connection's outcome — the one definition /policies (before/after, suggestion), /drops and
 * the map use. Per (client, server, protocol, server port): what the client's egress decided, what
 * the server's ingress decided, and whether anything shows it arrived. "Delivered" means allowed
 * at both ends that enforce: a reply, or the server's ingress letting it in (for a server without
 * an ingress point — the world, a node — the client's egress letting it out). FORWARDED flows at
 * the client's egress alone never make a denied connection look delivered.
 */
import type { FlowJson } from "../flows/flow-item";
import { dropReasonName } from "../shared/drop-reasons";
import { policyName } from "../drops/drop-group";
import { peerKey, peerLabel, type Peer } from "../shared/peer";
import { observationOf, showsArrival, type End, type Observation } from "./observation";

/** One count of flows of a context with the same L4 kind and server port (denied packets counted once). */
export interface ObservedRow {
  flow: FlowJson;
  /** 0 none, 1 TCP, 2 UDP, 3 ICMPv4, 4 ICMPv6, 5 SCTP */
  l4: number;
  /** the server's port (destination port, or the source port of a reply); ICMP: unused */
  port: number | null;
  icmpType?: number | null;
  count: number;
  firstNs?: bigint;
  lastNs?: bigint;
}

export interface EndTally {
  /** flows letting it on at this end (requests only; replies are counted apart) */
  allowed: number;
  /** packets a policy denied here */
  denied: number;
  /** would have been denied (audit mode lets it through) */
  audit: number;
  /** dropped here for a reason no policy controls (conntrack, routing…) */
  dropped: number;
  /** `ns/name` of the policies that allowed / denied (or audited) at this end */
  allowedBy: string[];
  deniedBy: string[];
  reasons: string[];
}

export type ConnectionState = "delivered" | "denied" | "mixed" | "unconfirmed";

export interface ConnectionOutcome {
  key: string;
  client: Peer;
  server: Peer;
  protocol: string;
  port?: number;
  icmpType?: number;
  /** `TCP/5432`, `ICMPv4 type 8`, … */
  service: string;
  egress: EndTally;
  ingress: EndTally;
  /** events whose end is not known (no traffic direction, no observation point) */
  unknown: EndTally;
  replies: number;
  /** flows showing the connection arrived (replies, the server's end letting it in, …) */
  arrived: number;
  /** packets a policy denied, at either end */
  denied: number;
  /**
   * delivered: arrived, nothing denied · denied: denied, nothing arrived · mixed: both (a change
   * in the window, or established connections outliving a removed policy) · unconfirmed: left
   * the client but neither arrival nor a denial was seen (datapath drops, an unobserved node)
   */
  state: ConnectionState;
  /** every IP the server was seen at (a DNS name resolves to several) */
  serverIps: string[];
  flows: number;
  firstNs?: string;
  lastNs?: string;
}

export const L4_NAMES = ["", "TCP", "UDP", "ICMPv4", "ICMPv6", "SCTP"];

const emptyTally = (): EndTally => ({ allowed: 0, denied: 0, audit: 0, dropped: 0, allowedBy: [], deniedBy: [], reasons: [] });
const add = (list: string[], v: string) => {
  if (v && !list.includes(v)) list.push(v);
};

export function serviceText(protocol: string, port?: number, icmpType?: number): string {
  if (protocol === "ICMPv4" || protocol === "ICMPv6") return `${protocol} type ${icmpType ?? 0}`;
  return port !== undefined ? `${protocol}/${port}` : protocol || "no L4";
}

/** The server as a label: a DNS name reached at several IPs is not pinned to the first one. */
export function serverLabel(c: Pick<ConnectionOutcome, "server" | "serverIps">): string {
  if (c.server.kind === "world" && c.server.names.length && c.serverIps.length > 1) return `${c.server.names.join(", ")} (${c.serverIps.length} IPs)`;
  return peerLabel(c.server);
}

export function connectionKey(client: Peer, server: Peer, protocol: string, port?: number, icmpType?: number): string {
  return `${peerKey(client)}|${peerKey(server)}|${protocol}|${port ?? ""}|${icmpType ?? ""}`;
}

const observations = new WeakMap<object, Observation>();
/** observationOf, once per context object (contexts are decoded once and shared) */
export function observe(flow: FlowJson): Observation {
  let o = observations.get(flow);
  if (!o) observations.set(flow, (o = observationOf(flow)));
  return o;
}

function tallyOf(c: ConnectionOutcome, end: End): EndTally {
  return end === "egress" ? c.egress : end === "ingress" ? c.ingress : c.unknown;
}

export function stateOf(arrived: number, denied: number): ConnectionState {
  if (arrived > 0) return denied > 0 ? "mixed" : "delivered";
  return denied > 0 ? "denied" : "unconfirmed";
}

/** Folds observed rows into one outcome per connection, largest first. */
export function connectionOutcomes(rows: Iterable<ObservedRow>): ConnectionOutcome[] {
  const out = new Map<string, ConnectionOutcome>();
  for (const r of rows) {
    if (r.count <= 0) continue;
    const o = observe(r.flow);
    const protocol = L4_NAMES[r.l4] ?? String(r.l4);
    const ported = r.l4 === 1 || r.l4 === 2 || r.l4 === 5;
    const port = ported && r.port !== null ? r.port : undefined;
    const icmpType = r.l4 === 3 || r.l4 === 4 ? (r.icmpType ?? 0) : undefined;
    const key = connectionKey(o.client, o.server, protocol, port, icmpType);
    let c = out.get(key);
    if (!c) {
      c = {
        key,
        client: o.client,
        server: o.server,
        protocol,
        service: serviceText(protocol, port, icmpType),
        egress: emptyTally(),
        ingress: emptyTally(),
        unknown: emptyTally(),
        replies: 0,
        arrived: 0,
        denied: 0,
        state: "unconfirmed",
        serverIps: [],
        flows: 0,
      };
      if (port !== undefined) c.port = port;
      if (icmpType !== undefined) c.icmpType = icmpType;
      out.set(key, c);
    }
    c.flows += r.count;
    if (o.server.ip) add(c.serverIps, o.server.ip);
    if (r.firstNs !== undefined && (c.firstNs === undefined || r.firstNs < BigInt(c.firstNs))) c.firstNs = r.firstNs.toString();
    if (r.lastNs !== undefined && (c.lastNs === undefined || r.lastNs > BigInt(c.lastNs))) c.lastNs = r.lastNs.toString();
    const t = tallyOf(c, o.end);
    switch (o.decision) {
      case "allowed":
        if (o.reply) c.replies += r.count;
        else t.allowed += r.count;
        for (const p of o.allowedBy) add(t.allowedBy, policyName(p));
        break;
      case "denied":
        t.denied += r.count;
        c.denied += r.count;
        for (const p of o.deniedBy) add(t.deniedBy, policyName(p));
        add(t.reasons, dropReasonName(o.reason));
        break;
      case "audit":
        t.audit += r.count;
        for (const p of o.deniedBy) add(t.deniedBy, policyName(p));
        break;
      case "dropped":
        t.dropped += r.count;
        add(t.reasons, dropReasonName(o.reason));
        break;
      case "none":
        break;
    }
    if (showsArrival(o)) c.arrived += r.count;
  }
  const list = [...out.values()];
  for (const c of list) {
    c.state = stateOf(c.arrived, c.denied);
    c.serverIps.sort();
  }
  return list.sort((a, b) => b.flows - a.flows || a.key.localeCompare(b.key));
}
