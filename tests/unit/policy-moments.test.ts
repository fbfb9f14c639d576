/**
 * Moments a policy changed, from the revisions nodes stamp on their flows (repeats after an agent
 * restart included) and from the agents' own policy events.
 */
import { describe, expect, it } from "vitest";
import { nodeSwitches, policyFromLabels, policyMoments, type RevisionSighting } from "@/server/domain/policies/policy-moments";

const MIN = 60_000_000_000n;
const T0 = 1_800_000_000_000_000_000n;
/** a node's flows at `revision` during minute m (seen from second 1 to 59 of it) naming `names` */
const seen = (node: string, revision: number, m: number, names: string[] = ["shop/default-deny"]): RevisionSighting => ({
  node,
  revision: BigInt(revision),
  firstNs: T0 + BigInt(m) * MIN + 1_000_000_000n,
  lastNs: T0 + BigInt(m) * MIN + 59_000_000_000n,
  names,
});

describe("policy moments", () => {
  it("finds every change again after an agent restart starts the revisions over", () => {
    const s: RevisionSighting[] = [];
    // revisions 12…15 every 3 minutes, then the agent restarts an hour later and counts 12…15 again
    for (const base of [0, 60]) for (let r = 12; r <= 15; r++) for (let m = 0; m < 3; m++) s.push(seen("kind-worker", r, base + (r - 12) * 3 + m));
    const moments = policyMoments(s);
    expect(moments.map((m) => `${m.previous}->${m.revision}${m.restart ? " restart" : ""}`)).toEqual(["12->13", "13->14", "14->15", "15->12 restart", "12->13", "13->14", "14->15"]);
    expect(BigInt(moments[4].atNs)).toBe(T0 + 63n * MIN + 1_000_000_000n);
  });

  it("ignores flows still in flight at the revision just left", () => {
    const s = [seen("n1", 13, 0), seen("n1", 14, 1), { ...seen("n1", 13, 1), firstNs: T0 + MIN + 20_000_000_000n, lastNs: T0 + MIN + 21_000_000_000n }, seen("n1", 14, 2)];
    expect(nodeSwitches(s).map((x) => `${x.previous}->${x.revision}`)).toEqual(["13->14"]);
  });

  it("merges the nodes that change together, each with its own revision numbers", () => {
    const s = [seen("a", 7, 0), seen("b", 40, 0), { ...seen("a", 8, 1), firstNs: T0 + MIN + 2_000_000_000n }, { ...seen("b", 41, 1), firstNs: T0 + MIN + 3_000_000_000n }, seen("a", 8, 2), seen("b", 41, 2)];
    const [m] = policyMoments(s);
    expect(m.nodes.map((n) => `${n.node} ${n.previous}->${n.revision}`)).toEqual(["a 7->8", "b 40->41"]);
    expect(BigInt(m.atNs)).toBe(T0 + MIN + 2_000_000_000n);
  });

  it("says which policies went and came, from the names around the moment", () => {
    const s = [seen("n", 12, 0, ["shop/default-deny", "shop/backend-to-db"]), seen("n", 13, 1, ["shop/default-deny"]), seen("n", 14, 2, ["shop/default-deny", "shop/allow-metrics-scrape"])];
    const [a, b] = policyMoments(s);
    expect(a).toMatchObject({ revision: "13", gone: ["shop/backend-to-db"], appeared: [], carried: ["shop/default-deny"], source: "flows" });
    expect(b).toMatchObject({ revision: "14", gone: [], appeared: ["shop/allow-metrics-scrape"] });
  });

  it("takes the agents' policy events where there are some: exact time, policy and action", () => {
    const s = [seen("n", 14, 0), seen("n", 15, 1), seen("n", 15, 2)];
    const at = T0 + MIN + 500_000_000n;
    const moments = policyMoments(s, [
      { node: "n", timeNs: at, kind: "policy-updated", revision: 15n, policy: "shop/allow-metrics-scrape" },
      // a change no flow shows (no traffic hit it yet) is still a moment
      { node: "n", timeNs: T0 + 10n * MIN, kind: "policy-deleted", revision: 16n, policy: "shop/allow-metrics-scrape" },
    ]);
    expect(moments).toHaveLength(2);
    expect(moments[0]).toMatchObject({ atNs: at.toString(), previous: "14", revision: "15", source: "flows+agent-events", changes: [{ policy: "shop/allow-metrics-scrape", action: "updated" }] });
    expect(moments[1]).toMatchObject({ revision: "16", source: "agent-events", changes: [{ policy: "shop/allow-metrics-scrape", action: "deleted" }] });
  });

  it("reads the policy name from Cilium's policy labels", () => {
    expect(policyFromLabels(["k8s:io.cilium.k8s.policy.derived-from=NetworkPolicy", "k8s:io.cilium.k8s.policy.name=backend-to-db", "k8s:io.cilium.k8s.policy.namespace=shop"])).toBe("shop/backend-to-db");
    expect(policyFromLabels(["k8s:io.cilium.k8s.policy.name=cluster-wide"])).toBe("cluster-wide");
    expect(policyFromLabels([])).toBeUndefined();
  });
});
