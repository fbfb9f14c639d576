/**
 * Before/after and the namespace suggestion on connection outcomes: flows as a real agent reports
 * them at each observation point (the client's egress: policy verdict + to-overlay trace; the
 * server's ingress: policy verdict + to-endpoint, or a drop), folded into outcomes.
 */
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { TraceObservationPoint, TrafficDirection, Verdict, type Flow } from "@/proto/gen/flow/flow_pb";
import { serverPortOf } from "@/server/domain/connections/denied-packets";
import { connectionOutcomes, type ObservedRow } from "@/server/domain/connections/outcome";
import { diffOutcomes, summarizeDiff } from "@/server/domain/policies/policy-diff";
import { suggestForNamespace } from "@/server/domain/policies/policy-suggest";
import { buildFlow, drop, endpoint, hostEndpoint, tcp, toItem, udp, worldEndpoint, type FlowOverrides } from "../fixtures/flow-builder";

const fe = endpoint({ ns: "shop", app: "frontend" });
const be = endpoint({ ns: "shop", app: "backend" });
const db = endpoint({ ns: "shop", app: "database" });
const prom = endpoint({ ns: "monitoring", app: "prometheus" });
const dns = endpoint({ ns: "kube-system", app: "coredns", labels: ["k8s:k8s-app=kube-dns"] });

const pol = (ref: string) => {
  const [namespace, name] = ref.split("/");
  return { name, namespace, kind: "NetworkPolicy", revision: 7n, labels: [] };
};

/** the client's egress: a policy verdict (when a policy selects the client) and the to-overlay trace */
const leaves = (o: FlowOverrides, allowedBy?: string) => [
  ...(allowedBy ? [buildFlow({ ...o, eventType: { type: 5 }, trafficDirection: TrafficDirection.EGRESS, egressAllowedBy: [pol(allowedBy)] })] : []),
  buildFlow({ ...o, eventType: { type: 4, subType: 4 }, traceObservationPoint: TraceObservationPoint.TO_OVERLAY, trafficDirection: TrafficDirection.EGRESS }),
];
/** the server's ingress lets it in: policy verdict + to-endpoint, and the reply */
const arrives = (o: FlowOverrides, allowedBy?: string) => [
  ...(allowedBy ? [buildFlow({ ...o, eventType: { type: 5 }, trafficDirection: TrafficDirection.INGRESS, ingressAllowedBy: [pol(allowedBy)] })] : []),
  buildFlow({ ...o }),
];
/** the server's answer (to-endpoint at the client; a reply belongs to the server's end, INGRESS) */
const replies = (o: FlowOverrides, port: number) => [
  buildFlow({ ...o, source: o.destination, destination: o.source, l4: tcp(port, 43210), isReply: true, trafficDirection: TrafficDirection.INGRESS, eventType: { type: 4, subType: 0 } }),
];
/** the server's ingress denies it: the policy-verdict half (the drop-event half is paired away by the store) */
const deniedAtIngress = (o: FlowOverrides, deniedBy?: string) => [
  buildFlow({ ...o, verdict: Verdict.DROPPED, eventType: { type: 5 }, dropReasonDesc: 133, trafficDirection: TrafficDirection.INGRESS, ingressDeniedBy: deniedBy ? [pol(deniedBy)] : [] }),
];

function rows(list: [Flow[], number][]): ObservedRow[] {
  const out: ObservedRow[] = [];
  for (const [flows, count] of list) {
    for (const f of flows) {
      const flow = toItem(f).flow;
      const { l4, port } = serverPortOf(flow);
      out.push({ flow, l4, port, count });
    }
  }
  return out;
}

const link = () => "q";

describe("before/after on connection outcomes", () => {
  const scrape: FlowOverrides = { source: prom, destination: be, l4: tcp(43210, 9090, { SYN: true }) };
  const toDb: FlowOverrides = { source: be, destination: db, l4: tcp(43210, 5432) };
  const feBe: FlowOverrides = { source: fe, destination: be, l4: tcp(43210, 8080) };
  const feDb: FlowOverrides = { source: fe, destination: db, l4: tcp(43210, 5432, { SYN: true }) };

  const before = connectionOutcomes(
    rows([
      // prometheus → backend:9090 leaves prometheus FORWARDED and is denied at backend's ingress (the case)
      [leaves(scrape), 52],
      [deniedAtIngress(scrape, "shop/default-deny"), 102],
      [leaves(toDb, "shop/allow-shop-egress"), 40],
      [arrives(toDb, "shop/backend-to-db"), 40],
      [replies(toDb, 5432), 40],
      [leaves(feBe, "shop/allow-shop-egress"), 100],
      [arrives(feBe, "shop/frontend-to-backend"), 100],
      [leaves(feDb, "shop/allow-shop-egress"), 3],
      [deniedAtIngress(feDb), 3],
    ]),
  );
  const after = connectionOutcomes(
    rows([
      [leaves(scrape), 435],
      [arrives(scrape, "shop/allow-metrics-scrape"), 435],
      [replies(scrape, 9090), 400],
      [leaves(toDb, "shop/allow-shop-egress"), 38],
      [deniedAtIngress(toDb, "shop/default-deny"), 38],
      [leaves(feBe, "shop/allow-shop-egress"), 90],
      [arrives(feBe, "shop/frontend-to-backend"), 90],
      [leaves({ source: be, destination: worldEndpoint(), destinationNames: ["api.stripe.com"], l4: tcp(1, 443) }, "shop/allow-stripe-egress"), 5],
    ]),
  );

  it("a policy add that lets a connection through is became-allowed, a removal became-dropped", () => {
    const edges = diffOutcomes(before, after, link);
    const byChange = (c: string) => edges.filter((e) => e.change === c).map((e) => `${e.srcLabel} -> ${e.dstLabel} ${e.service}`);
    expect(byChange("became-allowed")).toEqual(["monitoring/Deployment/prometheus -> shop/Deployment/backend TCP/9090"]);
    expect(byChange("became-dropped")).toEqual(["shop/Deployment/backend -> shop/Deployment/database TCP/5432"]);
    expect(byChange("appeared")).toEqual(["shop/Deployment/backend -> api.stripe.com (10.244.2.20) TCP/443"]);
    expect(byChange("disappeared")).toEqual(["shop/Deployment/frontend -> shop/Deployment/database TCP/5432"]);
    expect(byChange("unchanged")).toEqual(["shop/Deployment/frontend -> shop/Deployment/backend TCP/8080"]);
    expect(summarizeDiff(edges)).toEqual({ "became-dropped": 1, "became-allowed": 1, appeared: 1, disappeared: 1, unchanged: 1 });
    expect(edges[0].change).toBe("became-dropped");
  });

  it("keeps the evidence: what each end decided, by which policy, before and after", () => {
    const edges = diffOutcomes(before, after, (c, w) => `${w}:${c.service}`);
    const scrapeEdge = edges.find((e) => e.change === "became-allowed")!;
    // FORWARDED flows at prometheus's egress before do not make it delivered
    expect(scrapeEdge.before).toMatchObject({ state: "denied", delivered: 0, denied: 102, egress: { allowed: 52 }, ingress: { denied: 102, deniedBy: ["shop/default-deny"] } });
    expect(scrapeEdge.after).toMatchObject({ state: "delivered", denied: 0, replies: 400, ingress: { allowedBy: ["shop/allow-metrics-scrape"] } });
    expect(scrapeEdge.after.flows).toBe("after:TCP/9090");
    const dbEdge = edges.find((e) => e.change === "became-dropped")!;
    expect(dbEdge.before.ingress.allowedBy).toEqual(["shop/backend-to-db"]);
    expect(dbEdge.after.ingress.deniedBy).toEqual(["shop/default-deny"]);
    expect(dbEdge.after.egress.allowedBy).toEqual(["shop/allow-shop-egress"]);
  });

  it("a window with both (established connections outliving a removed policy) still shows the change", () => {
    const b = connectionOutcomes(rows([[arrives(toDb, "shop/backend-to-db"), 10]]));
    const a = connectionOutcomes(rows([[replies(toDb, 5432), 4], [deniedAtIngress(toDb), 6]]));
    const [e] = diffOutcomes(b, a, link);
    expect(e.after.state).toBe("mixed");
    expect(e.change).toBe("became-dropped");
  });

  it("drops no policy causes do not make a connection denied", () => {
    const b = connectionOutcomes(rows([[arrives(toDb, "shop/backend-to-db"), 40], [[drop({ reason: 250 }, toDb)], 2]]));
    const a = connectionOutcomes(rows([[arrives(toDb, "shop/backend-to-db"), 30], [[drop({ reason: 155 }, toDb)], 5]]));
    const [e] = diffOutcomes(b, a, link);
    expect(e.change).toBe("unchanged");
    expect(e.before).toMatchObject({ state: "delivered", denied: 0, otherDrops: 2, reasons: ["250"] });
    expect(e.after).toMatchObject({ otherDrops: 5, reasons: ["CT_MAP_INSERTION_FAILED"] });
  });

  it("leaves out connections no policy decided unless asked for all", () => {
    const b = connectionOutcomes(rows([[arrives(feBe, "shop/frontend-to-backend"), 3]]));
    const a = connectionOutcomes(rows([[arrives({ source: prom, destination: endpoint({ ns: "monitoring", app: "grafana" }) }), 2]]));
    expect(diffOutcomes(b, a, link).map((e) => e.change)).toEqual(["disappeared"]);
    expect(diffOutcomes(b, a, link, false).map((e) => e.change)).toEqual(["appeared", "disappeared"]);
  });
});

describe("namespace suggestion from delivered traffic", () => {
  const stripe = (ip: string): FlowOverrides => ({
    source: be,
    destination: worldEndpoint(),
    destinationNames: ["api.stripe.com"],
    IP: { source: "10.244.1.5", destination: ip, ipVersion: 1 },
    l4: tcp(43210, 443),
  });
  const stripeReply = (ip: string) =>
    buildFlow({ source: worldEndpoint(), sourceNames: ["api.stripe.com"], destination: be, IP: { source: ip, destination: "10.244.1.5", ipVersion: 1 }, l4: tcp(443, 43210), isReply: true, trafficDirection: TrafficDirection.EGRESS });
  const feDb: FlowOverrides = { source: fe, destination: db, l4: tcp(43210, 5432, { SYN: true }) };
  const outcomes = connectionOutcomes(
    rows([
      [[...leaves({ source: fe, destination: be, l4: tcp(1, 8080) }, "shop/allow"), ...arrives({ source: fe, destination: be, l4: tcp(1, 8080) })], 50],
      [[...leaves({ source: be, destination: db, l4: tcp(1, 5432) }, "shop/allow"), ...arrives({ source: be, destination: db, l4: tcp(1, 5432) })], 20],
      [[buildFlow({ source: fe, destination: dns, l4: udp(1, 53), trafficDirection: TrafficDirection.INGRESS })], 10],
      [[buildFlow({ source: be, destination: dns, l4: udp(1, 53), trafficDirection: TrafficDirection.INGRESS })], 10],
      // api.stripe.com answered from three IPs in the window
      [[...leaves(stripe("54.187.174.169"), "shop/allow"), stripeReply("54.187.174.169")], 7345],
      [[...leaves(stripe("54.187.216.72"), "shop/allow"), stripeReply("54.187.216.72")], 2980],
      [[...leaves(stripe("54.241.31.99"), "shop/allow"), stripeReply("54.241.31.99")], 2970],
      [arrives({ source: prom, destination: be, l4: tcp(1, 9090) }), 6],
      [[buildFlow({ source: hostEndpoint(), destination: fe, l4: tcp(1, 8080) })], 8],
      // frontend → database leaves the frontend FORWARDED (1,706 flows) but the database drops it all
      [leaves(feDb, "shop/allow-shop-egress"), 1706],
      [deniedAtIngress(feDb), 2388],
      [[drop({ reason: 181, deniedBy: ["shop/deny-external-egress"] }, { source: fe, destination: worldEndpoint(), destinationNames: ["evil.example"], trafficDirection: TrafficDirection.EGRESS, l4: tcp(1, 443) })], 2],
    ]),
  );
  const s = suggestForNamespace("shop", outcomes);
  const cnps = parseAllDocuments(s.ciliumYaml).map((d) => d.toJS());
  const byName = Object.fromEntries(cnps.map((d) => [d.metadata.name, d]));

  it("builds default deny, DNS egress and one policy per workload with exactly what was delivered", () => {
    expect(s.policies.map((p) => p.name)).toEqual(["default-deny", "allow-dns-egress", "backend-allow", "database-allow", "frontend-allow"]);
    for (const d of cnps) expect(d).toMatchObject({ apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { namespace: "shop" } });
    expect(byName["default-deny"].spec).toEqual({ endpointSelector: {}, ingress: [{}], egress: [{}] });
    const backend = byName["backend-allow"].spec;
    // rules come in the order of the traffic they cover, most first
    expect(backend.egress).toEqual([
      { toFQDNs: [{ matchName: "api.stripe.com" }], toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }] },
      { toEndpoints: [{ matchLabels: { app: "database" } }], toPorts: [{ ports: [{ port: "5432", protocol: "TCP" }] }] },
    ]);
    expect(backend.ingress).toEqual([
      { fromEndpoints: [{ matchLabels: { app: "frontend" } }], toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }] },
      { fromEndpoints: [{ matchLabels: { app: "prometheus", "k8s:io.kubernetes.pod.namespace": "monitoring" } }], toPorts: [{ ports: [{ port: "9090", protocol: "TCP" }] }] },
    ]);
    expect(JSON.stringify(byName["frontend-allow"])).not.toContain("kube-dns");
    expect(JSON.stringify(byName["frontend-allow"])).not.toContain("host");
  });

  it("allows nothing that was denied, even when its packets left the client FORWARDED", () => {
    expect(byName["database-allow"].spec.ingress).toEqual([{ fromEndpoints: [{ matchLabels: { app: "backend" } }], toPorts: [{ ports: [{ port: "5432", protocol: "TCP" }] }] }]);
    expect(JSON.stringify(byName["frontend-allow"].spec)).not.toContain("database");
    expect(JSON.stringify(byName["frontend-allow"].spec)).not.toContain("evil.example");
    const row = s.coverage.find((r) => r.src.endsWith("frontend") && r.dst.endsWith("database"))!;
    expect(row).toMatchObject({ observed: "denied", delivered: 0, denied: 2388, outcome: "dropped" });
  });

  it("names a DNS peer with toFQDNs, and in NetworkPolicy by every IP seen for it, with a warning", () => {
    const k8s = parseAllDocuments(s.kubernetesYaml).map((d) => d.toJS());
    const backend = k8s.find((d) => d.metadata.name === "backend-allow")!;
    const stripeRule = backend.spec.egress.find((r: { to: { ipBlock?: unknown }[] }) => r.to.some((t) => t.ipBlock));
    expect(stripeRule.to).toEqual([{ ipBlock: { cidr: "54.187.174.169/32" } }, { ipBlock: { cidr: "54.187.216.72/32" } }, { ipBlock: { cidr: "54.241.31.99/32" } }]);
    const notes = s.policies.find((p) => p.name === "backend-allow")!.kubernetesNotes.join(" ");
    expect(notes).toMatch(/api\.stripe\.com is allowed by every IP it was seen at \(54\.187\.174\.169, 54\.187\.216\.72, 54\.241\.31\.99\)/);
    expect(notes).toMatch(/DNS answers change/);
    expect(s.coverage.find((r) => r.dst.startsWith("api.stripe.com"))).toMatchObject({ dst: "api.stripe.com (3 IPs)", outcome: "allowed", observed: "delivered" });
  });

  it("previews every connection: covered by which rule, or dropped", () => {
    const row = (src: string, dst: string, service: string) => s.coverage.find((r) => r.src.includes(src) && r.dst.includes(dst) && r.service === service)!;
    expect(row("frontend", "backend", "TCP/8080")).toMatchObject({ outcome: "allowed", observed: "delivered" });
    expect(row("frontend", "backend", "TCP/8080").sides.map((x) => x.rule)).toEqual(["frontend-allow#egress[0]", "backend-allow#ingress[0]"]);
    expect(row("frontend", "coredns", "UDP/53").sides[0].rule).toBe("allow-dns-egress#egress[0]");
    expect(row("host", "frontend", "TCP/8080").sides[0].rule).toMatch(/always allowed/);
    expect(row("frontend", "evil.example", "TCP/443")).toMatchObject({ outcome: "dropped", observed: "denied" });
    expect(s.coverage.filter((r) => r.observed === "delivered").every((r) => r.outcome === "allowed")).toBe(true);
  });

  it("says so instead of suggesting a policy for a namespace without traffic", () => {
    const none = suggestForNamespace("nonexistent", outcomes);
    expect(none.policies).toEqual([]);
    expect(none.ciliumYaml).toBe("");
    expect(none.message).toMatch(/No traffic to or from a pod of namespace "nonexistent"/);
    const deniedOnly = suggestForNamespace("shop", outcomes.filter((c) => c.state === "denied"));
    expect(deniedOnly.warnings.join(" ")).toMatch(/Nothing to or from shop was delivered/);
    expect(deniedOnly.policies.map((p) => p.name)).toEqual(["default-deny", "allow-dns-egress"]);
  });
});
