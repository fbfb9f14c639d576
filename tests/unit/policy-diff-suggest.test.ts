import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { flowPeers } from "@/server/domain/drop-peer";
import { diffEdges, summarizeDiff, type EdgeObservation } from "@/server/domain/policies/policy-diff";
import { suggestForNamespace, type ObservedConnection } from "@/server/domain/policies/policy-suggest";
import { endpoint, hostEndpoint, toItem, buildFlow, worldEndpoint, tcp, udp } from "../fixtures/flow-builder";
import type { FlowOverrides } from "../fixtures/flow-builder";

const fe = endpoint({ ns: "shop", app: "frontend" });
const be = endpoint({ ns: "shop", app: "backend" });
const db = endpoint({ ns: "shop", app: "database" });
const prom = endpoint({ ns: "monitoring", app: "prometheus" });
const dns = endpoint({ ns: "kube-system", app: "coredns", labels: ["k8s:k8s-app=kube-dns"] });

function obs(o: FlowOverrides, verdict: string, count: number, policies: string[] = [], port?: number): EdgeObservation & ObservedConnection {
  const f = toItem(buildFlow(o)).flow;
  const { src, dst } = flowPeers(f);
  const l4 = (o.l4 as { protocol: { case: string; value: { destinationPort: number } } } | undefined)?.protocol;
  return {
    src,
    dst,
    protocol: l4?.case ?? "TCP",
    port: port ?? l4?.value.destinationPort ?? 8080,
    verdict,
    count,
    policies: policies.map((p) => ({ name: p.split("/")[1], namespace: p.split("/")[0], kind: "NetworkPolicy" })),
  };
}

describe("before/after diff of edges", () => {
  it("classifies became dropped, became allowed, appeared, disappeared and unchanged", () => {
    const before = [
      obs({ source: be, destination: db, l4: tcp(1, 5432) }, "FORWARDED", 40, ["shop/backend-to-db"]),
      obs({ source: prom, destination: be, l4: tcp(1, 9090) }, "DROPPED", 12, ["shop/default-deny"]),
      obs({ source: fe, destination: be, l4: tcp(1, 8080) }, "FORWARDED", 100, ["shop/frontend-to-backend"]),
      obs({ source: fe, destination: db, l4: tcp(1, 5432) }, "DROPPED", 3),
    ];
    const after = [
      obs({ source: be, destination: db, l4: tcp(1, 5432) }, "DROPPED", 38, ["shop/default-deny"]),
      obs({ source: prom, destination: be, l4: tcp(1, 9090) }, "FORWARDED", 11, ["shop/allow-metrics-scrape"]),
      obs({ source: fe, destination: be, l4: tcp(1, 8080) }, "FORWARDED", 90),
      obs({ source: be, destination: worldEndpoint(), destinationNames: ["api.stripe.com"], l4: tcp(1, 443) }, "FORWARDED", 5, ["shop/allow-stripe-egress"]),
    ];
    const edges = diffEdges(before, after);
    const byChange = (c: string) => edges.filter((e) => e.change === c).map((e) => `${e.srcLabel} -> ${e.dstLabel} ${e.service}`);
    expect(byChange("became-dropped")).toEqual(["shop/Deployment/backend -> shop/Deployment/database TCP/5432"]);
    expect(byChange("became-allowed")).toEqual(["monitoring/Deployment/prometheus -> shop/Deployment/backend TCP/9090"]);
    expect(byChange("appeared")).toEqual(["shop/Deployment/backend -> api.stripe.com (10.244.2.20) TCP/443"]);
    expect(byChange("disappeared")).toEqual(["shop/Deployment/frontend -> shop/Deployment/database TCP/5432"]);
    expect(byChange("unchanged")).toEqual(["shop/Deployment/frontend -> shop/Deployment/backend TCP/8080"]);
    const dropped = edges.find((e) => e.change === "became-dropped")!;
    expect(dropped.before.allowedBy).toEqual(["shop/backend-to-db"]);
    expect(dropped.after.deniedBy).toEqual(["shop/default-deny"]);
    expect(summarizeDiff(edges)).toEqual({ "became-dropped": 1, "became-allowed": 1, appeared: 1, disappeared: 1, unchanged: 1 });
    // the order puts what changed first
    expect(edges[0].change).toBe("became-dropped");
  });

  it("drops for reasons no policy causes do not make an edge 'dropped'", () => {
    const before = [
      obs({ source: be, destination: db, l4: tcp(1, 5432) }, "FORWARDED", 40),
      { ...obs({ source: be, destination: db, l4: tcp(1, 5432) }, "DROPPED", 2), reason: "250" },
    ];
    const after = [
      obs({ source: be, destination: db, l4: tcp(1, 5432) }, "FORWARDED", 30),
      { ...obs({ source: be, destination: db, l4: tcp(1, 5432) }, "DROPPED", 25), reason: "POLICY_DENIED" },
    ];
    const [e] = diffEdges(before, after);
    expect(e.change).toBe("became-dropped");
    expect(e.before).toMatchObject({ dropped: 0, otherDrops: 2, reasons: ["250"] });
    expect(e.after).toMatchObject({ dropped: 25, otherDrops: 0 });
  });

  it("merges contexts of one workload pair and ignores verdicts that are not decisions", () => {
    const edges = diffEdges(
      [obs({ source: be, destination: db, l4: tcp(1, 5432) }, "FORWARDED", 1), obs({ source: endpoint({ ns: "shop", app: "backend", pod: "backend-2" }), destination: db, l4: tcp(1, 5432) }, "FORWARDED", 2)],
      [obs({ source: be, destination: db, l4: tcp(1, 5432) }, "TRACED", 5)],
      false,
    );
    expect(edges).toHaveLength(1);
    expect(edges[0].before.forwarded).toBe(3);
    expect(edges[0].change).toBe("disappeared");
  });

  it("leaves out edges no policy decided unless asked for all", () => {
    const before = [obs({ source: fe, destination: be, l4: tcp(1, 8080) }, "FORWARDED", 3, ["shop/frontend-to-backend"])];
    const after = [obs({ source: prom, destination: worldEndpoint(), l4: tcp(1, 9090) }, "FORWARDED", 2)];
    expect(diffEdges(before, after).map((e) => e.change)).toEqual(["disappeared"]);
    expect(diffEdges(before, after, false).map((e) => e.change)).toEqual(["appeared", "disappeared"]);
  });
});

describe("namespace suggestion", () => {
  const observed: ObservedConnection[] = [
    obs({ source: fe, destination: be, l4: tcp(1, 8080) }, "FORWARDED", 50),
    obs({ source: be, destination: db, l4: tcp(1, 5432) }, "FORWARDED", 20),
    obs({ source: fe, destination: dns, l4: udp(1, 53) }, "FORWARDED", 10),
    obs({ source: be, destination: dns, l4: udp(1, 53) }, "FORWARDED", 10),
    obs({ source: be, destination: worldEndpoint(), destinationNames: ["api.stripe.com"], IP: { source: "10.244.1.5", destination: "54.187.174.169", ipVersion: 1 }, l4: tcp(1, 443) }, "FORWARDED", 4),
    obs({ source: prom, destination: be, l4: tcp(1, 9090) }, "FORWARDED", 6),
    obs({ source: hostEndpoint(), destination: fe, l4: tcp(1, 8080) }, "FORWARDED", 8),
    obs({ source: fe, destination: worldEndpoint(), destinationNames: ["evil.example"], l4: tcp(1, 443) }, "DROPPED", 2),
    obs({ source: fe, destination: db, l4: tcp(1, 5432) }, "DROPPED", 1),
  ];
  const s = suggestForNamespace("shop", observed);

  it("builds default deny, DNS egress to kube-dns and one policy per workload with exactly what it used", () => {
    expect(s.policies.map((p) => p.name)).toEqual(["default-deny", "allow-dns-egress", "backend-allow", "database-allow", "frontend-allow"]);
    const cnps = parseAllDocuments(s.ciliumYaml).map((d) => d.toJS());
    for (const d of cnps) {
      expect(d.apiVersion).toBe("cilium.io/v2");
      expect(d.kind).toBe("CiliumNetworkPolicy");
      expect(d.metadata.namespace).toBe("shop");
    }
    const byName = Object.fromEntries(cnps.map((d) => [d.metadata.name, d]));
    expect(byName["default-deny"].spec).toEqual({ endpointSelector: {}, ingress: [{}], egress: [{}] });
    expect(byName["allow-dns-egress"].spec.egress).toEqual([
      {
        toEndpoints: [{ matchLabels: { "k8s-app": "kube-dns", "k8s:io.kubernetes.pod.namespace": "kube-system" } }],
        toPorts: [{ ports: [{ port: "53", protocol: "ANY" }], rules: { dns: [{ matchPattern: "*" }] } }],
      },
    ]);
    const backend = byName["backend-allow"].spec;
    expect(backend.endpointSelector).toEqual({ matchLabels: { app: "backend" } });
    expect(backend.egress).toEqual([
      { toEndpoints: [{ matchLabels: { app: "database" } }], toPorts: [{ ports: [{ port: "5432", protocol: "TCP" }] }] },
      { toFQDNs: [{ matchName: "api.stripe.com" }], toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }] },
    ]);
    expect(backend.ingress).toEqual([
      { fromEndpoints: [{ matchLabels: { app: "frontend" } }], toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }] },
      { fromEndpoints: [{ matchLabels: { app: "prometheus", "k8s:io.kubernetes.pod.namespace": "monitoring" } }], toPorts: [{ ports: [{ port: "9090", protocol: "TCP" }] }] },
    ]);
    // DNS is the shared policy's, and the host's probes need no rule
    expect(JSON.stringify(byName["frontend-allow"])).not.toContain("kube-dns");
    expect(JSON.stringify(byName["frontend-allow"])).not.toContain("host");
    const nps = parseAllDocuments(s.kubernetesYaml).map((d) => d.toJS());
    expect(nps.map((d) => d.kind)).toEqual(Array(5).fill("NetworkPolicy"));
    expect(nps[0].spec).toEqual({ podSelector: {}, ingress: [], egress: [], policyTypes: ["Ingress", "Egress"] });
    expect(nps[1].spec.egress[0].ports).toEqual([{ port: 53, protocol: "UDP" }, { port: 53, protocol: "TCP" }]);
  });

  it("previews every observed connection: covered by which rule, or dropped", () => {
    const row = (src: string, dst: string, service: string) => s.coverage.find((r) => r.src.includes(src) && r.dst.includes(dst) && r.service === service)!;
    expect(row("frontend", "backend", "TCP/8080")).toMatchObject({ outcome: "allowed", observed: "FORWARDED" });
    expect(row("frontend", "backend", "TCP/8080").sides.map((x) => x.rule)).toEqual(["frontend-allow#egress[0]", "backend-allow#ingress[0]"]);
    expect(row("frontend", "coredns", "UDP/53").sides[0].rule).toBe("allow-dns-egress#egress[0]");
    expect(row("host", "frontend", "TCP/8080").sides[0].rule).toMatch(/always allowed/);
    expect(row("frontend", "evil.example", "TCP/443")).toMatchObject({ outcome: "dropped", observed: "DROPPED" });
    expect(row("frontend", "database", "TCP/5432")).toMatchObject({ outcome: "dropped" });
    expect(row("prometheus", "backend", "TCP/9090").sides.map((x) => x.direction)).toEqual(["ingress"]);
    expect(s.coverage.filter((r) => r.observed === "FORWARDED").every((r) => r.outcome === "allowed")).toBe(true);
  });
});
