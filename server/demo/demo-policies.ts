/**
 * The network policies of the demo's `shop` namespace and how they change over time.
 *
 * Baseline (what the NetworkPolicy course builds): default-deny for ingress and egress, DNS egress
 * to kube-dns (a CiliumNetworkPolicy with a DNS rule, which is why DNS is visible through the
 * proxy), egress inside the namespace, ingress controller → frontend, frontend → backend:8080
 * (with HTTP rules, so L7 is visible), backend → database:5432, backend → api.stripe.com via
 * toFQDNs, and an explicit deny of world egress for the frontend.
 *
 * Every `periodMs` one change happens, cycling through: backend-to-db deleted (backend → database
 * starts being dropped), backend-to-db restored, allow-metrics-scrape added (Prometheus may scrape
 * backend:9090), allow-metrics-scrape deleted. Each change bumps the policy revision, as an
 * agent's policy repository does; flows carry the revision current at their time.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { PolicySchema } from "@/proto/gen/flow/flow_pb";

export type PolicyInit = MessageInitShape<typeof PolicySchema>;

export type PolicyKind = "NetworkPolicy" | "CiliumNetworkPolicy";

export interface PolicyDef {
  name: string;
  namespace: string;
  kind: PolicyKind;
  uid: string;
  /** rules in the policy (PolicyUpdateNotification.rule_count) */
  rules: number;
  /** app labels of the pods the policy selects (for endpoint-regeneration agent events) */
  selects: string[];
}

const def = (name: string, kind: PolicyKind, uid: string, selects: string[], rules = 1): PolicyDef => ({
  name,
  namespace: "shop",
  kind,
  uid,
  rules,
  selects,
});

const ALL_SHOP = ["frontend", "backend", "database"];

export const POLICIES = {
  defaultDeny: def("default-deny", "NetworkPolicy", "0c5a9c47-2f55-4c59-8d0e-5b7b1e0d6f11", ALL_SHOP, 2),
  allowDnsEgress: def("allow-dns-egress", "CiliumNetworkPolicy", "6b1f0a8e-93c2-4f0a-b2a5-1e9d7c4e2a30", ALL_SHOP),
  allowShopEgress: def("allow-shop-egress", "NetworkPolicy", "a4e7d2c1-5b8f-4e3a-9c6d-2f1b0a9e8d72", ALL_SHOP),
  frontendFromIngress: def("frontend-from-ingress", "NetworkPolicy", "f2d8c6b4-1a3e-4b5c-8d7f-6e9a0b1c2d43", ["frontend"]),
  frontendToBackend: def("frontend-to-backend", "CiliumNetworkPolicy", "3e9b7a5c-8d1f-4a2b-9e6c-0d4f2a8b6c15", ["backend"]),
  backendToDb: def("backend-to-db", "NetworkPolicy", "9d2c4e6a-7b1f-4c3d-a5e8-3f0b6d9c1a27", ["database"]),
  allowStripeEgress: def("allow-stripe-egress", "CiliumNetworkPolicy", "5a8e1c3f-2d7b-4e9a-b6c4-7f2e0d5a9b38", ["backend"], 2),
  denyExternalEgress: def("deny-external-egress", "CiliumNetworkPolicy", "b7c3e9a1-4f6d-4b2e-8a5c-9d1f3e7b0c64", ["frontend"]),
  allowMetricsScrape: def("allow-metrics-scrape", "NetworkPolicy", "e1f4a7c2-6b9d-4d3e-a8f5-2c7b1e4d9a56", ["backend"]),
} satisfies Record<string, PolicyDef>;

export type PolicyKey = keyof typeof POLICIES;

const BASELINE: PolicyKey[] = [
  "defaultDeny",
  "allowDnsEgress",
  "allowShopEgress",
  "frontendFromIngress",
  "frontendToBackend",
  "backendToDb",
  "allowStripeEgress",
  "denyExternalEgress",
];

/** The change cycle: what each step does to the active set. */
const CYCLE: { policy: PolicyKey; action: "deleted" | "added" }[] = [
  { policy: "backendToDb", action: "deleted" },
  { policy: "backendToDb", action: "added" },
  { policy: "allowMetricsScrape", action: "added" },
  { policy: "allowMetricsScrape", action: "deleted" },
];

export interface PolicyChange {
  atMs: number;
  policy: PolicyDef;
  action: "deleted" | "added";
  /** policy repository revision after the change */
  revision: bigint;
}

export interface PolicyState {
  active: ReadonlySet<PolicyKey>;
  revision: bigint;
}

export interface PolicyScheduleOptions {
  /** time of the first change */
  firstChangeMs: number;
  /** time between changes; 0 or Infinity = never change */
  periodMs: number;
  /** revision before the first change */
  baseRevision?: bigint;
}

export class PolicySchedule {
  private readonly base: bigint;

  constructor(private readonly opts: PolicyScheduleOptions) {
    this.base = opts.baseRevision ?? 12n;
  }

  private get changes(): boolean {
    return this.opts.periodMs > 0 && Number.isFinite(this.opts.periodMs);
  }

  /** How many changes have happened at `ms` (changes take effect at their instant). */
  private count(ms: number): number {
    if (!this.changes || ms < this.opts.firstChangeMs) return 0;
    return Math.floor((ms - this.opts.firstChangeMs) / this.opts.periodMs) + 1;
  }

  stateAt(ms: number): PolicyState {
    const n = this.count(ms);
    const active = new Set<PolicyKey>(BASELINE);
    // only the position in the cycle matters: each full cycle returns to the baseline
    for (let i = 0; i < n % CYCLE.length; i++) {
      const step = CYCLE[i];
      if (step.action === "added") active.add(step.policy);
      else active.delete(step.policy);
    }
    return { active, revision: this.base + BigInt(n) };
  }

  /** Changes with fromMs <= atMs < toMs. */
  changesBetween(fromMs: number, toMs: number): PolicyChange[] {
    const out: PolicyChange[] = [];
    if (!this.changes) return out;
    for (let n = Math.max(1, this.count(fromMs - 1) + 1); ; n++) {
      const atMs = this.opts.firstChangeMs + (n - 1) * this.opts.periodMs;
      if (atMs >= toMs) break;
      if (atMs < fromMs) continue;
      const step = CYCLE[(n - 1) % CYCLE.length];
      out.push({ atMs, policy: POLICIES[step.policy], action: step.action, revision: this.base + BigInt(n) });
    }
    return out;
  }
}

export function policyLabels(p: PolicyDef): string[] {
  return [
    `k8s:io.cilium.k8s.policy.derived-from=${p.kind}`,
    `k8s:io.cilium.k8s.policy.name=${p.name}`,
    `k8s:io.cilium.k8s.policy.namespace=${p.namespace}`,
    `k8s:io.cilium.k8s.policy.uid=${p.uid}`,
  ];
}

const refs = new Map<string, PolicyInit>();

/** The Policy message Hubble puts into *_allowed_by / *_denied_by (one object per policy revision). */
export function policyRef(p: PolicyDef, revision: bigint): PolicyInit {
  const key = `${p.namespace}/${p.name}@${revision}`;
  let ref = refs.get(key);
  if (!ref) refs.set(key, (ref = { name: p.name, namespace: p.namespace, labels: policyLabels(p), revision, kind: p.kind }));
  return ref;
}
