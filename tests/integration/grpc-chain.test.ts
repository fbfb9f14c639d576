/**
 * Chained Flowlens: a second Flowlens ingest (the real IngestService + RelayClient, its own store)
 * uses the first Flowlens's gRPC API as its HUBBLE_SERVER. It gets every stored flow (the first's
 * history), then live ones; after a restart it resumes without a duplicate or a hole; lost events
 * and gaps of the first arrive as lost events.
 */
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LostEventSource } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import type { Database } from "@/server/db/connection";
import { FILTER_FLOWS, TIMELINE } from "../fixtures/api-dataset";
import { useApiRuntime } from "../fixtures/api-harness";
import { buildFlow, endpoint, responseOf } from "../fixtures/flow-builder";
import { ts } from "../fixtures/grpc-client";
import { openTestStore, type TestStore } from "../fixtures/test-db";
import { startPipeline, waitFor, type Pipeline } from "../fixtures/test-pipeline";

const first = useApiRuntime("postgres", ({ publish }) => {
  publish(...[FILTER_FLOWS, TIMELINE].flatMap((g) => Object.values(g).map(responseOf)));
}, { timeoutMs: 300_000 });

let store: TestStore;
let second: Pipeline | undefined;
let address: string;

async function storedFlows(db: Database): Promise<{ key: string; ts: string }[]> {
  // a uuid-less flow is keyed by md5(node + its bytes), and the first sends the bytes it rebuilds
  // (same fields, maybe in another order): its key differs between the two, stable in each
  return db.query<{ key: string; ts: string }>(
    `SELECT CASE WHEN key_derived THEN 'derived' ELSE key::text END AS key, ts::text AS ts FROM flows ORDER BY ts, key`,
  );
}

beforeAll(async () => {
  if (first.rt.grpc.state !== "serving") throw new Error("the first Flowlens serves no gRPC");
  address = first.rt.grpc.address;
  store = await openTestStore("postgres");
});
afterAll(async () => {
  await second?.stop();
  await store?.cleanup();
});

describe("a Flowlens fed by a Flowlens", () => {
  it("gets the first's whole history, flow for flow, as the same bytes", async () => {
    second = startPipeline(store.db, address);
    const want = await storedFlows(first.rt.db);
    await waitFor(async () => (await storedFlows(store.db)).length >= want.length, `${want.length} flows in the second`, 60_000);
    await second.ingest.flush();
    const got = await storedFlows(store.db);
    expect(got).toEqual(want);
    const a = await first.rt.reader.page({ filter: {}, limit: 1000 });
    const b = await second.reader.page({ filter: {}, limit: 1000 });
    expect(b.items.map((i) => i.flow)).toEqual(a.items.map((i) => i.flow));
  });

  it("follows live flows, and resumes after a restart without a duplicate or a hole", async () => {
    const mk = () => buildFlow({ time: new Date(), source: endpoint({ ns: "chain", app: "a" }), destination: endpoint({ ns: "chain", app: "b" }) });
    first.publish(...Array.from({ length: 50 }, mk).map(responseOf));
    await first.settle();
    await waitFor(async () => (await storedFlows(store.db)).length === (await storedFlows(first.rt.db)).length, "live flows in the second", 60_000);

    await second!.stop();
    // while the second is away: flows and a lost event on the first
    first.publish(...Array.from({ length: 120 }, mk).map(responseOf));
    first.relay.publish(
      create(GetFlowsResponseSchema, {
        responseTypes: { case: "lostEvents", value: { source: LostEventSource.PERF_EVENT_RING_BUFFER, numEventsLost: 9n, cpu: 2 } },
        nodeName: "kind-worker",
        time: ts(new Date().toISOString()),
      }),
    );
    await first.settle();
    await waitFor(async () => (await first.rt.db.query(`SELECT 1 FROM lost_events`)).length > 0, "the lost event in the first", 30_000);

    second = startPipeline(store.db, address);
    const want = await storedFlows(first.rt.db);
    await waitFor(async () => (await storedFlows(store.db)).length >= want.length, "the resumed flows", 60_000);
    await new Promise((r) => setTimeout(r, 500)); // a duplicate would arrive now
    await second.ingest.flush();
    expect(await storedFlows(store.db)).toEqual(want);
    expect(second.ingest.duplicates).toBeGreaterThan(0); // the resume window overlapped, and was deduplicated
    await waitFor(async () => (await store.db.query(`SELECT 1 FROM lost_events WHERE num_lost = 9`)).length === 1, "the lost event in the second", 30_000);
  });
});
