/**
 * The demo's clocks: policy changes (revisions, cycle) and incidents (node outages with their
 * node_status events and missing flows, lost events, upstream DNS SERVFAIL periods).
 */
import { describe, expect, it } from "vitest";
import { LostEventSource } from "@/proto/gen/flow/flow_pb";
import { NodeState } from "@/proto/gen/relay/relay_pb";
import { answer, searchCandidates } from "@/server/demo/demo-dns";
import { DnsTrouble, IncidentSchedule } from "@/server/demo/demo-events";
import { PolicySchedule } from "@/server/demo/demo-policies";
import { DemoRandom } from "@/server/demo/demo-random";
import { DemoTraffic } from "@/server/demo/demo-traffic";
import { timestampToNs } from "@/server/flow-codec/timestamp";

const START = Date.UTC(2026, 0, 12, 9, 0, 0);
const MIN = 60_000;

describe("policy schedule", () => {
  const s = new PolicySchedule({ firstChangeMs: START + 5 * MIN, periodMs: 3 * MIN, baseRevision: 12n });

  it("cycles backend-to-db out and in, then allow-metrics-scrape in and out, one revision per change", () => {
    expect(s.stateAt(START).revision).toBe(12n);
    expect(s.stateAt(START).active.has("backendToDb")).toBe(true);
    expect(s.stateAt(START + 5 * MIN - 1).active.has("backendToDb")).toBe(true);
    expect(s.stateAt(START + 5 * MIN).active.has("backendToDb")).toBe(false);
    expect(s.stateAt(START + 5 * MIN).revision).toBe(13n);
    expect(s.stateAt(START + 8 * MIN).active.has("backendToDb")).toBe(true);
    expect(s.stateAt(START + 11 * MIN).active.has("allowMetricsScrape")).toBe(true);
    expect(s.stateAt(START + 14 * MIN).active.has("allowMetricsScrape")).toBe(false);
    expect(s.stateAt(START + 17 * MIN).active.has("backendToDb")).toBe(false);
    expect(s.stateAt(START + 17 * MIN).revision).toBe(17n);
  });

  it("lists each change once, whatever the slicing of time", () => {
    const whole = s.changesBetween(START, START + 30 * MIN);
    expect(whole.map((c) => c.revision)).toEqual([13n, 14n, 15n, 16n, 17n, 18n, 19n, 20n, 21n]);
    expect(whole[0]).toMatchObject({ atMs: START + 5 * MIN, action: "deleted", policy: { name: "backend-to-db", kind: "NetworkPolicy" } });
    const sliced = [];
    for (let t = START; t < START + 30 * MIN; t += 777) sliced.push(...s.changesBetween(t, Math.min(t + 777, START + 30 * MIN)));
    expect(sliced).toEqual(whole);
    for (const c of whole) expect(s.stateAt(c.atMs).revision).toBe(c.revision);
  });

  it("never changes with period 0", () => {
    const still = new PolicySchedule({ firstChangeMs: START, periodMs: 0 });
    expect(still.changesBetween(START, START + 60 * MIN)).toEqual([]);
    expect(still.stateAt(START + 60 * MIN).active.has("backendToDb")).toBe(true);
  });
});

describe("incidents", () => {
  const inc = new IncidentSchedule(START, 42);
  const events = inc.flowEventsBetween(START, START + 30 * MIN);

  it("announces every node as connected at the start", () => {
    const first = events[0];
    expect(first.responseTypes.case).toBe("nodeStatus");
    expect(first.responseTypes.value).toMatchObject({
      stateChange: NodeState.NODE_CONNECTED,
      nodeNames: ["kind-control-plane", "kind-worker", "kind-worker2"],
    });
  });

  it("takes a node away now and then and brings it back, with its flows missing meanwhile", () => {
    const status = events.filter((e) => e.responseTypes.case === "nodeStatus").slice(1);
    const down = status.find((e) => e.responseTypes.case === "nodeStatus" && e.responseTypes.value.stateChange === NodeState.NODE_UNAVAILABLE)!;
    expect(down).toBeDefined();
    const node = (down.responseTypes.value as { nodeNames: string[] }).nodeNames[0];
    expect((down.responseTypes.value as { message: string }).message).toContain("connection refused");
    const back = status.find(
      (e) =>
        e.responseTypes.case === "nodeStatus" &&
        e.responseTypes.value.stateChange === NodeState.NODE_CONNECTED &&
        e.responseTypes.value.nodeNames[0] === node &&
        timestampToNs(e.time)! > timestampToNs(down.time)!,
    )!;
    const fromMs = Number(timestampToNs(down.time)!) / 1e6;
    const toMs = Number(timestampToNs(back.time)!) / 1e6;
    expect(toMs - fromMs).toBeGreaterThanOrEqual(15_000);
    expect(toMs - fromMs).toBeLessThanOrEqual(40_000);
    expect(inc.nodeDown(node, fromMs + 1)).toBe(true);
    expect(inc.nodeDown(node, toMs)).toBe(false);

    // the traffic honours it
    const traffic = new DemoTraffic({ startMs: START, seed: 42, rate: 30, policyPeriodMs: 0 });
    const flows = traffic.advance(toMs + 20_000).flows.filter((r) => r.responseTypes.case === "flow");
    const at = (r: (typeof flows)[number]) => Number(timestampToNs(r.time)!) / 1e6;
    expect(flows.filter((r) => r.nodeName === node && at(r) >= fromMs && at(r) < toMs)).toHaveLength(0);
    expect(flows.filter((r) => r.nodeName === node && at(r) >= toMs).length).toBeGreaterThan(0);
    expect(flows.filter((r) => r.nodeName !== node && at(r) >= fromMs && at(r) < toMs).length).toBeGreaterThan(0);
  });

  it("reports lost events from the perf ring and Hubble's ring with counts and a time range", () => {
    const lost = events.flatMap((e) => (e.responseTypes.case === "lostEvents" ? [{ node: e.nodeName, ev: e.responseTypes.value }] : []));
    expect(lost.length).toBeGreaterThanOrEqual(5);
    const sources = new Set(lost.map((l) => l.ev.source));
    expect(sources).toContain(LostEventSource.PERF_EVENT_RING_BUFFER);
    expect(sources).toContain(LostEventSource.HUBBLE_RING_BUFFER);
    for (const { node, ev } of lost) {
      expect(node).toMatch(/^kind-/);
      expect(ev.numEventsLost > 0n).toBe(true);
      expect(timestampToNs(ev.first)! <= timestampToNs(ev.last)!).toBe(true);
      expect(ev.cpu === undefined).toBe(ev.source !== LostEventSource.PERF_EVENT_RING_BUFFER);
    }
  });

  it("has periods where external names answer SERVFAIL, while cluster names keep working", () => {
    let servFailAt: number | undefined;
    for (let t = START; t < START + 30 * MIN && servFailAt === undefined; t += 1000) if (inc.dnsTrouble(t)) servFailAt = t;
    expect(servFailAt).toBeDefined();
    const rand = new DemoRandom(1);
    expect(answer(rand, "api.stripe.com.", "A", DnsTrouble.servFail)).toMatchObject({ rcode: 2, ips: [] });
    expect(answer(rand, "api.stripe.com.", "A", DnsTrouble.servFail).latencyMs).toBeGreaterThanOrEqual(200);
    expect(answer(rand, "backend.shop.svc.cluster.local.", "A", DnsTrouble.servFail)).toMatchObject({ rcode: 0, ips: ["10.96.142.17"] });
  });

  it("plans the same incidents whatever order they are asked in", () => {
    const other = new IncidentSchedule(START, 42);
    other.nodeDown("kind-worker", START + 29 * MIN);
    expect(other.flowEventsBetween(START, START + 30 * MIN)).toEqual(events);
  });
});

describe("search path", () => {
  it("tries the search domains first for names with fewer than 5 dots", () => {
    expect(searchCandidates("api.stripe.com", "shop")).toEqual([
      "api.stripe.com.shop.svc.cluster.local.",
      "api.stripe.com.svc.cluster.local.",
      "api.stripe.com.cluster.local.",
      "api.stripe.com.",
    ]);
    expect(searchCandidates("backend", "shop")[0]).toBe("backend.shop.svc.cluster.local.");
    expect(searchCandidates("a.b.c.d.e.f", "shop")[0]).toBe("a.b.c.d.e.f.");
    expect(searchCandidates("api.stripe.com.", "shop")).toEqual(["api.stripe.com."]);
  });
});
