/**
 * The map built from per-minute rollups (GraphRepo, what /api/graph answers) equals a graph folded
 * from the raw stored flows one by one (read back through FlowReader, grouped with the same pure
 * rules the live view uses) — on the recorded samples plus shop traffic with drops, replies, HTTP,
 * DNS and cross-namespace/cross-cluster edges. Also: filters and the window select the same flows
 * as on /flows, and the route's parameter errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DropReason } from "@/proto/gen/flow/flow_pb";
import { GraphRepo } from "@/server/db/graph/graph-repo";
import { GraphCatalog } from "@/server/db/graph/graph-catalog";
import { NS_PER_MINUTE } from "@/server/domain/shared/time";
import { ContextCatalog } from "@/server/db/flows/context-catalog";
import type { FlowFilterSpec } from "@/server/domain/flows/flow-filter-spec";
import { graphFromFlows, timeNs } from "@/server/domain/graph/graph-flow";
import { parseGraphParams } from "@/server/domain/graph/graph-params";
import type { GraphResult } from "@/server/domain/graph/graph-types";
import { startRelayServer } from "@/server/demo/relay/relay-server";
import { buildFlow, dnsRequest, dnsResponse, drop, endpoint, httpRequest, httpResponse, responseOf, tcp } from "../fixtures/flow-builder";
import { fromJsonString } from "@bufbuild/protobuf";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { recordedDistinctLines } from "../fixtures/recorded-flows";
import { openTestStore, type TestStore } from "../fixtures/test-db";
import { startPipeline, storedCount, waitFor, type Pipeline } from "../fixtures/test-pipeline";

let store: TestStore;
let pipe: Pipeline;
let repo: GraphRepo;
let stopRelay: () => Promise<void>;
let minNs = 0n;
let maxNs = 0n;
/** the shop traffic's first minute (the recorded samples are from another day) */
const BASE_NS = BigInt(Date.parse("2026-11-23T18:00:00Z")) * 1_000_000n;

beforeAll(async () => {
  store = await openTestStore("postgres");
  const relay = await startRelayServer({ ringSize: 20_000, announceNodes: false });
  stopRelay = () => relay.stop();
  // byte-identical repeats in the samples are one stored flow (dedup key): send each once
  const sent = recordedDistinctLines().map((l) => fromJsonString(GetFlowsResponseSchema, l));
  const base = BigInt(Date.parse("2026-11-23T18:00:00Z")) * 1_000_000n;
  const fe = endpoint({ ns: "shop", app: "frontend" });
  const be = endpoint({ ns: "shop", app: "backend" });
  const db = endpoint({ ns: "shop", app: "database", workloadKind: "StatefulSet" });
  const pay = endpoint({ ns: "payments", app: "api", cluster: "east" });
  for (let i = 0; i < 240; i++) {
    const t = base + BigInt(i) * 1_000_000_000n; // four minutes
    const ip = { source: "10.244.1.10", destination: "10.244.2.20", ipVersion: 1 };
    sent.push(responseOf(httpRequest("GET", `http://backend:8080/api/${i}`, { time: t, source: fe, destination: be, IP: ip })));
    sent.push(responseOf(httpResponse([200, 201, 404, 503, 302][i % 5], "GET", "http://backend:8080/", { time: t + 3_000_000n, source: be, destination: fe, l7: { type: 2, latencyNs: BigInt(1 + (i % 7)) * 1_700_000n, record: { case: "http", value: { code: [200, 201, 404, 503, 302][i % 5], method: "GET", url: "/" } } } })));
    sent.push(responseOf(buildFlow({ time: t + 4_000_000n, source: be, destination: db, l4: tcp(40000 + i, 5432), ingressAllowedBy: [{ name: "db-from-backend", namespace: "shop" }] })));
    if (i % 3 === 0) sent.push(responseOf(drop({ deniedBy: ["shop/default-deny"] }, { time: t + 5_000_000n, source: fe, destination: db, l4: tcp(41000 + i, 5432, { SYN: true }) })));
    if (i % 4 === 0) sent.push(responseOf(drop({ reason: DropReason.CT_MAP_INSERTION_FAILED }, { time: t + 6_000_000n, source: fe, destination: be })));
    if (i % 5 === 0) sent.push(responseOf(buildFlow({ time: t + 7_000_000n, source: be, destination: pay, l4: tcp(42000, 443) })));
    const q = `backend.shop.svc.cluster.local.`;
    sent.push(responseOf(dnsRequest(q, { time: t + 8_000_000n, source: fe })));
    sent.push(responseOf(dnsResponse(q, { rcode: [0, 3, 2][i % 3] }, { time: t + 9_000_000n, destination: fe })));
  }
  relay.publishMany(sent);
  pipe = startPipeline(store.db, relay.address);
  await waitFor(async () => (await storedCount(store.db)) >= sent.length, "all flows stored", 90_000);
  await pipe.ingest.flush(); // rollups are committed about once a second; flush the tail
  const span = await store.db.query<{ lo: string; hi: string }>("SELECT min(ts)::text AS lo, max(ts)::text AS hi FROM flows");
  minNs = BigInt(span[0].lo);
  maxNs = BigInt(span[0].hi);
  repo = new GraphRepo(store.db, new GraphCatalog(new ContextCatalog(pipe.writer.dimensions)));
});

afterAll(async () => {
  await pipe?.stop();
  await stopRelay?.();
  await store?.cleanup();
});

/** every stored flow in [since, until), folded one by one */
async function recount(filter: FlowFilterSpec, sinceNs: bigint, untilNs: bigint, hideNoise: boolean): Promise<GraphResult> {
  const flows: Record<string, unknown>[] = [];
  for await (const page of pipe.reader.all({ filter, sinceNs, untilNs })) for (const i of page) flows.push(i.flow);
  return graphFromFlows(flows, { hideNoise });
}

function comparable(g: GraphResult) {
  return { nodes: g.nodes, edges: g.edges, hidden: g.hidden };
}

describe("graph from rollups", () => {
  it("equals a recount of the raw flows over everything stored, noise shown and hidden, cached or not", async () => {
    const uncached = new GraphRepo(store.db, new GraphCatalog(new ContextCatalog(pipe.writer.dimensions)), { cache: false });
    for (const [r, hideNoise] of [[repo, false], [repo, true], [uncached, false], [repo, false]] as const) {
      const g = await r.graph({ filter: {}, sinceNs: minNs, untilNs: maxNs + 1n, hideNoise });
      const raw = await recount({}, BigInt(g.window.sinceNs), BigInt(g.window.untilNs), hideNoise);
      expect(g.edges.length).toBeGreaterThan(5);
      expect(comparable(g)).toEqual(comparable(raw));
      const total = await storedCount(store.db);
      expect(g.totals.flows + g.hidden.flows).toBe(total);
    }
    // the second whole-range read came from cached blocks/minutes except the unsettled tail
    const before = repo.sqlReads;
    await repo.graph({ filter: {}, sinceNs: minNs, untilNs: maxNs + 1n });
    expect(repo.sqlReads - before).toBe(1);
  });

  it("has the shop path with its states, L7 summary, policies and the cross-cluster edge", async () => {
    const g = await repo.graph({ filter: { namespace: ["shop"] }, sinceNs: minNs, untilNs: maxNs + 1n });
    const e = (from: string, to: string) => g.edges.find((x) => x.source.endsWith(`/${from}`) && x.target.endsWith(`/${to}`));
    expect(e("frontend", "backend")).toMatchObject({ state: "mixed", replies: 240, verdicts: { dropped: 60 } });
    expect(e("frontend", "backend")!.l7.httpStatus).toEqual([0, 96, 48, 48, 48, 0]);
    expect(e("frontend", "backend")!.l7.p95Ms).toBeGreaterThan(e("frontend", "backend")!.l7.p50Ms!);
    expect(e("frontend", "database")).toMatchObject({ state: "dropped", flows: 80, deniedBy: ["shop/default-deny"] });
    expect(e("backend", "database")).toMatchObject({ state: "forwarded", flows: 240, allowedBy: ["shop/db-from-backend"], ports: [{ protocol: "TCP", port: 5432, flows: 240 }] });
    expect(g.nodes.find((n) => n.id === "w:east/payments/api")).toMatchObject({ cluster: "east", namespace: "payments" });
  });

  it("selects what /flows selects for a filter and a minute-aligned window", async () => {
    const since = BASE_NS + NS_PER_MINUTE;
    const until = since + 2n * NS_PER_MINUTE;
    for (const filter of [{ verdict: [2] }, { namespace: ["shop"], verdict: [1] }, { cluster: ["east"] }] as FlowFilterSpec[]) {
      const g = await repo.graph({ filter, sinceNs: since, untilNs: until, hideNoise: false });
      const raw = await recount(filter, since, until, false);
      expect(g.edges.length).toBeGreaterThan(0);
      expect(comparable(g)).toEqual(comparable(raw));
    }
    const tcpOnly = await repo.graph({ filter: {}, l4: [2], sinceNs: minNs, untilNs: maxNs + 1n, hideNoise: false });
    for (const e of tcpOnly.edges) for (const p of e.ports) expect(p.protocol).toBe("UDP");
  });

  it("returns a per-minute series for a focused edge that sums to its flows", async () => {
    const g0 = await repo.graph({ filter: {}, sinceNs: minNs, untilNs: maxNs + 1n });
    const edge = g0.edges.find((x) => x.target.endsWith("/database") && x.source.endsWith("/backend"))!;
    const g = await repo.graph({ filter: {}, sinceNs: BASE_NS, untilNs: BASE_NS + 5n * NS_PER_MINUTE, focus: edge.id });
    expect(g.series!.counts).toEqual([60, 60, 60, 60, 0]);
    expect(g.series!.bucketNs).toBe(String(NS_PER_MINUTE));
    // a long window folds minutes into at most `buckets` buckets
    const day = await repo.graph({ filter: {}, sinceNs: BASE_NS - 86_400n * 1_000_000_000n, untilNs: BASE_NS + 5n * NS_PER_MINUTE, focus: edge.id, buckets: 30 });
    expect(day.series!.counts.length).toBeLessThanOrEqual(30);
    expect(day.series!.counts.reduce((a, b) => a + b, 0)).toBe(240);
    // a namespace (the overview's node): every flow with an end in it, minute by minute
    const shop = await repo.graph({ filter: {}, sinceNs: minNs, untilNs: maxNs + 1n, focus: "ns:default/shop", hideNoise: false });
    const inShop = (id: string) => shop.nodes.find((n) => n.id === id)?.namespace === "shop";
    const expected = shop.edges.filter((e) => inShop(e.source) || inShop(e.target)).reduce((n, e) => n + e.flows, 0);
    expect(shop.series!.counts.reduce((a, b) => a + b, 0)).toBe(expected);
    // what a selection asks for: the same series without the graph
    const alone = await repo.focusSeries({ filter: {}, sinceNs: minNs, untilNs: maxNs + 1n, focus: "ns:default/shop", hideNoise: false });
    expect(alone).toEqual({ window: shop.window, series: shop.series });
  });
});

describe("parameters", () => {
  const now = new Date("2026-11-23T19:00:00Z");
  const p = (q: string) => parseGraphParams(new URLSearchParams(q), now);
  it("defaults to a live 15 minute window with noise hidden", () => {
    const r = p("");
    expect(r.ok && r.params).toMatchObject({ live: true, hideNoise: true });
    expect(r.ok && r.params.untilNs - r.params.sinceNs).toBe(15n * NS_PER_MINUTE);
  });
  it("accepts filters, protocols and absolute ranges", () => {
    const r = p("namespace=shop,payments&verdict=DROPPED&protocol=tcp,icmp&noise=off&since=2026-11-23T18:00:00Z&until=2026-11-23T18:30:00Z");
    expect(r.ok && r.params).toMatchObject({ filter: { namespace: ["shop", "payments"], verdict: [2] }, l4: [1, 3, 4], hideNoise: false, live: false });
  });
  it("refuses per-flow filters, L7 protocols and bad values, naming the parameter", () => {
    expect(p("port=80")).toMatchObject({ ok: false, parameter: "port" });
    expect(p("protocol=http")).toMatchObject({ ok: false, parameter: "protocol" });
    expect(p("window=soon")).toMatchObject({ ok: false, parameter: "window" });
    expect(p("window=5m&since=1h")).toMatchObject({ ok: false, parameter: "window" });
    expect(p("noise=maybe")).toMatchObject({ ok: false, parameter: "noise" });
    expect(p("verdict=NOPE")).toMatchObject({ ok: false, parameter: "verdict" });
    expect(p("since=40d")).toMatchObject({ ok: false, parameter: "since" });
    expect(p("only=series")).toMatchObject({ ok: false, parameter: "only" });
    expect(p("only=nodes&focus=x")).toMatchObject({ ok: false, parameter: "only" });
    expect(p("only=series&focus=ns:default/shop")).toMatchObject({ ok: true, params: { seriesOnly: true, focus: "ns:default/shop" } });
  });
});
