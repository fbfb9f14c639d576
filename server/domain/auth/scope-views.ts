/**
 * What a namespace-scoped caller sees of answers that are not lists of flows: /api/policies keeps
 * the policies of allowed namespaces only (cluster-wide policies belong to none) and no node
 * names; /api/status and /api/status/events name no node. Flows themselves are scoped by the
 * matcher (FlowFilterSpec.scope), not here.
 */
import { compileNamespaceScope } from "./namespace-scope";

interface PolicyLike {
  namespace?: string;
}
interface MomentLike {
  nodes: { node: string }[];
  gone: string[];
  appeared: string[];
  carried: string[];
  changes: { policy: string }[];
}

/** `ns/name` → ns; a bare name (cluster-wide) → undefined */
const namespaceOf = (policy: string): string | undefined => {
  const slash = policy.indexOf("/");
  return slash > 0 ? policy.slice(0, slash) : undefined;
};

export const HIDDEN_NODE = "(node outside your scope)";

export function policyInScope<T extends { policies: PolicyLike[]; moments: MomentLike[] }>(r: T, scope: readonly string[]): T {
  const allowed = compileNamespaceScope(scope);
  const named = (p: string) => allowed(namespaceOf(p));
  return {
    ...r,
    policies: r.policies.filter((p) => allowed(p.namespace)),
    moments: r.moments.map((m) => ({
      ...m,
      nodes: m.nodes.map((n) => ({ ...n, node: HIDDEN_NODE })),
      gone: m.gone.filter(named),
      appeared: m.appeared.filter(named),
      carried: m.carried.filter(named),
      changes: m.changes.filter((c) => named(c.policy)),
    })),
  };
}

/** Node states without their names (how many are connected still shows). */
export function nodesInScope<N extends { name: string }>(nodes: N[]): N[] {
  return nodes.map((n, i) => ({ ...n, name: `node ${i + 1}` }));
}
