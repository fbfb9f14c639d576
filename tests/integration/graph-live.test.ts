/**
 * An open map's refreshes: with the writer's rollup feed the newest minutes are kept in memory and
 * new commits are added to them, never re-read — and the graph stays equal to one summed from SQL
 * with every cache off, wave after wave of live flows (new counts, new edges, a new minute).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContextCatalog } from "@/server/db/flows/context-catalog";
import { GraphRepo } from "@/server/db/graph/graph-repo";
import { GraphCatalog } from "@/server/db/graph/graph-catalog";
import { NS_PER_MINUTE } from "@/server/domain/shared/time";
import type { GraphResponse } from "@/server/domain/graph/graph-types";
import { startRelayServer } from "@/server/demo/relay/relay-server";
import { buildFlow, drop, endpoint, httpRequest, httpResponse, responseOf, tcp } from "../fixtures/flow-builder";
import { openTestStore, type TestStore } from "../fixtures/test-db";
import { startPipeline, storedCount, waitFor, type Pipeline } from "../fixtures/test-pipeline";

let store: TestStore;
let pipe: Pipeline;
let relay: Awaited<ReturnType<typeof startRelayServer>>;
let live: GraphRepo;
let sent = 0;
const BASE_NS = BigInt(Date.parse("2026-11-23T21:00:00Z")) * 1_000_000n;
const fe = endpoint({ ns: "shop", app: "frontend" });
const be = endpoint({ ns: "shop", app: "backend" });
const db = endpoint({ ns: "shop", app: "database" });

beforeAll(async () => {
  store = await openTestStore("postgres");
  relay = await startRelayServer({ ringSize: 50_000, announceNodes: false });
  pipe = startPipeline(store.db, relay.address);
  live = new GraphRepo(store.db, new GraphCatalog(new ContextCatalog(pipe.writer.dimensions)), { feed: pipe.writer.rollupFeed });
});

afterAll(async () => {
  await pipe?.stop();
  await relay?.stop();
  await store?.cleanup();
});

/** one wave of shop traffic in minutes [fromMinute, toMinute) after BASE_NS */
async function wave(fromMinute: number, toMinute: number, i0: number, extra: ReturnType<typeof responseOf>[] = [], flush = true): Promise<void> {
  const out = [...extra];
  for (let m = fromMinute; m < toMinute; m++) {
    for (let s = 0; s < 60; s += 3) {
      const t = BASE_NS + BigInt(m) * NS_PER_MINUTE + BigInt(s) * 1_000_000_000n + BigInt(i0);
      out.push(responseOf(httpRequest("GET", "http://backend:8080/api", { time: t, source: fe, destination: be })));
      out.push(responseOf(httpResponse(200, "GET", "http://backend:8080/api", { time: t + 2_000_000n, source: be, destination: fe, l7: { type: 2, latencyNs: 3_000_000n, record: { case: "http", value: { code: 200, method: "GET", url: "/api" } } } })));
      out.push(responseOf(buildFlow({ time: t + 4_000_000n, source: be, destination: db, l4: tcp(40000 + s, 5432) })));
      if (s % 9 === 0) out.push(responseOf(drop({ deniedBy: ["shop/default-deny"] }, { time: t + 5_000_000n, source: fe, destination: db, l4: tcp(41000 + s, 5432) })));
    }
  }
  relay.publishMany(out);
  sent += out.length;
  await waitFor(async () => (await storedCount(store.db)) >= sent, "wave stored", 60_000);
  if (flush) await pipe.ingest.flush();
}

const comparable = (g: GraphResponse) => ({ nodes: g.nodes, edges: g.edges, hidden: g.hidden, totals: g.totals });

async function expectSameAsSql(): Promise<GraphResponse> {
  const q = { filter: {}, sinceNs: BASE_NS, untilNs: BASE_NS + 30n * NS_PER_MINUTE, hideNoise: false };
  const sql = new GraphRepo(store.db, new GraphCatalog(new ContextCatalog(pipe.writer.dimensions)), { cache: false });
  const [a, b] = [await live.graph(q), await sql.graph(q)];
  expect(comparable(a)).toEqual(comparable(b));
  return a;
}

describe("live map over the writer's rollup feed", () => {
  it("adds each commit to the in-memory minutes and stays equal to SQL", async () => {
    await wave(0, 4, 0);
    const g1 = await expectSameAsSql();
    expect(g1.totals.flows).toBe(sent);
    expect(live.recentLoads).toBe(1);
    const reads = live.sqlReads;

    // more flows into the newest minute, a new minute, and an edge that did not exist
    const pay = endpoint({ ns: "payments", app: "api" });
    await wave(3, 5, 1, [responseOf(buildFlow({ time: BASE_NS + 4n * NS_PER_MINUTE + 7_000_000_000n, source: be, destination: pay, l4: tcp(42000, 443) }))]);
    const g2 = await expectSameAsSql();
    expect(g2.totals.flows).toBe(sent);
    expect(g2.edges.some((e) => e.target.endsWith("/payments/api"))).toBe(true);
    await wave(5, 6, 2);
    const g3 = await expectSameAsSql();
    expect(g3.totals.flows).toBe(sent);
    // nothing of the newest minutes was read again: commits were added in memory
    expect(live.recentLoads).toBe(1);
    // settled minutes are read at most once each (blocks/minutes), never the tail
    expect(live.sqlReads - reads).toBeLessThanOrEqual(2);
  });

  it("counts flows as soon as they are stored, before their rollups reach the table", async () => {
    const q = { filter: {}, sinceNs: BASE_NS, untilNs: BASE_NS + 30n * NS_PER_MINUTE, hideNoise: false };
    const probe = endpoint({ ns: "shop", app: "probe" });
    for (let k = 0; k < 3; k++) {
      // the writer upserts rollups about once a second; the map must not wait for that
      await wave(5, 6, 10 + k, [responseOf(buildFlow({ time: BASE_NS + 5n * NS_PER_MINUTE + BigInt(k) * 1_000_000_000n, source: probe, destination: db, l4: tcp(43000 + k, 5432) }))], false);
      const g = await live.graph(q);
      expect(g.totals.flows).toBe(await storedCount(store.db));
      expect(g.edges.find((e) => e.source.endsWith("/probe"))?.flows).toBe(k + 1);
    }
    await pipe.ingest.flush();
    await expectSameAsSql();
    expect(live.recentLoads).toBe(1);
  });

  it("starts over after a retention or repair change and is still exact", async () => {
    await pipe.writer.dropBefore(BASE_NS + 1n * NS_PER_MINUTE);
    const g = await expectSameAsSql();
    expect(g.totals.flows).toBeLessThan(sent);
    expect(live.recentLoads).toBe(2);
  });
});
