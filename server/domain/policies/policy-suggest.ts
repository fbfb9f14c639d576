/**
 * A complete least-privilege policy set for one namespace from the traffic that was delivered:
 * namespace-wide default deny, DNS egress to kube-dns, then one policy per workload with exactly
 * the peers and ports its delivered connections used. A connection a policy denied (even one
 * whose packets left the client's egress as FORWARDED) gets no rule. Every observed connection is
 * then run through the result, so the preview says which rule covers it or that it stays dropped.
 */
import { serverLabel, type ConnectionOutcome, type ConnectionState } from "../connections/outcome";
import { peerKey, peerLabel, workloadName, type Peer } from "../shared/peer";
import { peerSelector, portRules } from "./policy-allow";
import { decideSide, type Connection, type SideDecision } from "./policy-coverage";
import {
  policyNameFrom,
  selectorLabels,
  toCiliumNetworkPolicy,
  toNetworkPolicy,
  toYaml,
  type AllowRule,
  type PolicyPlan,
} from "./policy-rule";

export interface CoverageRow {
  src: string;
  dst: string;
  service: string;
  /** what was observed: delivered, denied, both (mixed), or neither confirmed */
  observed: ConnectionState;
  /** flows of the connection */
  count: number;
  /** flows showing it arrived / packets a policy denied */
  delivered: number;
  denied: number;
  /** with the suggested policies */
  outcome: "allowed" | "dropped" | "not-in-namespace";
  sides: SideDecision[];
}

export interface Suggestion {
  namespace: string;
  plans: PolicyPlan[];
  policies: { name: string; description: string; warnings: string[]; ciliumYaml: string; kubernetesYaml: string | null; kubernetesNotes: string[] }[];
  coverage: CoverageRow[];
  /** all policies as one YAML stream each, for `kubectl apply -f -` */
  ciliumYaml: string;
  kubernetesYaml: string;
  /** set instead of policies when the namespace had no traffic in the range: why nothing is suggested */
  message?: string;
  /** about the suggestion as a whole (e.g. traffic seen but none delivered) */
  warnings: string[];
}

const isKubeDns = (p: Peer) =>
  p.kind === "pod" && p.namespace === "kube-system" && p.labels.some((l) => /(^|:)k8s-app=kube-dns$/.test(l));

const isDnsPort = (c: Pick<Connection, "port" | "protocol">) => c.port === 53 && (c.protocol === "UDP" || c.protocol === "TCP");

/** What delivered traffic needs: it arrived (a reply, or the server's end let it in). */
export const delivered = (c: ConnectionOutcome) => c.arrived > 0;

export function suggestForNamespace(namespace: string, outcomes: ConnectionOutcome[]): Suggestion {
  const inNs = (p: Peer) => p.kind === "pod" && p.namespace === namespace;
  const touching = outcomes.filter((c) => inNs(c.client) || inNs(c.server));
  if (!touching.length) {
    return {
      namespace,
      plans: [],
      policies: [],
      coverage: [],
      ciliumYaml: "",
      kubernetesYaml: "",
      message: `No traffic to or from a pod of namespace "${namespace}" was seen in this range, so there is nothing to base a policy on. Check the namespace's name, or widen the range.`,
      warnings: [],
    };
  }
  const warnings: string[] = [];
  if (!touching.some(delivered)) {
    warnings.push(`Nothing to or from ${namespace} was delivered in this range (all of it was denied or its arrival was not seen): the set below allows only DNS.`);
  }
  const plans: PolicyPlan[] = [
    {
      name: "default-deny",
      namespace,
      subject: {},
      // `{}` rules select nothing: every pod becomes enforced in both directions
      rules: [
        { direction: "ingress", ports: [] },
        { direction: "egress", ports: [] },
      ],
      warnings: [],
      description: `Default deny for every pod of ${namespace}: only the policies below allow traffic.`,
    },
    {
      name: "allow-dns-egress",
      namespace,
      subject: {},
      rules: [
        {
          direction: "egress",
          peer: { kind: "endpoints", namespace: "kube-system", labels: { "k8s-app": "kube-dns" } },
          ports: [{ protocol: "ANY", port: 53 }],
          // every name may be resolved; what pods may connect to is restricted by toFQDNs elsewhere
          dns: [{ matchPattern: "*" }],
        },
      ],
      warnings: [],
      description: `Every pod of ${namespace} may resolve names through kube-dns (and the DNS proxy sees the lookups toFQDNs needs).`,
    },
  ];

  // one plan per workload; rules merged per peer so ports of one peer share one rule
  const byWorkload = new Map<string, PolicyPlan>();
  const ruleKeys = new Map<string, AllowRule>();
  const addRule = (subject: Peer, direction: "ingress" | "egress", other: Peer, c: ConnectionOutcome) => {
    const sel = peerSelector(other, direction, direction === "egress" ? c.serverIps : other.ip ? [other.ip] : []);
    if (!sel.ok) return;
    const wkey = peerKey(subject);
    let plan = byWorkload.get(wkey);
    if (!plan) {
      const name = policyNameFrom(workloadName(subject) ?? "pods", "allow");
      plan = { name, namespace, subject: selectorLabels(subject.labels), rules: [], warnings: [], description: `What ${peerLabel(subject)} was observed to need.` };
      if (!Object.keys(plan.subject).length) plan.warnings.push(`${peerLabel(subject)} has no identifying labels: this policy selects every pod of ${namespace}.`);
      byWorkload.set(wkey, plan);
    }
    for (const w of sel.warnings) if (!plan.warnings.includes(w)) plan.warnings.push(w);
    const ports = portRules({ protocol: c.protocol as never, port: c.port, icmp: c.icmpType !== undefined ? { type: c.icmpType, code: 0 } : undefined });
    // a DNS name is one peer whatever IPs it resolved to: its rule collects them all
    const selKey = sel.selector.kind === "fqdn" ? `fqdn:${sel.selector.name}` : JSON.stringify(sel.selector);
    const rkey = `${wkey}|${direction}|${selKey}`;
    const existing = ruleKeys.get(rkey);
    if (existing) {
      for (const p of ports) if (!existing.ports.some((x) => x.protocol === p.protocol && x.port === p.port && x.icmpType === p.icmpType)) existing.ports.push(p);
      if (existing.peer?.kind === "fqdn" && sel.selector.kind === "fqdn") existing.peer.ips = [...new Set([...existing.peer.ips, ...sel.selector.ips])].sort();
      return;
    }
    if (!ports.length) plan.warnings.push(`${peerLabel(other)}: traffic without a port was observed; the rule allows every port to that peer.`);
    const rule: AllowRule = { direction, peer: sel.selector, ports };
    ruleKeys.set(rkey, rule);
    // toFQDNs needs the lookup to pass the DNS proxy: allow-dns-egress (matchPattern "*") does that
    plan.rules.push(rule);
  };

  for (const c of touching) {
    if (!delivered(c)) continue;
    if (inNs(c.client) && !(isKubeDns(c.server) && isDnsPort(c))) addRule(c.client, "egress", c.server, c);
    if (inNs(c.server) && c.client.kind !== "host") addRule(c.server, "ingress", c.client, c);
  }
  for (const plan of [...byWorkload.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    for (const r of plan.rules) r.ports.sort((a, b) => (a.port ?? 0) - (b.port ?? 0));
    plans.push(plan);
  }

  const coverage: CoverageRow[] = touching.map((c) => {
    const conn: Connection = { src: c.client, dst: c.server, protocol: c.protocol, port: c.port, icmpType: c.icmpType };
    const sides: SideDecision[] = [];
    if (inNs(c.client)) sides.push(decideSide(plans, conn, "egress"));
    if (inNs(c.server)) sides.push(decideSide(plans, conn, "ingress"));
    return {
      src: peerLabel(c.client),
      dst: serverLabel(c),
      service: c.service,
      observed: c.state,
      count: c.flows,
      delivered: c.arrived,
      denied: c.denied,
      outcome: !sides.length ? "not-in-namespace" : sides.every((s) => s.allowed) ? "allowed" : "dropped",
      sides,
    };
  });

  const policies = plans.map((plan) => {
    const k8s = toNetworkPolicy(plan);
    return {
      name: plan.name,
      description: plan.description,
      warnings: plan.warnings,
      ciliumYaml: toYaml(toCiliumNetworkPolicy(plan)),
      kubernetesYaml: k8s.policy ? toYaml(k8s.policy) : null,
      kubernetesNotes: k8s.notes,
    };
  });
  return {
    namespace,
    plans,
    policies,
    coverage,
    ciliumYaml: policies.map((p) => p.ciliumYaml).join("---\n"),
    kubernetesYaml: policies.flatMap((p) => (p.kubernetesYaml ? [p.kubernetesYaml] : [])).join("---\n"),
    warnings,
  };
}
