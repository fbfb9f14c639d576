/**
 * The demo cluster's generated traffic (seeded, no network): the NetworkPolicy-course story is in
 * the flows — shop tiers, policy verdicts and drops with policy names, a policy change visible
 * before/after, DNS search-path bursts, HTTP pairs with some 5xx, world egress — and every flow is
 * a valid, complete Hubble flow.
 */
import { equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { beforeAll, describe, expect, it } from "vitest";
import { AgentEventType, DropReason, FlowType, IPVersion, Verdict, type Flow } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema, type GetAgentEventsResponse, type GetFlowsResponse } from "@/proto/gen/observer/observer_pb";
import { DemoTraffic } from "@/server/demo/demo-traffic";
import { timestampToNs } from "@/server/flow-codec/timestamp";

const START = Date.UTC(2026, 0, 12, 9, 0, 0);
const PERIOD = 60_000;
const DURATION = 210_000;
const RATE = 40;

let responses: GetFlowsResponse[];
let flows: Flow[];
let agentEvents: GetAgentEventsResponse[];

const ms = (f: Flow) => Number(timestampToNs(f.time)! / 1_000_000n);
const pod = (f: Flow, side: "source" | "destination") => f[side]?.podName ?? "";
const app = (f: Flow, side: "source" | "destination") => f[side]?.labels.find((l) => l.startsWith("k8s:app="))?.slice(8);
const dns = (f: Flow) => (f.l7?.record.case === "dns" ? f.l7.record.value : undefined);
const http = (f: Flow) => (f.l7?.record.case === "http" ? f.l7.record.value : undefined);
const isDrop = (f: Flow, reason: number) => f.verdict === Verdict.DROPPED && f.dropReasonDesc === reason && f.eventType?.type === 1;

beforeAll(() => {
  const traffic = new DemoTraffic({ startMs: START, seed: 42, rate: RATE, policyPeriodMs: PERIOD, firstPolicyChangeMs: START + PERIOD });
  const batch = traffic.advance(START + DURATION);
  responses = batch.flows;
  agentEvents = batch.agentEvents;
  flows = responses.flatMap((r) => (r.responseTypes.case === "flow" ? [r.responseTypes.value] : []));
});

describe("demo traffic: shape", () => {
  it("comes at about the configured rate, in time order, with unique uuids", () => {
    expect(flows.length / (DURATION / 1000)).toBeGreaterThan(RATE * 0.8);
    expect(flows.length / (DURATION / 1000)).toBeLessThan(RATE * 1.25);
    const times = responses.map((r) => timestampToNs(r.time)!);
    for (let i = 1; i < times.length; i++) expect(times[i] >= times[i - 1], `time order at ${i}`).toBe(true);
    expect(new Set(flows.map((f) => f.uuid)).size).toBe(flows.length);
  });

  it("fills what a Cilium 1.19 agent fills", () => {
    // plain checks first (one expect per flow and field would take seconds), then one assertion
    const bad = flows.filter(
      (f) =>
        !/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(f.uuid) ||
        !f.time ||
        !["kind-control-plane", "kind-worker", "kind-worker2"].includes(f.nodeName) ||
        f.IP?.ipVersion !== IPVersion.IPv4 ||
        !f.l4?.protocol.case ||
        !f.source?.labels.length ||
        !f.destination?.labels.length ||
        ![1, 4, 5, 129].includes(f.eventType?.type ?? 0) ||
        f.Summary === "" ||
        (f.Type === FlowType.L7) !== (f.eventType?.type === 129) ||
        !/^\d+\.\d+\.\d+\.\d+$/.test(f.IP.source) ||
        !/^\d+\.\d+\.\d+\.\d+$/.test(f.IP.destination),
    );
    expect(bad.slice(0, 3)).toEqual([]);
    const fe = flows.find((f) => app(f, "source") === "frontend")!.source!;
    expect(fe).toMatchObject({ namespace: "shop", clusterName: "default", workloads: [{ name: "frontend", kind: "Deployment" }] });
    expect(fe.labels).toEqual(
      expect.arrayContaining(["k8s:app=frontend", "k8s:io.kubernetes.pod.namespace=shop", "k8s:io.cilium.k8s.policy.cluster=default", "k8s:io.cilium.k8s.policy.serviceaccount=frontend"]),
    );
    expect(fe.ID).toBeGreaterThan(0);
    expect(fe.identity).toBeGreaterThan(255);
  });

  it("contains the shop tiers, CoreDNS, the ingress and reserved identities", () => {
    const pods = new Set(flows.flatMap((f) => [pod(f, "source"), pod(f, "destination")]));
    const count = (prefix: string) => [...pods].filter((p) => p.startsWith(prefix)).length;
    expect(count("frontend-")).toBe(2);
    expect(count("backend-")).toBe(2);
    expect(count("database-0")).toBe(1);
    expect(count("coredns-")).toBe(2);
    expect(count("ingress-nginx-controller-")).toBe(1);
    const identities = new Set(flows.flatMap((f) => [f.source!.identity, f.destination!.identity]));
    for (const reserved of [1, 2, 4, 6, 7]) expect(identities, `identity ${reserved}`).toContain(reserved);
  });

  it("reports TCP connections flag by flag, with replies marked", () => {
    const tcp = flows.filter((f) => f.l4?.protocol.case === "TCP" && f.eventType?.type === 4);
    const summaries = new Set(tcp.map((f) => f.Summary));
    for (const s of ["TCP Flags: SYN", "TCP Flags: SYN, ACK", "TCP Flags: ACK", "TCP Flags: ACK, PSH", "TCP Flags: ACK, FIN"]) expect(summaries).toContain(s);
    const synAck = tcp.filter((f) => f.Summary === "TCP Flags: SYN, ACK");
    expect(synAck.every((f) => f.isReply === true && f.reply)).toBe(true);
    const syn = tcp.filter((f) => f.Summary === "TCP Flags: SYN");
    expect(syn.every((f) => f.isReply === false)).toBe(true);
    expect(new Set(tcp.map((f) => f.traceObservationPoint)).size).toBeGreaterThanOrEqual(3);
  });

  it("round-trips every flow through the wire format", { timeout: 60_000 }, () => {
    const broken: number[] = [];
    responses.forEach((r, i) => {
      const bytes = toBinary(GetFlowsResponseSchema, r);
      const back = fromBinary(GetFlowsResponseSchema, bytes);
      // protobuf-es writes fields in a fixed order: equal bytes after decode + encode = nothing lost
      if (!Buffer.from(toBinary(GetFlowsResponseSchema, back)).equals(bytes)) broken.push(i);
      if (i % 500 === 0 && !equals(GetFlowsResponseSchema, back, r)) broken.push(i);
    });
    expect(broken).toEqual([]);
  });

  it("is reproducible with a seed", { timeout: 30_000 }, () => {
    const again = new DemoTraffic({ startMs: START, seed: 42, rate: RATE, policyPeriodMs: PERIOD, firstPolicyChangeMs: START + PERIOD }).advance(START + 20_000);
    const n = again.flows.length;
    expect(n).toBeGreaterThan(100);
    const wire = (list: GetFlowsResponse[]) => Buffer.concat(list.map((r) => toBinary(GetFlowsResponseSchema, r)));
    expect(wire(again.flows).equals(wire(responses.slice(0, n)))).toBe(true);
  });
});

describe("demo traffic: policies", () => {
  it("drops what no rule allows with POLICY_DENIED, naming the selecting policy only sometimes", () => {
    const denied = flows.filter((f) => isDrop(f, DropReason.POLICY_DENIED));
    expect(denied.length).toBeGreaterThan(20);
    expect(denied.every((f) => f.eventType?.subType === 133 && f.dropReason === 133)).toBe(true);
    const named = denied.filter((f) => [...f.ingressDeniedBy, ...f.egressDeniedBy].length > 0);
    expect(named.length).toBeGreaterThan(0);
    expect(named.length).toBeLessThan(denied.length);
    const names = new Set(named.flatMap((f) => [...f.ingressDeniedBy, ...f.egressDeniedBy].map((p) => `${p.namespace}/${p.name}`)));
    expect(names).toContain("shop/default-deny");
    // the course's examples: frontend → database, Prometheus → backend:9090, backend → the world
    const frontendToDb = denied.filter((f) => app(f, "source") === "frontend" && app(f, "destination") === "database");
    expect(frontendToDb.length).toBeGreaterThan(0);
    expect(frontendToDb.every((f) => f.trafficDirection === 1 && f.nodeName === "kind-worker")).toBe(true);
    const port = (f: Flow) => (f.l4?.protocol.case === "TCP" ? f.l4.protocol.value.destinationPort : 0);
    expect(denied.some((f) => pod(f, "source") === "prometheus-k8s-0" && port(f) === 9090)).toBe(true);
    expect(denied.some((f) => f.destinationNames.includes("pypi.org") && f.egressDeniedBy.every((p) => p.kind !== ""))).toBe(true);
  });

  it("drops explicitly denied egress with POLICY_DENY and the deny rule", () => {
    const deny = flows.filter((f) => isDrop(f, DropReason.POLICY_DENY));
    expect(deny.length).toBeGreaterThan(0);
    for (const f of deny) {
      expect(f.egressDeniedBy).toHaveLength(1);
      expect(f.egressDeniedBy[0]).toMatchObject({ name: "deny-external-egress", namespace: "shop", kind: "CiliumNetworkPolicy" });
      expect(f.egressDeniedBy[0].labels).toContain("k8s:io.cilium.k8s.policy.derived-from=CiliumNetworkPolicy");
      expect(f.destinationNames).toEqual(["www.google-analytics.com"]);
    }
  });

  it("has other drop reasons too, including one this project does not know (250)", () => {
    const reasons = new Set(flows.filter((f) => f.verdict === Verdict.DROPPED).map((f) => f.dropReasonDesc as number));
    expect(reasons).toContain(DropReason.CT_MAP_INSERTION_FAILED);
    expect(reasons).toContain(DropReason.STALE_OR_UNROUTABLE_IP);
    expect(reasons).toContain(250);
    const unknown = responses.find((r) => r.responseTypes.case === "flow" && (r.responseTypes.value.dropReasonDesc as number) === 250)!;
    const back = fromBinary(GetFlowsResponseSchema, toBinary(GetFlowsResponseSchema, unknown));
    expect(back.responseTypes.case === "flow" && back.responseTypes.value.dropReasonDesc).toBe(250);
  });

  it("puts the allowing policy on forwarded policy verdicts", () => {
    const verdicts = flows.filter((f) => f.eventType?.type === 5 && f.verdict !== Verdict.DROPPED);
    expect(verdicts.length).toBeGreaterThan(0);
    expect(verdicts.every((f) => f.ingressAllowedBy.length + f.egressAllowedBy.length === 1)).toBe(true);
    const names = new Set(verdicts.flatMap((f) => [...f.ingressAllowedBy, ...f.egressAllowedBy].map((p) => p.name)));
    for (const n of ["allow-dns-egress", "frontend-to-backend", "backend-to-db", "allow-stripe-egress", "frontend-from-ingress"]) expect(names).toContain(n);
    // L7 rules redirect to the proxy
    expect(verdicts.some((f) => f.verdict === Verdict.REDIRECTED && f.ingressAllowedBy[0]?.name === "frontend-to-backend")).toBe(true);
  });

  it("changes a policy every period: backend → database is dropped while backend-to-db is gone, and the revision moves on", () => {
    const toDb = flows.filter((f) => app(f, "source") === "backend" && app(f, "destination") === "database" && f.Type === FlowType.L3_L4);
    const phase = (from: number, to: number) => toDb.filter((f) => ms(f) >= from && ms(f) < to);
    // the database's ingress verdicts (the backend's egress is allowed by allow-shop-egress throughout)
    const allowedIn = (list: Flow[]) =>
      list.filter((f) => f.eventType?.type === 5 && f.verdict === Verdict.FORWARDED && f.trafficDirection === 1);
    const droppedIn = (list: Flow[]) => list.filter((f) => isDrop(f, DropReason.POLICY_DENIED));

    const before = phase(START, START + PERIOD);
    const removed = phase(START + PERIOD + 5_000, START + 2 * PERIOD);
    const restored = phase(START + 2 * PERIOD, START + 3 * PERIOD);
    expect(allowedIn(before).length).toBeGreaterThan(0);
    expect(droppedIn(before)).toHaveLength(0);
    expect(droppedIn(removed).length).toBeGreaterThan(5);
    expect(allowedIn(removed)).toHaveLength(0);
    expect(allowedIn(restored).length).toBeGreaterThan(0);

    const rev = (list: Flow[]) => new Set(list.map((f) => f.ingressAllowedBy[0]?.revision));
    const r0 = [...rev(allowedIn(before))];
    const r2 = [...rev(allowedIn(restored))];
    expect(r0).toHaveLength(1);
    expect(r2).toEqual([r0[0]! + 2n]);
    expect(allowedIn(before)[0].ingressAllowedBy[0]).toMatchObject({ name: "backend-to-db", kind: "NetworkPolicy", namespace: "shop" });

    // the agents announce each change with its revision
    const policyEvents = agentEvents.filter((e) => e.agentEvent?.type === AgentEventType.POLICY_UPDATED || e.agentEvent?.type === AgentEventType.POLICY_DELETED);
    const revisionOf = (e: GetAgentEventsResponse) => (e.agentEvent?.notification.case === "policyUpdate" ? e.agentEvent.notification.value.revision : -1n);
    const deleted = policyEvents.filter((e) => e.agentEvent?.type === AgentEventType.POLICY_DELETED && revisionOf(e) === r0[0]! + 1n);
    expect(deleted.map((e) => e.nodeName).sort()).toEqual(["kind-control-plane", "kind-worker", "kind-worker2"]);
    expect(policyEvents.some((e) => e.agentEvent?.type === AgentEventType.POLICY_UPDATED && revisionOf(e) === r0[0]! + 2n)).toBe(true);
    // the third change lets Prometheus scrape the backend
    const scrapes = flows.filter((f) => pod(f, "source") === "prometheus-k8s-0" && f.eventType?.type === 5 && ms(f) >= START + 3 * PERIOD);
    expect(scrapes.some((f) => f.verdict === Verdict.FORWARDED && f.ingressAllowedBy[0]?.name === "allow-metrics-scrape")).toBe(true);
  });
});

describe("demo traffic: L7", () => {
  it("pairs HTTP requests and responses frontend → backend, with latency and some 5xx", () => {
    const l7 = flows.filter((f) => http(f));
    const requests = l7.filter((f) => f.l7!.type === 1);
    const responsesL7 = l7.filter((f) => f.l7!.type === 2);
    expect(requests.length).toBeGreaterThan(100);
    const requestIds = new Set(requests.map((f) => http(f)!.headers.find((h) => h.key === "X-Request-Id")!.value));
    for (const r of responsesL7) {
      expect(requestIds).toContain(http(r)!.headers.find((h) => h.key === "X-Request-Id")!.value);
      expect(r.l7!.latencyNs > 0n).toBe(true);
      expect(r.isReply).toBe(true);
      expect(r.Summary).toMatch(/^HTTP\/1\.1 \d{3} \d+ms \((GET|POST) http:\/\/backend:8080\/.+\)$/);
    }
    expect(new Set(requests.map((f) => new URL(http(f)!.url).pathname.replace(/\d+$/, "")))).toEqual(
      new Set(["/api/products", "/api/products/", "/api/cart", "/healthz"]),
    );
    expect(requests.every((f) => app(f, "source") === "frontend" && app(f, "destination") === "backend" && http(f)!.protocol === "HTTP/1.1")).toBe(true);
    // outside the phase where the database is unreachable, 5xx stay a small share
    const normal = responsesL7.filter((f) => ms(f) < START + PERIOD || ms(f) >= START + 2 * PERIOD + 3_000);
    const share = normal.filter((f) => http(f)!.code >= 500).length / normal.length;
    expect(share).toBeGreaterThan(0.01);
    expect(share).toBeLessThan(0.08);
    expect(new Set(normal.map((f) => http(f)!.code))).toEqual(new Set([200, 201, 500, 503]));
  });

  it("resolves in-cluster names on the first try", () => {
    const asked = flows.filter((f) => dns(f) && f.l7!.type === 1 && app(f, "source") === "frontend").map((f) => dns(f)!.query);
    expect(asked).toContain("backend.shop.svc.cluster.local.");
    expect(asked).not.toContain("backend.svc.cluster.local.");
    const answers = flows.filter((f) => f.l7?.type === 2 && dns(f)?.query === "backend.shop.svc.cluster.local." && dns(f)!.qtypes[0] === "A");
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.every((f) => dns(f)!.rcode === 0 && dns(f)!.ips[0] === "10.96.142.17" && dns(f)!.observationSource === "proxy")).toBe(true);
  });

  it("walks the ndots:5 search path for external names: three NXDOMAINs, then the answer", () => {
    const burstOrder = ["api.stripe.com.shop.svc.cluster.local.", "api.stripe.com.svc.cluster.local.", "api.stripe.com.cluster.local.", "api.stripe.com."];
    const byPod = new Map<string, Flow[]>();
    for (const f of flows) {
      const d = dns(f);
      if (!d || !d.query.startsWith("api.stripe.com.") || d.qtypes[0] !== "A") continue;
      const client = f.l7!.type === 1 ? pod(f, "source") : pod(f, "destination");
      byPod.set(client, [...(byPod.get(client) ?? []), f]);
    }
    let bursts = 0;
    for (const list of byPod.values()) {
      const requests = list.filter((f) => f.l7!.type === 1);
      // a pod may run lookups concurrently, so follow each burst by time rather than by position
      for (const start of requests.filter((f) => dns(f)!.query === burstOrder[0] && ms(f) < START + DURATION - 10_000)) {
        let at = ms(start);
        for (const next of burstOrder.slice(1)) {
          const step = requests.find((f) => dns(f)!.query === next && ms(f) >= at);
          expect(step, `${next} after ${burstOrder[0]} at ${ms(start)}`).toBeDefined();
          at = ms(step!);
        }
        bursts++;
      }
      for (const f of list.filter((x) => x.l7!.type === 2)) {
        const d = dns(f)!;
        if (d.query === "api.stripe.com.") {
          if (d.rcode === 0) expect(d.ips.length).toBeGreaterThan(0);
        } else {
          expect(d.rcode).toBe(3);
          expect(f.Summary).toContain("RCode: Non-Existent Domain");
        }
      }
    }
    expect(bursts).toBeGreaterThan(3);
    const latencies = flows.filter((f) => dns(f) && f.l7!.type === 2).map((f) => Number(f.l7!.latencyNs) / 1e6);
    expect(latencies.every((l) => l >= 1)).toBe(true);
    expect(latencies.filter((l) => l <= 30).length / latencies.length).toBeGreaterThan(0.9);
    expect(latencies.some((l) => l >= 200)).toBe(true);
  });

  it("refuses the corp zone and sometimes gets no answer", () => {
    expect(flows.some((f) => dns(f)?.rcode === 5 && dns(f)!.query === "legacy-billing.corp.internal.")).toBe(true);
    const requests = flows.filter((f) => dns(f) && f.l7!.type === 1).length;
    const answers = flows.filter((f) => dns(f) && f.l7!.type === 2).length;
    expect(requests).toBeGreaterThan(answers);
  });

  it("lets the backend reach api.stripe.com through toFQDNs, named in destination_names", () => {
    const stripe = flows.filter((f) => f.destinationNames.includes("api.stripe.com"));
    expect(stripe.length).toBeGreaterThan(0);
    expect(stripe.every((f) => app(f, "source") === "backend" && f.verdict !== Verdict.DROPPED)).toBe(true);
    expect(stripe.every((f) => f.destination!.labels.includes("reserved:world") && f.IP!.destination.startsWith("54.187."))).toBe(true);
    const verdict = stripe.find((f) => f.eventType?.type === 5)!;
    expect(verdict.egressAllowedBy[0]).toMatchObject({ name: "allow-stripe-egress", kind: "CiliumNetworkPolicy" });
    expect(flows.some((f) => f.sourceNames.includes("api.stripe.com") && f.isReply)).toBe(true);
  });
});
