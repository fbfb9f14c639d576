/**
 * /drops and the policy views (peerOf) and /map (nodeOf) must put any endpoint in the same Cilium
 * entity. They once had their own reserved-label tables in different orders (host before
 * remote-node in one, after in the other), so one peer was "host" on /drops and "remote-node" on
 * the map; this compares both over arbitrary label sets, identities and namespaces.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { peerOf } from "@/server/domain/shared/peer";
import { nodeOf } from "@/server/domain/graph/graph-node";
import { RESERVED_IDENTITIES, reservedKindOf } from "@/server/domain/shared/reserved-identities";

const RESERVED_LABELS = Object.values(RESERVED_IDENTITIES).map((n) => `reserved:${n}`);
const OTHER_LABELS = ["k8s:app=web", "cidr:10.0.0.0/8", "cidr:2001-db8--/32", "fqdn:api.example.com", "reserved:unknown-future"];

const endpointArb = fc.record({
  labels: fc.subarray([...RESERVED_LABELS, ...OTHER_LABELS]).chain((ls) => fc.shuffledSubarray(ls, { minLength: ls.length })),
  identity: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constantFrom(256, 16777217)),
  namespace: fc.option(fc.constantFrom("shop", "kube-system"), { nil: undefined }),
  pod_name: fc.option(fc.constant("web-7d9f8b6c5d-x2x9k"), { nil: undefined }),
});

describe("one reserved-identity classifier", () => {
  it("gives /drops, the policy views and /map the same entity for any endpoint", () => {
    fc.assert(
      fc.property(endpointArb, fc.option(fc.constant("10.0.0.9"), { nil: undefined }), fc.subarray(["api.example.com."]), (ep, ip, names) => {
        const rule = reservedKindOf(ep.labels, ep.identity, ep.namespace);
        const peer = peerOf(ep, ip, names).kind;
        const node = nodeOf(ep, ip, names).kind;
        if (rule === "world") {
          expect(["world", "cidr"]).toContain(peer);
          expect(["world", "fqdn", "cidr"]).toContain(node);
        } else if (rule) {
          expect(peer).toBe(rule);
          expect(node).toBe(rule);
        } else {
          expect(["pod", "world", "cidr", "unknown"]).toContain(peer);
          expect(["workload", "fqdn", "cidr", "unknown"]).toContain(node);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("puts the most specific reserved label first whatever the order Hubble sent", () => {
    for (const labels of [["reserved:host", "reserved:remote-node"], ["reserved:remote-node", "reserved:host"]]) {
      expect(peerOf({ labels }, undefined, []).kind).toBe("remote-node");
      expect(nodeOf({ labels }, undefined, []).kind).toBe("remote-node");
    }
    const api = { labels: ["reserved:host", "reserved:kube-apiserver"] };
    expect(peerOf(api, undefined, []).kind).toBe("kube-apiserver");
    expect(nodeOf(api, undefined, []).kind).toBe("kube-apiserver");
  });

  it("reads a bare numeric identity only for an endpoint without a namespace", () => {
    expect(reservedKindOf([], 6, undefined)).toBe("remote-node");
    expect(reservedKindOf([], 10, undefined)).toBe("world");
    expect(reservedKindOf([], 4, undefined)).toBe("health");
    expect(reservedKindOf([], 1, "shop")).toBeUndefined();
    expect(reservedKindOf([], 12345, undefined)).toBeUndefined();
  });
});
