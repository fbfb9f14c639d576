/**
 * "The rule that would allow it": the least-privilege policy that allows exactly one drop group's
 * connection — the dropping side's workload as subject, the other side as peer (labels +
 * namespace, DNS name, CIDR or entity), the port and protocol, and HTTP method + path when the
 * dropped flow was HTTP. Never widens a peer without a warning that says so.
 */
import { AUTH_REQUIRED, POLICY_DENY, POLICY_REASONS, dropReasonInfo } from "../shared/drop-reasons";
import { peerLabel, workloadName, type Peer } from "../shared/peer";
import { policyName, type DropGroup } from "../drops/drop-group";
import { groupDestinationLabel } from "../drops/drop-why";
import {
  policyNameFrom,
  selectorLabels,
  toCiliumNetworkPolicy,
  toNetworkPolicy,
  toYaml,
  type AllowRule,
  type PeerSelector,
  type PolicyPlan,
  type PortRule,
} from "./policy-rule";

export type PeerMapping = { ok: true; selector: PeerSelector; warnings: string[] } | { ok: false; reason: string };

const hostIps = (p: Peer) => (p.ip ? [p.ip] : []);
const single = (ip: string) => (ip.includes(":") ? `${ip}/128` : `${ip}/32`);

/**
 * How a policy names this peer, as narrowly as the observation allows. `ips`: every IP the peer
 * was seen at (a DNS name resolves to several; a NetworkPolicy needs all of them).
 */
export function peerSelector(p: Peer, direction: "ingress" | "egress", ips: readonly string[] = hostIps(p)): PeerMapping {
  switch (p.kind) {
    case "pod": {
      if (!p.namespace) return { ok: false, reason: "the peer pod has no namespace in the flow" };
      const labels = selectorLabels(p.labels);
      const warnings = Object.keys(labels).length
        ? []
        : [`${peerLabel(p)} has no identifying labels: the rule allows every pod of namespace ${p.namespace}.`];
      return { ok: true, selector: { kind: "endpoints", namespace: p.namespace, labels }, warnings };
    }
    case "world":
      if (direction === "egress" && p.names.length) {
        // toFQDNs is egress only; several names for one IP are all observed names of it
        return { ok: true, selector: { kind: "fqdn", name: p.names[0], ips: [...new Set(ips)].sort() }, warnings: [] };
      }
      if (p.ip) return { ok: true, selector: { kind: "cidr", cidr: single(p.ip) }, warnings: [] };
      return {
        ok: true,
        selector: { kind: "entity", entity: "world", ips: [] },
        warnings: ["No IP or DNS name was observed for this peer: the rule allows the WHOLE INTERNET (entity world). Narrow it before applying."],
      };
    case "cidr":
      return { ok: true, selector: { kind: "cidr", cidr: p.cidr! }, warnings: p.ip ? [`Allows the CIDR ${p.cidr} Cilium groups ${p.ip} into; use ${single(p.ip)} for this address only.`] : [] };
    case "host":
    case "remote-node":
    case "kube-apiserver":
    case "health":
    case "ingress":
      return { ok: true, selector: { kind: "entity", entity: p.kind, ips: hostIps(p) }, warnings: [] };
    default:
      if (p.ip) {
        return {
          ok: true,
          selector: { kind: "cidr", cidr: single(p.ip) },
          warnings: [`The peer has no usable identity (${p.kind}); allowed by its IP ${p.ip} only.`],
        };
      }
      return { ok: false, reason: `the peer (${p.kind}) has neither labels nor an IP a policy could name` };
  }
}

export function portRules(g: Pick<DropGroup, "protocol" | "port" | "icmp">): PortRule[] {
  if (g.protocol === "ICMPv4" || g.protocol === "ICMPv6") return [{ protocol: g.protocol, icmpType: g.icmp?.type ?? 0 }];
  if ((g.protocol === "TCP" || g.protocol === "UDP" || g.protocol === "SCTP") && g.port !== undefined) return [{ protocol: g.protocol, port: g.port }];
  return [];
}

export interface AllowSuggestion {
  plan: PolicyPlan;
  cilium: Record<string, unknown>;
  ciliumYaml: string;
  kubernetes: Record<string, unknown> | null;
  kubernetesYaml: string | null;
  /** what the plan cannot do or allows beyond the flow, in plain words */
  warnings: string[];
}

export type AllowResult = { ok: true; suggestion: AllowSuggestion } | { ok: false; reason: string };

/** The policy that would allow this group's connection, or why no allow rule can. */
export function allowRuleFor(g: DropGroup): AllowResult {
  if (!POLICY_REASONS.has(g.reason)) {
    return { ok: false, reason: `${dropReasonInfo(g.reason).name} is not a policy decision; no allow rule changes it. ${dropReasonInfo(g.reason).meaning}` };
  }
  const warnings: string[] = [];
  let direction: "ingress" | "egress";
  if (g.direction === "INGRESS") direction = "ingress";
  else if (g.direction === "EGRESS") direction = "egress";
  else {
    direction = g.dst.kind === "pod" ? "ingress" : "egress";
    warnings.push(`The flow has no traffic direction; assuming it was dropped at ${direction}.`);
  }
  const subject = direction === "ingress" ? g.dst : g.src;
  const other = direction === "ingress" ? g.src : g.dst;
  if (subject.kind !== "pod" || !subject.namespace) {
    return { ok: false, reason: `the endpoint that dropped it (${peerLabel(subject)}) is not a pod: that needs a host firewall policy (CiliumClusterwideNetworkPolicy with nodeSelector).` };
  }
  // the DNS name's every IP the group saw (a NetworkPolicy cannot name it)
  const peer = peerSelector(other, direction, direction === "egress" && g.dstIps?.length ? g.dstIps : other.ip ? [other.ip] : []);
  if (!peer.ok) return { ok: false, reason: peer.reason };
  warnings.push(...peer.warnings);
  const subjectLabels = selectorLabels(subject.labels);
  if (!Object.keys(subjectLabels).length) {
    warnings.push(`${peerLabel(subject)} has no identifying labels: the policy selects every pod of namespace ${subject.namespace}.`);
  }
  const ports = portRules(g);
  if (!ports.length) warnings.push("The dropped flow had no port: the rule allows every port to this peer.");
  if (g.reason === POLICY_DENY) {
    warnings.push(
      `This connection is explicitly denied (${g.deniedBy.map(policyName).join(", ") || "a deny rule"}); deny rules win over allow rules, so this allow rule has no effect until the deny rule is removed or narrowed.`,
    );
  }
  if (g.reason === AUTH_REQUIRED) {
    warnings.push("The drop was AUTH_REQUIRED: the connection is already allowed but needs mutual authentication to complete; an allow rule alone does not help.");
  }
  const rule: AllowRule = { direction, peer: peer.selector, ports };
  if (g.http.length && ports.length) rule.http = g.http;
  const rules: AllowRule[] = [rule];
  if (peer.selector.kind === "fqdn") {
    // toFQDNs only works when the DNS proxy sees the lookup: allow resolving exactly that name
    rules.push({
      direction: "egress",
      peer: { kind: "endpoints", namespace: "kube-system", labels: { "k8s-app": "kube-dns" } },
      ports: [{ protocol: "ANY", port: 53 }],
      dns: [{ matchName: peer.selector.name }],
    });
  }
  const portText = ports.length ? (ports[0].port !== undefined ? `${ports[0].protocol.toLowerCase()}${ports[0].port}` : ports[0].protocol.toLowerCase()) : "any";
  const otherName =
    peer.selector.kind === "endpoints" ? (workloadName(other) ?? "pods") : peer.selector.kind === "fqdn" ? peer.selector.name : peer.selector.kind === "cidr" ? peer.selector.cidr : peer.selector.entity;
  const name =
    direction === "ingress"
      ? policyNameFrom("allow", otherName, "to", workloadName(subject) ?? "pods", portText)
      : policyNameFrom("allow", workloadName(subject) ?? "pods", "to", otherName, portText);
  const plan: PolicyPlan = {
    name,
    namespace: subject.namespace,
    subject: subjectLabels,
    rules,
    warnings,
    description: `Allows ${peerLabel(g.src)} → ${groupDestinationLabel(g)} ${ports.length ? portText : ""} (${g.count} ${g.count === 1 ? "packet" : "packets"} denied as ${g.reasonName}).`.replace(/ +/g, " "),
  };
  const cilium = toCiliumNetworkPolicy(plan);
  const k8s = toNetworkPolicy(plan);
  return {
    ok: true,
    suggestion: {
      plan,
      cilium,
      ciliumYaml: toYaml(cilium),
      kubernetes: k8s.policy,
      kubernetesYaml: k8s.policy ? toYaml(k8s.policy) : null,
      warnings: [...warnings, ...k8s.notes.map((n) => n)],
    },
  };
}
