/**
 * A complete least-privilege policy set for one namespace from the traffic it was observed to
 * forward: namespace-wide default deny, DNS egress to kube-dns, then one policy per workload with
 * exactly the peers and ports it used. Every observed connection (forwarded or not) is then run
 * through the result, so the preview says which rule covers it or that it would be dropped.
 */
import { peerKey, peerLabel, workloadName, type Peer } from "../drop-peer";
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

export interface ObservedConnection extends Connection {
  /** FORWARDED, DROPPED, AUDIT… (the flows' verdict) */
  verdict: string;
  count: number;
}

export interface CoverageRow {
  src: string;
  dst: string;
  service: string;
  observed: string;
  count: number;
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
}

const isKubeDns = (p: Peer) =>
  p.kind === "pod" && p.namespace === "kube-system" && p.labels.some((l) => /(^|:)k8s-app=kube-dns$/.test(l));

const isDnsPort = (c: Connection) => c.port === 53 && (c.protocol === "UDP" || c.protocol === "TCP");

function service(c: Connection): string {
  if (c.protocol === "ICMPv4" || c.protocol === "ICMPv6") return `${c.protocol} type ${c.icmpType ?? 0}`;
  return c.port !== undefined ? `${c.protocol}/${c.port}` : c.protocol || "no L4";
}

/** One row per connection and verdict: contexts differ by pod and node, the preview should not. */
function mergeObserved(list: ObservedConnection[]): ObservedConnection[] {
  const out = new Map<string, ObservedConnection>();
  for (const c of list) {
    const key = `${peerKey(c.src)}|${peerKey(c.dst)}|${c.protocol}|${c.port ?? ""}|${c.icmpType ?? ""}|${c.verdict}`;
    const hit = out.get(key);
    if (hit) hit.count += c.count;
    else out.set(key, { ...c });
  }
  return [...out.values()].sort((a, b) => b.count - a.count);
}

export function suggestForNamespace(namespace: string, observedAll: ObservedConnection[]): Suggestion {
  const observed = mergeObserved(observedAll);
  const inNs = (p: Peer) => p.kind === "pod" && p.namespace === namespace;
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
  const addRule = (subject: Peer, direction: "ingress" | "egress", other: Peer, c: Connection) => {
    const sel = peerSelector(other, direction);
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
    const rkey = `${wkey}|${direction}|${JSON.stringify(sel.selector)}`;
    const existing = ruleKeys.get(rkey);
    if (existing) {
      for (const p of ports) if (!existing.ports.some((x) => x.protocol === p.protocol && x.port === p.port && x.icmpType === p.icmpType)) existing.ports.push(p);
      return;
    }
    if (!ports.length) plan.warnings.push(`${peerLabel(other)}: traffic without a port was observed; the rule allows every port to that peer.`);
    const rule: AllowRule = { direction, peer: sel.selector, ports };
    ruleKeys.set(rkey, rule);
    // toFQDNs needs the lookup to pass the DNS proxy: allow-dns-egress (matchPattern "*") does that
    plan.rules.push(rule);
  };

  for (const c of observed) {
    if (c.verdict !== "FORWARDED" && c.verdict !== "REDIRECTED") continue;
    if (inNs(c.src) && !(isKubeDns(c.dst) && isDnsPort(c))) addRule(c.src, "egress", c.dst, c);
    if (inNs(c.dst) && c.src.kind !== "host") addRule(c.dst, "ingress", c.src, c);
  }
  for (const plan of [...byWorkload.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    for (const r of plan.rules) r.ports.sort((a, b) => (a.port ?? 0) - (b.port ?? 0));
    plans.push(plan);
  }

  const coverage: CoverageRow[] = observed.map((c) => {
    const sides: SideDecision[] = [];
    if (inNs(c.src)) sides.push(decideSide(plans, c, "egress"));
    if (inNs(c.dst)) sides.push(decideSide(plans, c, "ingress"));
    return {
      src: peerLabel(c.src),
      dst: peerLabel(c.dst),
      service: service(c),
      observed: c.verdict,
      count: c.count,
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
  };
}
