/**
 * GET /api/dns and /api/dns/summary through the route handlers, on real PostgreSQL, with flows that
 * went the whole way (test relay → gRPC → ingest → COPY): builder flows for the cases we control
 * and the recorded Istio bookinfo sample for real search-path expansions.
 */
import { describe, expect, it } from "vitest";
import { IPVersion, type Endpoint, type Flow } from "@/proto/gen/flow/flow_pb";
import { GET as dnsGET } from "@/app/api/dns/route";
import { GET as summaryGET } from "@/app/api/dns/summary/route";
import { DnsRepo, analyzeRange, dnsDetails, dnsRepoFor } from "@/server/db/dns-repo";
import { InputError } from "@/server/db/input-error";
import { parseDnsQuery } from "@/server/domain/dns-params";
import { queryInputError } from "@/server/http/stream-pages";
import { dnsListBody, type DnsListBody, type DnsSummaryBody } from "@/server/domain/dns-response";
import { parseRfc3339Ns } from "@/server/domain/flow-query";
import { call, qs, useApiRuntime } from "../fixtures/api-harness";
import { storeSkipReason, storeUnderTest } from "../fixtures/test-db";
import { dnsRequest, dnsResponse, endpoint, responseOf, udp } from "../fixtures/flow-builder";
import { recordedResponses } from "../fixtures/recorded-flows";

const WINDOW = { since: "2025-08-01T00:00:00Z", until: "2025-08-01T00:10:00Z" };
const SAMPLE = { since: "2021-10-04T11:22:00Z", until: "2021-10-04T11:28:00Z" };
const ns = (t: string) => (parseRfc3339Ns(t) as { ok: true; value: bigint }).value;
const at = (ms: number) => ns(WINDOW.since) + BigInt(Math.round(ms * 1e6));

const backend = () => endpoint({ ns: "shop", app: "backend", pod: "backend-7d9f8-abcde" });
const frontend = () => endpoint({ ns: "shop", app: "frontend", pod: "frontend-5c6d7-fghij" });
const IPS = { backend: "10.244.1.21", frontend: "10.244.2.31", dns: "10.96.0.10" };

let port = 40000;
/** request + response of one query from a client, `ms` after the window start, answered after `latency` ms */
function exchange(
  client: { ep: () => Endpoint; ip: string },
  query: string,
  ms: number,
  answer: { rcode?: number; ips?: string[]; latency?: number; qtype?: string; noResponse?: boolean; samePort?: number },
): Flow[] {
  const p = answer.samePort ?? port++;
  const qtypes = [answer.qtype ?? "A"];
  const req = dnsRequest(query, {
    time: at(ms),
    source: client.ep(),
    IP: { source: client.ip, destination: IPS.dns, ipVersion: IPVersion.IPv4 },
    l4: udp(p, 53),
  });
  if (req.l7?.record.case === "dns") req.l7.record.value.qtypes = qtypes;
  if (answer.noResponse) return [req];
  const latency = answer.latency ?? 2;
  const resp = dnsResponse(query, { rcode: answer.rcode ?? 0, ips: answer.ips ?? [] }, {
    time: at(ms + latency),
    destination: client.ep(),
    IP: { source: IPS.dns, destination: client.ip, ipVersion: IPVersion.IPv4 },
    l4: udp(53, p),
  });
  if (resp.l7?.record.case === "dns") resp.l7.record.value.qtypes = qtypes;
  resp.l7!.latencyNs = BigInt(Math.round(latency * 1e6));
  return [req, resp];
}

const BE = { ep: backend, ip: IPS.backend };
const FE = { ep: frontend, ip: IPS.frontend };

function builderFlows(): Flow[] {
  const f: Flow[] = [];
  // frontend → backend: first search domain answers
  f.push(...exchange(FE, "backend.shop.svc.cluster.local.", 1000, { ips: ["10.96.142.17"] }));
  // backend → api.stripe.com: ndots:5 walk, A and AAAA on each candidate
  let t = 2000;
  for (const c of ["api.stripe.com.shop.svc.cluster.local.", "api.stripe.com.svc.cluster.local.", "api.stripe.com.cluster.local."]) {
    f.push(...exchange(BE, c, t, { rcode: 3, latency: 1 }), ...exchange(BE, c, t + 0.05, { rcode: 3, latency: 1, qtype: "AAAA" }));
    t += 1.5;
  }
  f.push(...exchange(BE, "api.stripe.com.", t, { ips: ["54.187.174.169"], latency: 12 }));
  f.push(...exchange(BE, "api.stripe.com.", t + 0.05, { latency: 12, qtype: "AAAA" }));
  // a refused zone after the search path
  t = 60_000;
  for (const c of ["legacy-billing.corp.internal.shop.svc.cluster.local.", "legacy-billing.corp.internal.svc.cluster.local.", "legacy-billing.corp.internal.cluster.local."]) {
    f.push(...exchange(BE, c, t, { rcode: 3, latency: 1 }));
    t += 1.5;
  }
  f.push(...exchange(BE, "legacy-billing.corp.internal.", t, { rcode: 5, latency: 1 }));
  // a lost query re-sent after 5 s on the same socket, and a request that never got an answer
  f.push(...exchange(BE, "database.shop.svc.cluster.local.", 120_000, { noResponse: true, samePort: 50001 }));
  f.push(...exchange(BE, "database.shop.svc.cluster.local.", 125_000, { ips: ["10.96.88.5"], latency: 3, samePort: 50001 }));
  f.push(...exchange(FE, "gone.shop.svc.cluster.local.", 180_000, { noResponse: true }));
  // upstream trouble and an rcode no one named
  f.push(...exchange(BE, "pypi.org.", 240_000, { rcode: 2, latency: 900 }));
  f.push(...exchange(BE, "weird.example.", 300_000, { rcode: 23, latency: 4 }));
  return f;
}

async function json<T>(handler: (r: Request) => Promise<Response>, params: Record<string, string | string[]>): Promise<T> {
  const res = await call(handler, `/api/dns?${qs(params)}`);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body as T;
}

const KIND = storeUnderTest("postgres");
const SKIP = storeSkipReason(KIND);

describe.skipIf(SKIP !== null)(`DNS API on ${KIND}${SKIP ? ` — skipped: ${SKIP}` : ""}`, () => {
  const env = useApiRuntime(KIND, ({ publish }) => {
    publish(...builderFlows().map(responseOf));
    for (const r of recordedResponses("basic-sample-330-dns-flows.json")) publish(r);
  });

  it("pairs requests and responses with their latency, status and answer", async () => {
    const body = await json<DnsListBody>(dnsGET, { ...WINDOW });
    const stripe = body.queries.find((q) => q.query === "api.stripe.com." && q.qtypes[0] === "A")!;
    expect(stripe.status).toBe("NOERROR");
    expect(stripe.latencyMs).toBeCloseTo(12, 3);
    expect(stripe.answer?.ips).toEqual(["54.187.174.169"]);
    expect(stripe.client.workload).toBe("shop/backend");
    expect(stripe.lookup?.name).toBe("api.stripe.com");
    expect(stripe.lookup?.wasted).toBe(6);

    const byStatus = (s: string) => body.queries.filter((q) => q.status === s).length;
    expect(byStatus("NXDOMAIN")).toBe(9);
    expect(byStatus("REFUSED")).toBe(1);
    expect(byStatus("SERVFAIL")).toBe(1);
    expect(byStatus("UNANSWERED")).toBe(2);
    const weird = body.queries.find((q) => q.query === "weird.example.")!;
    expect([weird.status, weird.rcode, weird.rcodeName]).toEqual(["OTHER", 23, "23"]);
    // the lost first send is unanswered and marked as re-sent; the re-send got the answer
    const db = body.queries.filter((q) => q.query.startsWith("database."));
    expect(db.map((q) => [q.status, q.retried, q.attempt])).toEqual([
      ["NOERROR", false, 1],
      ["UNANSWERED", true, 0],
    ]);
    expect(body.total).toBe(body.queries.length);
    expect(body.timeline.mode).toBe("marks");
  });

  it("applies the hubble filters, the DNS parameters and the time range", async () => {
    const fromFrontend = await json<DnsListBody>(dnsGET, { ...WINDOW, "from-pod": "shop/frontend" });
    expect(new Set(fromFrontend.queries.map((q) => q.client.workload))).toEqual(new Set(["shop/frontend"]));
    expect(fromFrontend.queries.map((q) => q.query).sort()).toEqual(["backend.shop.svc.cluster.local.", "gone.shop.svc.cluster.local."]);
    // the response side matches too: queries made by backend answered to it
    const toBackend = await json<DnsListBody>(dnsGET, { ...WINDOW, "to-pod": "shop/backend" });
    expect(toBackend.queries.every((q) => q.client.workload === "shop/backend")).toBe(true);
    expect(toBackend.queries.length).toBeGreaterThan(10);

    const nx = await json<DnsListBody>(dnsGET, { ...WINDOW, status: "nxdomain,refused", workload: "shop/backend" });
    expect(nx.total).toBe(10);
    const search = await json<DnsListBody>(dnsGET, { ...WINDOW, query: "STRIPE" });
    expect(search.total).toBe(8);
    const early = await json<DnsListBody>(dnsGET, { since: WINDOW.since, until: "2025-08-01T00:00:30Z" });
    expect(early.total).toBe(1 + 8);
    const limited = await json<DnsListBody>(dnsGET, { ...WINDOW, limit: "3", width: "50" });
    expect(limited.timeline.mode).toBe("marks"); // 19 queries ≤ 100 marks
    const nxOnly = await json<DnsListBody>(dnsGET, { ...WINDOW, limit: "3", width: "50", status: "NXDOMAIN" });
    expect(nxOnly.total).toBe(9);
  });

  it("aggregates into buckets when the range holds more queries than the timeline has pixels", async () => {
    const body = await json<DnsListBody>(dnsGET, { ...SAMPLE, width: "50", limit: "10" });
    expect(body.total).toBe(165);
    expect(body.timeline.mode).toBe("buckets");
    expect(body.queries).toHaveLength(10);
    expect(body.truncated).toBe(true);
    if (body.timeline.mode !== "buckets") return;
    expect(body.timeline.cells.reduce((s, c) => s + c.n, 0)).toBe(165);
    expect(body.timeline.cells.reduce((s, c) => s + (c.counts.NXDOMAIN ?? 0), 0)).toBe(102);
    expect(body.timeline.cells.reduce((s, c) => s + c.wasted, 0)).toBe(102);
  });

  it("summarises the recorded bookinfo sample: NXDOMAIN expansions and the fix per workload", async () => {
    const s = await json<DnsSummaryBody>(summaryGET, { ...SAMPLE });
    expect(s.totals.queries).toBe(165);
    expect(s.totals.byStatus.NXDOMAIN).toBe(102);
    expect(s.totals.wasted).toBe(102);
    expect(s.servers.map((x) => x.server).sort()).toEqual(["kube-system/kube-dns-b4f5c58c7-7qmtw", "kube-system/kube-dns-b4f5c58c7-vnx5s"]);
    for (const srv of s.servers) expect(srv.p50! <= srv.p95! && srv.p95! <= srv.p99!).toBe(true);
    const f = s.findings.find((x) => x.workload === "kube-system/node-local-dns")!;
    expect(f.searchNamespaces).toEqual(["bookinfo", "istio-system", "kube-system"]);
    expect(f.wasted).toBe(102);
    expect(f.names.find((n) => n.name === "zipkin.istio-system")?.write).toBe("zipkin.istio-system.svc.cluster.local.");
    expect(f.fix.trailingDot).toContain("logging.googleapis.com.");
    expect(s.topFailing[0].expansionOf).not.toBeNull();
    expect(s.series.buckets.reduce((n, b) => n + b.counts.NXDOMAIN, 0)).toBe(102);
  });

  it("recommends ndots:1 for the builder backend, whose in-cluster names have no dots", async () => {
    const s = await json<DnsSummaryBody>(summaryGET, { ...WINDOW, buckets: "10" });
    const f = s.findings.find((x) => x.workload === "shop/backend")!;
    expect(f.fix.ndots).toBe(1);
    expect(f.fix.yaml).toContain('value: "1"');
    expect(f.names.map((n) => [n.name, n.wasted])).toEqual([
      ["api.stripe.com", 6],
      ["legacy-billing.corp.internal", 3],
    ]);
    expect(s.series.buckets).toHaveLength(10);
    expect(s.totals.byStatus.UNANSWERED).toBe(2);
  });

  it("sees flows stored after a first read of the same minutes (the chunk cache re-reads them)", async () => {
    const before = await json<DnsListBody>(dnsGET, { ...WINDOW, query: "late.example" });
    expect(before.total).toBe(0);
    env.publish(...exchange(FE, "late.example.", 301_000, { ips: ["192.0.2.7"] }).map(responseOf));
    await env.settle();
    // the same request: the writer reported the minute, so it is counted and analysed again
    const after = await json<DnsListBody>(dnsGET, { ...WINDOW, query: "late.example" });
    expect(after.queries.map((q) => [q.query, q.status, q.answer?.ips])).toEqual([["late.example.", "NOERROR", ["192.0.2.7"]]]);
  });

  it("reuses one analysis for every view of unchanged data, and equals an analysis from scratch", async () => {
    const repo = dnsRepoFor(env.rt);
    const query = (params: Record<string, string>) => {
      const p = parseDnsQuery(new URLSearchParams(params), "list");
      if (!p.ok) throw new Error(p.error);
      return p.query;
    };
    /** what a repository with no caches and no writer feed answers */
    const fromScratch = async (params: Record<string, string>) => {
      const q = query(params);
      const { analysis, answers } = await analyzeRange(new DnsRepo(env.rt.db, env.rt.writer.dimensions), q);
      return JSON.parse(JSON.stringify(dnsListBody(analysis, q, (k) => dnsDetails(answers.get(k)))));
    };
    const views = [{ ...WINDOW }, { ...WINDOW, workload: "shop/backend", status: "NXDOMAIN" }, { ...WINDOW, "from-pod": "shop/frontend" }, { ...WINDOW, query: "stripe", width: "50" }];
    await json<DnsListBody>(dnsGET, views[0]);
    const built = repo.basesBuilt;
    // SQL counts of the window's minutes (the runtime's background warm-up counts minutes of today)
    const minutes = [ns(WINDOW.since) / 60_000_000_000n - 1n, ns(WINDOW.until) / 60_000_000_000n + 1n] as const;
    const counted = repo.minuteCounts.readsOf(...minutes);
    for (const v of views) expect(await json<DnsListBody>(dnsGET, v)).toEqual(await fromScratch(v));
    await json<DnsSummaryBody>(summaryGET, views[1]);
    expect(repo.basesBuilt).toBe(built);
    expect(repo.minuteCounts.readsOf(...minutes)).toBe(counted);

    // new flows in one minute: that minute alone is counted again, and the analysis is redone once
    env.publish(...exchange(BE, "fresh.shop.svc.cluster.local.", 245_000, { rcode: 3 }).map(responseOf));
    await env.settle();
    for (const v of views) expect(await json<DnsListBody>(dnsGET, v)).toEqual(await fromScratch(v));
    expect(repo.basesBuilt).toBe(built + 1);
    expect(repo.minuteCounts.readsOf(...minutes)).toBe(counted + 1);
    expect((await json<DnsListBody>(dnsGET, { ...WINDOW, query: "fresh.shop" })).queries.map((q) => q.status)).toEqual(["NXDOMAIN"]);
  });

  it("turns a pending request unanswered once its timeout has passed, without new data", async () => {
    const repo = dnsRepoFor(env.rt);
    const p = parseDnsQuery(new URLSearchParams({ ...WINDOW, query: "gone.shop" }), "list");
    if (!p.ok) throw new Error(p.error);
    const sent = Number(at(180_000) / 1_000_000n);
    const status = async (nowMs: number) => (await analyzeRange(repo, p.query, nowMs)).analysis.queries.map((q) => q.status);
    expect(await status(sent + 1000)).toEqual(["PENDING"]);
    const built = repo.basesBuilt;
    expect(await status(sent + 4000)).toEqual(["PENDING"]);
    expect(repo.basesBuilt).toBe(built);
    expect(await status(sent + 6000)).toEqual(["UNANSWERED"]);
    expect(repo.basesBuilt).toBe(built + 1);
  });

  it("refuses a range with more DNS flows than one analysis may hold, saying how many and what to do", async () => {
    const p = parseDnsQuery(new URLSearchParams({ ...WINDOW }), "list");
    if (!p.ok) throw new Error(p.error);
    const small = new DnsRepo(env.rt.db, env.rt.writer.dimensions, undefined, 25);
    const err = await analyzeRange(small, p.query).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).parameter).toBe("since");
    expect((err as InputError).message).toMatch(/the range holds \d+ DNS requests and responses; the DNS view pairs at most 25 at once — choose a shorter range/);
    const res = queryInputError(err)!;
    expect(res.status).toBe(400);
    // it says which newest part of the range would be answered, and that part is
    const { fitsSince } = (await res.json()) as { fitsSince: string };
    expect(Date.parse(fitsSince)).toBeGreaterThan(Date.parse(WINDOW.since));
    const fits = parseDnsQuery(new URLSearchParams({ since: fitsSince, until: WINDOW.until }), "list");
    if (!fits.ok) throw new Error(fits.error);
    await analyzeRange(small, fits.query);
    // and a minute earlier would not be
    const more = parseDnsQuery(new URLSearchParams({ since: new Date(Date.parse(fitsSince) - 60_000).toISOString(), until: WINDOW.until }), "list");
    if (!more.ok) throw new Error(more.error);
    await expect(analyzeRange(small, more.query)).rejects.toBeInstanceOf(InputError);
    // a range inside the cap is answered by the same repository
    const q = parseDnsQuery(new URLSearchParams({ since: WINDOW.since, until: "2025-08-01T00:00:05Z" }), "list");
    if (!q.ok) throw new Error(q.error);
    expect((await analyzeRange(small, q.query)).analysis.queries.length).toBeGreaterThan(0);
  });

  it("answers 400 naming the parameter for bad input", async () => {
    for (const [param, query] of [
      ["status", "status=MAYBE"],
      ["timeout", "timeout=forever"],
      ["width", "width=5"],
      ["lane", "lane=pod"],
      ["verdict", "verdict=NOPE"],
      ["cursor", "cursor=abc"],
      ["bogus", "bogus=1"],
      ["since", "since=2025-08-01T00:10:00Z&until=2025-08-01T00:00:00Z"],
    ]) {
      const res = await call(dnsGET, `/api/dns?${query}`);
      expect(res.status, query).toBe(400);
      expect((await res.json()).parameter).toBe(param);
    }
    const res = await call(summaryGET, `/api/dns/summary?width=100`);
    expect(res.status).toBe(400);
  });
});
