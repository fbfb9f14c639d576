/**
 * Evaluates PolicyPlans against observed connections, the way Cilium would decide them: a
 * connection leaving a selected pod needs an egress rule, one arriving at a selected pod an ingress
 * rule; pods no plan selects in a direction are not enforced there. Used for the suggestion's
 * preview ("which observed flows each rule covers and which would be dropped").
 */
import { cidrContains, parseCidr } from "../cidr";
import { escapeRegex } from "../label-selector";
import { compileLinearRegex } from "../linear-regex";
import type { Peer } from "../drop-peer";
import type { AllowRule, PeerSelector, PolicyPlan, PortRule } from "./policy-rule";

export interface Connection {
  src: Peer;
  dst: Peer;
  protocol: string;
  port?: number;
  icmpType?: number;
}

export interface SideDecision {
  direction: "ingress" | "egress";
  /** true = no plan selects the pod in this direction */
  unenforced: boolean;
  /** "policy-name#index" of the first rule that allows it */
  rule?: string;
  allowed: boolean;
}

function hasLabel(labels: readonly string[], key: string, value: string): boolean {
  return labels.some((l) => {
    const colon = l.indexOf(":");
    const body = colon >= 0 && l.indexOf("=") > colon ? l.slice(colon + 1) : l;
    return body === `${key}=${value}` || (value === "" && body === key);
  });
}

export function selectsPod(plan: Pick<PolicyPlan, "namespace" | "subject">, p: Peer): boolean {
  if (p.kind !== "pod" || p.namespace !== plan.namespace) return false;
  return Object.entries(plan.subject).every(([k, v]) => hasLabel(p.labels, k, v));
}

const ENTITY_KINDS: Record<string, string[]> = {
  world: ["world", "cidr"],
  host: ["host"],
  "remote-node": ["remote-node"],
  "kube-apiserver": ["kube-apiserver"],
  health: ["health"],
  ingress: ["ingress"],
};

/** A toFQDNs matchPattern comes from a policy someone wrote: matched in linear time (ADR 0007). */
function fqdnMatches(pattern: string, name: string): boolean {
  const body = pattern.split("*").map(escapeRegex).join("[-a-z0-9_.]*");
  return compileLinearRegex(`^${body}$`, { ignoreCase: true }).test(name);
}

export function peerMatches(sel: PeerSelector, p: Peer): boolean {
  switch (sel.kind) {
    case "endpoints":
      return p.kind === "pod" && p.namespace === sel.namespace && Object.entries(sel.labels).every(([k, v]) => hasLabel(p.labels, k, v));
    case "fqdn":
      return p.names.some((n) => fqdnMatches(sel.name, n));
    case "cidr": {
      const c = parseCidr(sel.cidr);
      if (!c.ok) return false;
      if (p.ip && cidrContains(c.value, p.ip)) return true;
      return p.cidr === sel.cidr;
    }
    case "entity":
      return (ENTITY_KINDS[sel.entity] ?? []).includes(p.kind);
  }
}

function portMatches(rules: PortRule[], c: Connection): boolean {
  if (!rules.length) return true;
  return rules.some((r) => {
    if (r.protocol === "ICMPv4" || r.protocol === "ICMPv6") return c.protocol === r.protocol && (r.icmpType ?? 0) === (c.icmpType ?? 0);
    if (r.protocol !== "ANY" && r.protocol !== c.protocol) return false;
    if (r.protocol === "ANY" && !["TCP", "UDP", "SCTP"].includes(c.protocol)) return false;
    return r.port === undefined || r.port === 0 || r.port === c.port;
  });
}

function ruleAllows(rule: AllowRule, c: Connection): boolean {
  if (!rule.peer) return false;
  const other = rule.direction === "ingress" ? c.src : c.dst;
  return peerMatches(rule.peer, other) && portMatches(rule.ports, c);
}

/** Cilium always lets the local node reach its pods (kubelet probes): no rule needed for that. */
const HOST_ALWAYS_ALLOWED = new Set(["host"]);

/** The decision on one side (egress of src / ingress of dst) of a connection. */
export function decideSide(plans: PolicyPlan[], c: Connection, direction: "ingress" | "egress"): SideDecision {
  const pod = direction === "ingress" ? c.dst : c.src;
  const selecting = plans.filter((p) => selectsPod(p, pod) && p.rules.some((r) => r.direction === direction));
  if (!selecting.length) return { direction, unenforced: true, allowed: true };
  if (direction === "ingress" && HOST_ALWAYS_ALLOWED.has(c.src.kind)) {
    return { direction, unenforced: false, allowed: true, rule: "host (always allowed by Cilium)" };
  }
  for (const plan of selecting) {
    const i = plan.rules.findIndex((r) => r.direction === direction && ruleAllows(r, c));
    if (i >= 0) return { direction, unenforced: false, allowed: true, rule: `${plan.name}#${direction}[${plan.rules.filter((r) => r.direction === direction).indexOf(plan.rules[i])}]` };
  }
  return { direction, unenforced: false, allowed: false };
}
