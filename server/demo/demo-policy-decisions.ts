/**
 * What the demo's policies decide for a connection, at the source's egress and the destination's
 * ingress. Only `shop` pods are selected by policies; everything else is not enforced (no
 * policy-verdict event at all, as with a real agent).
 *
 * For POLICY_DENIED (no rule allows it) Cilium 1.19 names the policy that selected the endpoint in
 * *_denied_by only sometimes; we vary it (empty vs. the selecting policy) so the UI has to cope
 * with both. POLICY_DENY (181) always names the explicit deny rule.
 */
import { DropReason } from "@/proto/gen/flow/flow_pb";
import type { DemoRandom } from "./demo-random";
import { POLICIES, policyRef, type PolicyDef, type PolicyInit, type PolicyKey, type PolicyState } from "./demo-policies";
import type { Peer } from "./demo-topology";

/** Cilium's policy match types (flow.policy_match_type). */
export const MatchType = { none: 0, l3Only: 1, l3l4: 2, l4Only: 3, all: 4 } as const;

export type Decision =
  | { kind: "allow"; policies: PolicyInit[]; matchType: number; redirect: boolean }
  | { kind: "deny"; reason: DropReason; policies: PolicyInit[] };

const SHOP = "shop";

function app(p: Peer): string | undefined {
  return p.endpoint.namespace === SHOP ? p.app : p.app && `${p.endpoint.namespace}/${p.app}`;
}

export class PolicyDecider {
  constructor(private readonly rand: DemoRandom) {}

  egress(src: Peer, dst: Peer, port: number, proto: "TCP" | "UDP", state: PolicyState): Decision | undefined {
    if (!src.managed || src.endpoint.namespace !== SHOP) return undefined;
    const ref = (k: PolicyKey) => this.ref(POLICIES[k], state);
    const has = (k: PolicyKey) => state.active.has(k);
    const dstApp = app(dst);
    if (dstApp === "kube-system/kube-dns" && port === 53 && has("allowDnsEgress")) {
      return { kind: "allow", policies: [ref("allowDnsEgress")], matchType: MatchType.l3l4, redirect: true };
    }
    if (dst.endpoint.namespace === SHOP && dst.managed && has("allowShopEgress")) {
      return { kind: "allow", policies: [ref("allowShopEgress")], matchType: MatchType.l3Only, redirect: false };
    }
    if (isWorld(dst)) {
      if (src.app === "frontend" && has("denyExternalEgress")) {
        return { kind: "deny", reason: DropReason.POLICY_DENY, policies: [ref("denyExternalEgress")] };
      }
      if (src.app === "backend" && dst.names?.includes("api.stripe.com") && port === 443 && proto === "TCP" && has("allowStripeEgress")) {
        return { kind: "allow", policies: [ref("allowStripeEgress")], matchType: MatchType.l3l4, redirect: false };
      }
    }
    return this.denied(state, src.app === "backend" ? ["defaultDeny", "allowStripeEgress"] : ["defaultDeny"]);
  }

  ingress(src: Peer, dst: Peer, port: number, state: PolicyState): Decision | undefined {
    if (!dst.managed || dst.endpoint.namespace !== SHOP) return undefined;
    // the local host (kubelet probes) is always allowed to reach its pods
    if (src.endpoint.identity === 1) return undefined;
    const ref = (k: PolicyKey) => this.ref(POLICIES[k], state);
    const has = (k: PolicyKey) => state.active.has(k);
    const srcApp = app(src);
    switch (`${dst.app}:${port}`) {
      case "frontend:8080":
        if (srcApp === "ingress-nginx/ingress-nginx" && has("frontendFromIngress")) {
          return { kind: "allow", policies: [ref("frontendFromIngress")], matchType: MatchType.l3l4, redirect: false };
        }
        return this.denied(state, ["frontendFromIngress", "defaultDeny"]);
      case "backend:8080":
        if (srcApp === "frontend" && has("frontendToBackend")) {
          return { kind: "allow", policies: [ref("frontendToBackend")], matchType: MatchType.l3l4, redirect: true };
        }
        return this.denied(state, ["frontendToBackend", "defaultDeny"]);
      case "backend:9090":
        if (srcApp === "monitoring/prometheus" && has("allowMetricsScrape")) {
          return { kind: "allow", policies: [ref("allowMetricsScrape")], matchType: MatchType.l3l4, redirect: false };
        }
        return this.denied(state, ["frontendToBackend", "defaultDeny"]);
      case "database:5432":
        if (srcApp === "backend" && has("backendToDb")) {
          return { kind: "allow", policies: [ref("backendToDb")], matchType: MatchType.l3l4, redirect: false };
        }
        return this.denied(state, ["backendToDb", "defaultDeny"]);
      default:
        return this.denied(state, ["defaultDeny"]);
    }
  }

  /** POLICY_DENIED: sometimes the selecting policy is named, sometimes nothing (pure default deny). */
  private denied(state: PolicyState, selecting: PolicyKey[]): Decision {
    const present = selecting.filter((k) => state.active.has(k));
    const named = present.length > 0 && this.rand.chance(0.6) ? [this.ref(POLICIES[this.rand.pick(present)], state)] : [];
    return { kind: "deny", reason: DropReason.POLICY_DENIED, policies: named };
  }

  private ref(p: PolicyDef, state: PolicyState): PolicyInit {
    return policyRef(p, state.revision);
  }
}

export function isWorld(p: Peer): boolean {
  return p.endpoint.labels?.includes("reserved:world") ?? false;
}
