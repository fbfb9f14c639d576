import { describe, expect, it } from "vitest";
import { parseDnsSearch, resolveRange, serializeDnsSearch, dnsApiQuery, zoomTo, isZoomed } from "@/app/(dashboard)/dns/search-params";
import { parseDnsQuery } from "@/server/domain/dns/dns-params";
import { groupLookups, groupQueries } from "@/server/domain/dns/dns-search-path";
import { latencyByServer, percentile, statusSeries, topFailingNames } from "@/server/domain/dns/dns-summary";
import { buildTimeline, markBudget, MAX_MARKS, OTHER_LANE } from "@/server/domain/dns/dns-timeline";
import type { DnsPeer, DnsQuery, DnsStatus } from "@/server/domain/dns/dns-types";

const coredns: DnsPeer = { ip: "10.244.0.5", namespace: "kube-system", pod: "coredns-1", workload: "kube-system/coredns" };
const peer = (w: string): DnsPeer => ({ ip: `10.0.0.${w.length}`, namespace: w.split("/")[0], pod: `${w.split("/")[1]}-x`, workload: w });

let n = 0;
function q(tMs: number, query: string, status: DnsStatus, o: Partial<DnsQuery> = {}): DnsQuery {
  const id = `q${++n}`;
  return {
    id,
    requestKey: id,
    responseKey: `r${n}`,
    tMs,
    endMs: tMs + 2,
    latencyMs: 2,
    query,
    qtypes: ["A"],
    rcode: 0,
    rcodeName: "NOERROR",
    status,
    client: peer("shop/backend"),
    server: coredns,
    clientPort: 1,
    node: "n",
    retried: false,
    attempt: 0,
    matched: true,
    ...o,
  };
}

describe("timeline: marks while they fit, buckets beyond", () => {
  const walk = [
    q(1000, "api.stripe.com.shop.svc.cluster.local.", "NXDOMAIN"),
    q(1002, "api.stripe.com.svc.cluster.local.", "NXDOMAIN"),
    q(1004, "api.stripe.com.cluster.local.", "NXDOMAIN"),
    q(1006, "api.stripe.com.", "NOERROR", { latencyMs: 20 }),
    q(3000, "backend.shop.svc.cluster.local.", "NOERROR", { client: peer("shop/frontend") }),
  ];

  it("returns every query as a mark, with search-path bursts, when they fit the width", () => {
    const t = buildTimeline(walk, groupQueries(walk), { startMs: 0, endMs: 10_000, width: 800, laneBy: "workload" });
    expect(t.mode).toBe("marks");
    if (t.mode !== "marks") return;
    expect(t.lanes.map((l) => [l.name, l.queries, l.failures])).toEqual([
      ["shop/backend", 4, 3],
      ["shop/frontend", 1, 0],
    ]);
    expect(t.marks).toHaveLength(5);
    expect(t.bursts).toEqual([expect.objectContaining({ name: "api.stripe.com", wasted: 3, lane: 0, t0: 1000, queries: 4 })]);
  });

  it("puts a burst in the lane of the name asked when lanes are names", () => {
    const t = buildTimeline(walk, groupQueries(walk), { startMs: 0, endMs: 10_000, width: 800, laneBy: "name" });
    expect(t.lanes.map((l) => l.name)).toEqual(["api.stripe.com", "backend"]);
  });

  it("aggregates into per-lane cells when the range holds more queries than the budget", () => {
    const many: DnsQuery[] = [];
    for (let i = 0; i < 500; i++) many.push(q(i * 20, i % 5 === 0 ? "x.shop.svc.cluster.local." : "y.", i % 5 === 0 ? "NXDOMAIN" : "NOERROR", { latencyMs: i }));
    const t = buildTimeline(many, groupQueries(many), { startMs: 0, endMs: 10_000, width: 200, laneBy: "workload" });
    expect(markBudget(200)).toBe(400);
    expect(t.mode).toBe("buckets");
    if (t.mode !== "buckets") return;
    expect(t.cells).toHaveLength(50); // 200 px / 4 px per cell, one lane
    expect(t.bucketMs).toBe(200);
    expect(t.cells.reduce((s, c) => s + c.n, 0)).toBe(500);
    expect(t.cells.reduce((s, c) => s + (c.counts.NXDOMAIN ?? 0), 0)).toBe(100);
    expect(t.cells[49].maxMs).toBe(499);
    expect(markBudget(100_000)).toBe(MAX_MARKS);
  });

  it("folds lanes beyond the limit into one", () => {
    const qs = Array.from({ length: 30 }, (_, i) => q(i, "a.", "NOERROR", { client: peer(`ns/w${i}`) }));
    const t = buildTimeline(qs, groupQueries(qs), { startMs: 0, endMs: 100, width: 1000, laneBy: "workload", maxLanes: 5 });
    expect(t.lanes).toHaveLength(6);
    expect(t.lanes[5]).toMatchObject({ name: OTHER_LANE, queries: 25 });
    if (t.mode === "marks") expect(t.marks.filter((m) => m.lane === 5)).toHaveLength(25);
  });
});

describe("summary numbers", () => {
  it("computes nearest-rank percentiles per server", () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
    expect(percentile([], 50)).toBeNull();
    const other: DnsPeer = { ...coredns, pod: "coredns-2", ip: "10.244.0.6" };
    const qs = [
      ...Array.from({ length: 100 }, (_, i) => q(i, "a.", "NOERROR", { latencyMs: i + 1 })),
      q(200, "b.", "UNANSWERED", { latencyMs: null, server: other }),
      q(201, "b.", "NOERROR", { latencyMs: 900, server: other }),
    ];
    const [slow, fast] = [latencyByServer(qs).find((s) => s.server.endsWith("coredns-2"))!, latencyByServer(qs)[0]];
    expect(fast).toMatchObject({ server: "kube-system/coredns-1", queries: 100, p50: 50, p95: 95, p99: 99, max: 100 });
    expect(slow).toMatchObject({ queries: 2, answered: 1, failures: 1, p50: 900 });
  });

  it("counts statuses per bucket and names the failing names with what they expand", () => {
    const qs = [
      q(0, "api.stripe.com.shop.svc.cluster.local.", "NXDOMAIN"),
      q(1, "api.stripe.com.", "NOERROR"),
      q(5000, "pypi.org.", "SERVFAIL"),
      q(5001, "pypi.org.", "SERVFAIL"),
    ];
    const s = statusSeries(qs, 0, 10_000, 2);
    expect(s.buckets.map((b) => [b.t, b.counts.NXDOMAIN, b.counts.NOERROR, b.counts.SERVFAIL])).toEqual([
      [0, 1, 1, 0],
      [5000, 0, 0, 2],
    ]);
    expect(topFailingNames(qs, groupLookups(qs)).map((f) => [f.name, f.count, f.expansionOf])).toEqual([
      ["pypi.org.", 2, null],
      ["api.stripe.com.shop.svc.cluster.local.", 1, "api.stripe.com"],
    ]);
  });
});

describe("/api/dns parameters", () => {
  const now = new Date("2026-11-23T18:00:00Z");
  it("takes every /api/flows filter plus the DNS ones, with a 15 minute default range", () => {
    const r = parseDnsQuery(new URLSearchParams("namespace=shop&status=nxdomain,REFUSED&workload=shop/backend&query=Stripe&timeout=2s&width=600&lane=name"), "list", now);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.query).toMatchObject({
      filter: { namespace: ["shop"] },
      statuses: ["NXDOMAIN", "REFUSED"],
      workloads: ["shop/backend"],
      search: "stripe",
      timeoutMs: 2000,
      width: 600,
      lane: "name",
      limit: 1000,
    });
    expect(r.query.untilNs - r.query.sinceNs).toBe(15n * 60n * 1_000_000_000n);
  });

  it("rejects what the endpoint does not take, naming the parameter", () => {
    const bad = (qs: string, endpoint: "list" | "summary" = "list") => {
      const r = parseDnsQuery(new URLSearchParams(qs), endpoint, now);
      return r.ok ? "ok" : r.parameter;
    };
    expect(bad("buckets=10")).toBe("buckets");
    expect(bad("width=100", "summary")).toBe("width");
    expect(bad("status=LOST")).toBe("status");
    expect(bad("timeout=10ms")).toBe("timeout");
    expect(bad("format=csv")).toBe("format");
    expect(bad("last=5")).toBe("last");
    expect(bad("namespace=Bad_NS")).toBe("namespace");
    expect(bad("since=1h&until=2h")).toBe("since");
    expect(bad("limit=5001")).toBe("limit");
  });
});

describe("/dns page URL", () => {
  it("round-trips the view and keeps hubble filters for the API", () => {
    const s = parseDnsSearch("since=1h&workload=shop%2Fbackend&status=nxdomain&namespace=shop&bogus=1");
    expect(s).toEqual({ since: "1h", status: ["NXDOMAIN"], workload: "shop/backend", filters: { namespace: ["shop"] } });
    expect(parseDnsSearch(serializeDnsSearch(s))).toEqual(s);
    expect(serializeDnsSearch(parseDnsSearch(""))).toBe("");
    const range = resolveRange(s, Date.parse("2026-11-23T18:00:00.750Z"))!;
    expect([range.since, range.until]).toEqual(["2026-11-23T17:00:00.000Z", "2026-11-23T18:00:00.000Z"]);
    expect(dnsApiQuery(s, range, { width: "800" })).toBe(
      "since=2026-11-23T17%3A00%3A00.000Z&until=2026-11-23T18%3A00%3A00.000Z&workload=shop%2Fbackend&status=NXDOMAIN&namespace=shop&width=800",
    );
    const z = zoomTo(s, 1000.4, 2000.2);
    expect([z.since, z.until, isZoomed(z), isZoomed(s)]).toEqual(["1970-01-01T00:00:01.000Z", "1970-01-01T00:00:02.001Z", true, false]);
    expect(resolveRange({ ...s, since: "2026-11-23T19:00:00Z", until: "2026-11-23T18:00:00Z" }, 0)).toBeNull();
  });
});
