/**
 * Rollups written by the ingest equal a recount of the raw flows (the SQL of the rollup migration's
 * backfill), on the recorded samples plus L7 flows with latencies, HTTP codes and DNS rcodes.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { toBinary } from "@bufbuild/protobuf";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { FlowWriter } from "@/server/db/flows/flow-writer";
import { splitResponse } from "@/server/flow-codec/split-flow";
import { startRelayServer } from "@/server/demo/relay/relay-server";
import { dnsRequest, dnsResponse, httpRequest, httpResponse, responseOf } from "../fixtures/flow-builder";
import { recordedResponses } from "../fixtures/recorded-flows";
import { openTestStore, type TestStore } from "../fixtures/test-db";
import { startPipeline, storedCount, waitFor } from "../fixtures/test-pipeline";

const MIGRATION = path.resolve(import.meta.dirname, "../../prisma/migrations/20261123190000_flow_rollups/migration.sql");

let store: TestStore;
beforeAll(async () => {
  store = await openTestStore("postgres");
});
afterAll(async () => {
  await store?.cleanup();
});

it("equal a recount of the raw flows", async () => {
  const relay = await startRelayServer({ ringSize: 10_000, announceNodes: false });
  const sent = recordedResponses();
  const base = BigInt(Date.parse("2026-11-23T18:00:00Z")) * 1_000_000n;
  for (let i = 0; i < 120; i++) {
    const t = base + BigInt(i) * 1_500_000_000n;
    const q = `svc-${i % 4}.shop.svc.cluster.local.`;
    sent.push(responseOf(dnsRequest(q, { time: t })));
    sent.push(responseOf(dnsResponse(q, { rcode: [0, 3, 2, 5, 9][i % 5], ips: ["10.96.0.1"] }, { time: t + 1_000_000n })));
    sent.push(responseOf(httpRequest("GET", `http://backend:8080/api/${i}`, { time: t + 2_000_000n })));
    sent.push(responseOf(httpResponse([200, 201, 404, 503, 302][i % 5], "GET", `http://backend:8080/api/${i}`, { time: t + 3_000_000n })));
  }
  relay.publishMany(sent);
  const p = startPipeline(store.db, relay.address);
  try {
    await waitFor(() => p.ingest.received >= sent.length, "all flows received");
    await p.ingest.flush();
    expect(p.ingest.duplicates).toBe(67); // byte-identical repeats in the recorded samples
    expect(await storedCount(store.db)).toBe(sent.length - 67);
    const backfill = readFileSync(MIGRATION, "utf8");
    const recount = backfill.slice(backfill.indexOf("SELECT (f.ts"), backfill.lastIndexOf(";"));
    const names = "minute, ctx_id, l4, port, flows, first_ts, last_ts, http_requests, http_status, dns_requests, dns_rcodes, latency_hist";
    const cols = "minute, ctx_id, l4, port, flows::int, first_ts::text, last_ts::text, http_requests::int, http_status, dns_requests::int, dns_rcodes, latency_hist";
    const order = "ORDER BY 1, 2, 3, 4";
    const stored = await store.db.query<Record<string, unknown>>(`SELECT ${cols} FROM flow_rollups ${order}`);
    const raw = await store.db.query<Record<string, unknown>>(`SELECT ${cols} FROM (${recount}) AS x(${names}) ${order}`);
    expect(stored.length).toBeGreaterThan(100);
    expect(stored).toEqual(raw);

    const total = stored.reduce((s, r) => s + Number(r.flows), 0);
    expect(total).toBe(sent.length - 67);
    const http = stored.flatMap((r) => (r.http_status as number[]) ?? []).reduce((a, b) => a + b, 0);
    const [{ n }] = await store.db.query<{ n: string }>("SELECT count(*)::text AS n FROM flows WHERE l7_kind = 101 AND l7_type = 2");
    expect(Number(n)).toBeGreaterThan(120);
    expect(http).toBe(Number(n));

    // a process that dies with rollups pending in memory: the next start recounts the tail
    const more = [0, 1, 2].map((i) => responseOf(httpResponse(500, "GET", "http://backend:8080/x", { time: base + 200_000_000_000n + BigInt(i) })));
    const crashing = new FlowWriter(store.db);
    const rows = more.map((r) => splitResponse(Buffer.from(toBinary(GetFlowsResponseSchema, r)))).map((x) => (x.kind === "flow" ? x.row : null)!);
    await crashing.commit({ ...(await crashing.prepare(rows)), rollups: [] });
    const before = await store.db.query(`SELECT ${cols} FROM flow_rollups ${order}`);
    expect(before).not.toEqual(await store.db.query(`SELECT ${cols} FROM (${recount}) AS x(${names}) ${order}`));
    expect(await new FlowWriter(store.db).repairRollups()).toBeGreaterThan(0);
    const repaired = await store.db.query(`SELECT ${cols} FROM flow_rollups ${order}`);
    expect(repaired).toEqual(await store.db.query(`SELECT ${cols} FROM (${recount}) AS x(${names}) ${order}`));
  } finally {
    await p.stop();
    await relay.stop();
  }
});
