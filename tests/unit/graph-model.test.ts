/**
 * The map's grouping rules over hubble JSON: pods → workloads, reserved identities, FQDN and CIDR
 * nodes, replies oriented onto the request edge, cross-namespace and cross-cluster edges, verdict
 * states, L7 summary, policies, unknown enum values and the noise filter.
 */
import { describe, expect, it } from "vitest";
import { DropReason, Verdict } from "@/proto/gen/flow/flow_pb";
import { histogramPercentileMs } from "@/server/domain/graph/graph-latency";
import { graphContext } from "@/server/domain/graph/graph-context";
import { GraphBuilder } from "@/server/domain/graph/graph-build";
import { addFlow, graphFromFlows } from "@/server/domain/graph/graph-flow";
import { nodeOf, podBaseName } from "@/server/domain/graph/graph-node";
import {
  buildFlow,
  dnsRequest,
  dnsResponse,
  drop,
  endpoint,
  hostEndpoint,
  httpRequest,
  httpResponse,
  tcp,
  toItem,
  worldEndpoint,
} from "../fixtures/flow-builder";

const json = (f: ReturnType<typeof buildFlow>) => toItem(f).flow as Record<string, unknown>;

describe("nodes", () => {
  it("puts the pods of one Deployment on one workload node", () => {
    const a = nodeOf(json(buildFlow({ source: endpoint({ ns: "shop", app: "backend", pod: "backend-7d9f8b6c5d-x2x9k" }) })).source, "10.0.0.1", []);
    const b = nodeOf(json(buildFlow({ source: endpoint({ ns: "shop", app: "backend", pod: "backend-7d9f8b6c5d-abcde" }) })).source, "10.0.0.2", []);
    expect(a.id).toBe(b.id);
    expect(a).toMatchObject({ kind: "workload", label: "backend", namespace: "shop", cluster: "default", workload: "Deployment/backend" });
  });

  it("falls back to the app label, then the pod name without its hashes", () => {
    const noWorkload = { namespace: "shop", labels: ["k8s:app.kubernetes.io/name=cart"], pod_name: "cart-1" };
    expect(nodeOf(noWorkload, undefined, [])).toMatchObject({ id: "w:/shop/cart", label: "cart", app: "cart" });
    expect(nodeOf({ namespace: "shop", pod_name: "worker-7d9f8b6c5d-x2x9k" }, undefined, []).label).toBe("worker");
    expect(podBaseName("database-0")).toBe("database");
    expect(podBaseName("node-exporter-x7k2p")).toBe("node-exporter");
    expect(podBaseName("node-exporter")).toBe("node-exporter");
  });

  it("gives reserved identities their own node, by label or by number", () => {
    expect(nodeOf({ identity: 1, labels: ["reserved:host"] }, "10.244.1.160", []).kind).toBe("host");
    expect(nodeOf({ identity: 6 }, "172.18.0.3", []).kind).toBe("remote-node");
    expect(nodeOf({ identity: 7, labels: ["reserved:kube-apiserver"] }, "172.18.0.2", []).kind).toBe("kube-apiserver");
    expect(nodeOf({ identity: 4, labels: ["reserved:health"] }, undefined, []).kind).toBe("health");
    expect(nodeOf({ identity: 3 }, undefined, []).kind).toBe("unmanaged");
    expect(nodeOf({ identity: 2, labels: ["reserved:world"] }, "1.2.3.4", [])).toMatchObject({ id: "world", kind: "world" });
    // a cluster's host is not another cluster's host
    expect(nodeOf({ identity: 1, labels: ["reserved:host"], cluster_name: "east" }, undefined, []).id).not.toBe(
      nodeOf({ identity: 1, labels: ["reserved:host"], cluster_name: "west" }, undefined, []).id,
    );
  });

  it("names the world by FQDN or CIDR identity", () => {
    expect(nodeOf({ identity: 2, labels: ["reserved:world"] }, "140.82.112.5", ["API.GitHub.com."])).toMatchObject({ id: "fqdn:api.github.com", kind: "fqdn" });
    expect(nodeOf({ identity: 16777217, labels: ["cidr:10.0.0.0/8", "cidr:10.1.0.0/16", "reserved:world"] }, "10.1.2.3", [])).toMatchObject({
      id: "cidr:10.1.0.0/16",
      kind: "cidr",
    });
    expect(nodeOf({ labels: ["cidr:2001-db8--/32"] }, "2001:db8::1", []).label).toBe("2001:db8::/32");
    expect(nodeOf({ identity: 2, labels: ["fqdn:api.stripe.com", "reserved:world"] }, undefined, []).id).toBe("fqdn:api.stripe.com");
  });

  it("never fails on an empty endpoint", () => {
    expect(nodeOf(undefined, "10.9.9.9", [])).toMatchObject({ kind: "unknown", label: "10.9.9.9" });
    expect(nodeOf({ identity: 12345 }, undefined, [])).toMatchObject({ kind: "unknown", label: "identity 12345" });
  });
});

describe("edges", () => {
  it("orients replies onto the request edge and counts them there", () => {
    const g = graphFromFlows([json(httpRequest("GET")), json(httpResponse(200)), json(httpResponse(503))]);
    expect(g.edges).toHaveLength(1);
    const e = g.edges[0];
    expect(e.source).toBe("w:default/default/client");
    expect(e.target).toBe("w:default/default/server");
    expect(e).toMatchObject({ flows: 3, replies: 2, state: "forwarded" });
    expect(e.ports).toEqual([{ protocol: "TCP", port: 8080, flows: 3 }]);
    expect(e.l7.httpRequests).toBe(1);
    expect(e.l7.httpStatus).toEqual([0, 1, 0, 0, 1, 0]);
    // 2 ms lands in the [1024, 2048) µs bucket
    expect(e.l7.p50Ms).toBeCloseTo(1.448, 2);
    expect(e.l7.latencySamples).toBe(2);
  });

  it("keeps cross-namespace and cross-cluster edges with both ends' namespace and cluster", () => {
    const g = graphFromFlows([
      json(buildFlow({ source: endpoint({ ns: "shop", app: "frontend" }), destination: endpoint({ ns: "payments", app: "api" }) })),
      json(buildFlow({ source: endpoint({ ns: "shop", app: "frontend", cluster: "east" }), destination: endpoint({ ns: "shop", app: "frontend", cluster: "west" }) })),
    ]);
    expect(g.edges.map((e) => e.id).sort()).toEqual(["w:default/shop/frontend->w:default/payments/api", "w:east/shop/frontend->w:west/shop/frontend"]);
    const west = g.nodes.find((n) => n.id === "w:west/shop/frontend");
    expect(west).toMatchObject({ cluster: "west", namespace: "shop" });
    expect(g.nodes).toHaveLength(4);
  });

  it("colours by verdict: all dropped, mixed, forwarded; keeps drop reasons and policy names", () => {
    const src = endpoint({ ns: "shop", app: "frontend" });
    const db = endpoint({ ns: "shop", app: "database" });
    const be = endpoint({ ns: "shop", app: "backend" });
    const g = graphFromFlows([
      json(drop({ deniedBy: ["shop/default-deny"] }, { source: src, destination: db })),
      json(drop({ reason: DropReason.CT_MAP_INSERTION_FAILED }, { source: src, destination: be })),
      json(buildFlow({ source: src, destination: be, ingressAllowedBy: [{ name: "allow-frontend", namespace: "shop" }] })),
      json(buildFlow({ source: be, destination: db })),
    ]);
    const byId = new Map(g.edges.map((e) => [e.target.split("/").pop() + "<" + e.source.split("/").pop(), e]));
    expect(byId.get("database<frontend")).toMatchObject({ state: "dropped", deniedBy: ["shop/default-deny"], dropReasons: { POLICY_DENIED: 1 } });
    expect(byId.get("backend<frontend")).toMatchObject({ state: "mixed", allowedBy: ["shop/allow-frontend"], verdicts: { forwarded: 1, dropped: 1 } });
    expect(byId.get("database<backend")?.state).toBe("forwarded");
  });

  it("calls a denied connection all dropped although the source node forwarded it", () => {
    const fe = endpoint({ ns: "shop", app: "frontend" });
    const db = endpoint({ ns: "shop", app: "database" });
    // source node: FORWARDED to-overlay (egress); destination node: DROPPED by policy
    const overlay = json(buildFlow({ source: fe, destination: db, trafficDirection: 2, l4: tcp(40000, 5432, { SYN: true }) }));
    const dropped = json(drop({ deniedBy: ["shop/default-deny"] }, { source: fe, destination: db }));
    expect(graphFromFlows([overlay, dropped]).edges[0]).toMatchObject({ state: "dropped", delivered: 0, verdicts: { forwarded: 1, dropped: 1 } });
    // once something arrives (at the destination's ingress, or a reply) it is mixed
    const arrived = json(buildFlow({ source: fe, destination: db, trafficDirection: 1 }));
    expect(graphFromFlows([overlay, dropped, arrived]).edges[0]).toMatchObject({ state: "mixed", delivered: 1 });
    const reply = json(buildFlow({ source: db, destination: fe, isReply: true, trafficDirection: 2, l4: tcp(5432, 40000) }));
    expect(graphFromFlows([overlay, dropped, reply]).edges[0]).toMatchObject({ state: "mixed", delivered: 1 });
  });

  it("counts unknown verdicts and L4 kinds without failing", () => {
    const f = json(buildFlow({ verdict: 99 as Verdict }));
    f.l4 = { FUTURE: { source_port: 1 } };
    const g = graphFromFlows([f, json(buildFlow({ verdict: Verdict.AUDIT }))]);
    expect(g.edges[0].verdicts).toMatchObject({ other: 1, audit: 1, forwarded: 0 });
    expect(g.edges[0].state).toBe("forwarded");
    expect(g.edges[0].ports.map((p) => `${p.protocol}/${p.port}`).sort()).toEqual(["TCP/8080", "none/0"]);
    expect(graphContext({ verdict: "SOMETHING_NEW" }).verdict).toBe("other");
  });

  it("summarises DNS rcodes, including unknown ones", () => {
    const q = "backend.shop.svc.cluster.local.";
    const g = graphFromFlows([json(dnsRequest(q)), json(dnsResponse(q, { rcode: 3 })), json(dnsResponse(q, { rcode: 0 })), json(dnsResponse(q, { rcode: 11 }))], {
      hideNoise: false,
    });
    const e = g.edges.find((x) => x.target.includes("coredns"))!;
    expect(e.l7.dnsRequests).toBe(1);
    expect(e.l7.dnsRcodes).toEqual([1, 0, 0, 1, 0, 0, 1]);
    expect(e.ports[0]).toMatchObject({ protocol: "UDP", port: 53 });
  });

  it("hides host, health, unmanaged and kube-system by default and says how much", () => {
    const flows = [
      json(buildFlow({ source: hostEndpoint(), destination: endpoint({ ns: "shop", app: "backend" }) })),
      json(dnsRequest("x.")),
      json(buildFlow({ source: endpoint({ ns: "shop", app: "backend" }), destination: worldEndpoint(), destinationNames: ["api.stripe.com"], l4: tcp(40000, 443) })),
    ];
    const quiet = graphFromFlows(flows);
    expect(quiet.edges.map((e) => e.target)).toEqual(["fqdn:api.stripe.com"]);
    expect(quiet.hidden).toEqual({ flows: 2, nodes: 2 });
    const all = graphFromFlows(flows, { hideNoise: false });
    expect(all.edges).toHaveLength(3);
    expect(all.hidden.flows).toBe(0);
  });
});

describe("latency percentiles", () => {
  it("reads p50/p95 off the log-2 histogram", () => {
    const h = new Array(26).fill(0);
    h[10] = 90; // ~1.4 ms
    h[17] = 10; // ~185 ms
    expect(histogramPercentileMs(h, 50)).toBeCloseTo(1.448, 2);
    expect(histogramPercentileMs(h, 95)).toBeCloseTo(185.36, 1);
    expect(histogramPercentileMs(new Array(26).fill(0), 50)).toBeNull();
  });
});

describe("builder copies", () => {
  it("a copy goes on counting without touching the original (the map keeps folded minutes and copies them)", () => {
    const fe = endpoint({ ns: "shop", app: "frontend" });
    const be = endpoint({ ns: "shop", app: "backend" });
    const db = endpoint({ ns: "shop", app: "database" });
    const base = new GraphBuilder({ hideNoise: false });
    addFlow(base, json(httpResponse(200, "GET", "http://backend/", { source: be, destination: fe, l7: { type: 2, latencyNs: 2_000_000n, record: { case: "http", value: { code: 200, method: "GET", url: "/" } } } })));
    const before = JSON.stringify(base.clone().result());
    const copy = base.clone();
    addFlow(copy, json(httpResponse(503, "GET", "http://backend/", { source: be, destination: fe, l7: { type: 2, latencyNs: 900_000_000n, record: { case: "http", value: { code: 503, method: "GET", url: "/" } } } })));
    addFlow(copy, json(drop({ deniedBy: ["shop/default-deny"] }, { source: fe, destination: db, l4: tcp(40000, 5432) })));
    expect(JSON.stringify(base.result())).toBe(before);
    const g = copy.result();
    const fb = g.edges.find((e) => e.target.endsWith("/backend"))!;
    expect(fb).toMatchObject({ flows: 2, replies: 2, l7: { httpStatus: [0, 1, 0, 0, 1, 0], latencySamples: 2 } });
    expect(fb.l7.p95Ms).toBeGreaterThan(fb.l7.p50Ms!);
    expect(g.edges.find((e) => e.target.endsWith("/database"))).toMatchObject({ state: "dropped", deniedBy: ["shop/default-deny"], verdicts: { dropped: 1 } });
    expect(g.nodes.map((n) => n.label).sort()).toEqual(["backend", "database", "frontend"]);
  });
});
