/**
 * Relay → store end to end, on a real gRPC relay and a real database of the given kind (a fresh
 * schema on PostgreSQL or on the Citus cluster, or embedded PGlite): export equals what was sent,
 * restarts lose and duplicate nothing, outages the relay could not cover become visible gaps.
 * Run by ingest.test.ts (PostgreSQL, PGlite) and tests/citus/ingest-citus.test.ts.
 */
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LostEventSource } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema, type GetFlowsResponse } from "@/proto/gen/observer/observer_pb";
import { NodeState } from "@/proto/gen/relay/relay_pb";
import { startRelayServer, type RelayServer } from "@/server/hubble/relay-server";
import { buildFlow, endpoint, responseOf } from "../fixtures/flow-builder";
import { canonical, recordedDistinctLines, recordedLines, recordedResponses } from "../fixtures/recorded-flows";
import { openTestStore, type StoreKind, type TestStore } from "../fixtures/test-db";
import { distinctKeys, startPipeline, storedCount, waitFor } from "../fixtures/test-pipeline";

async function exportAll(p: ReturnType<typeof startPipeline>): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const page of p.reader.allResponses({ filter: {} })) out.push(...page);
  return out;
}

export function ingestSuites(kind: StoreKind): void {
  describe(`ingest on ${kind}`, () => {
    let store: TestStore;
    beforeAll(async () => {
      store = await openTestStore(kind);
    });
    afterAll(async () => {
      await store?.cleanup();
    });

    it("stores every recorded flow and exports it back field by field", async () => {
      const relay = await startRelayServer({ ringSize: 10_000, announceNodes: false });
      // the samples hold 67 byte-identical repeats: one flow each by the dedup key (node + bytes)
      const lines = recordedDistinctLines();
      relay.publishMany(recordedResponses());
      const p = startPipeline(store.db, relay.address);
      try {
        await waitFor(async () => (await storedCount(store.db)) >= lines.length, "all recorded flows stored");
        await p.ingest.flush();
        const exported = await exportAll(p);
        expect(exported).toHaveLength(lines.length);
        expect(p.ingest.duplicates).toBe(recordedLines().length - lines.length);
        const sent = lines.map((l) => canonical(JSON.parse(l))).sort();
        const got = exported.map((o) => canonical(o)).sort();
        expect(got).toEqual(sent);
      } finally {
        await p.stop();
        await relay.stop();
      }
    });

    it("stores lost events and node status changes", async () => {
      const relay = await startRelayServer();
      const p = startPipeline(store.db, relay.address);
      try {
        await waitFor(() => p.ingest.state === "connected", "a connected stream");
        const now = { seconds: BigInt(Math.floor(Date.now() / 1000)), nanos: 0 };
        relay.publish(
          create(GetFlowsResponseSchema, {
            nodeName: "kind-worker",
            time: now,
            responseTypes: {
              case: "lostEvents",
              value: { source: LostEventSource.HUBBLE_RING_BUFFER, numEventsLost: 1234n, cpu: 3, first: now, last: now },
            },
          }),
        );
        relay.publish(
          create(GetFlowsResponseSchema, {
            time: now,
            responseTypes: { case: "nodeStatus", value: { stateChange: NodeState.NODE_UNAVAILABLE, nodeNames: ["kind-worker2"], message: "connection refused" } },
          }),
        );
        await waitFor(async () => (await p.events.totals()).lostEvents >= 1234, "lost events stored");
        await waitFor(async () => (await p.events.recent()).nodeStatus.some((s) => s.state === NodeState.NODE_UNAVAILABLE), "node status stored");
        const recent = await p.events.recent();
        expect(recent.lostEvents[0]).toMatchObject({ nodeName: "kind-worker", numLost: "1234", cpu: 3, source: LostEventSource.HUBBLE_RING_BUFFER });
        expect(p.ingest.nodes.get("kind-worker2")?.state).toBe("NODE_UNAVAILABLE");
      } finally {
        await p.stop();
        await relay.stop();
      }
    });
  });

  describe(`restarts and gaps on ${kind}`, () => {
    let store: TestStore;
    beforeAll(async () => {
      store = await openTestStore(kind);
    });
    afterAll(async () => {
      await store?.cleanup();
    });

    it("loses and duplicates nothing when the relay is killed mid-stream several times", async () => {
      const history: GetFlowsResponse[] = [];
      const nodes = ["kind-worker", "kind-worker2"];
      let relay: RelayServer = await startRelayServer({ ringSize: 20_000 });
      const port = relay.port;
      const start = BigInt(Date.now()) * 1_000_000n;
      let n = 0;
      const publishSome = (count: number) => {
        for (let i = 0; i < count; i++, n++) {
          const f = buildFlow({
            time: start + BigInt(n) * 1_000_000n,
            nodeName: nodes[n % 2],
            // every fifth flow has no uuid, like older agents: its key is a hash of node + bytes
            ...(n % 5 === 0 ? { uuid: "" } : {}),
            source: endpoint({ ns: "shop", app: "frontend", pod: `frontend-${n % 3}` }),
          });
          const r = responseOf(f);
          history.push(r);
          relay.publish(r);
        }
      };
      publishSome(300);
      const p = startPipeline(store.db, relay.address);
      try {
        for (let round = 0; round < 4; round++) {
          const reconnects = p.ingest.reconnects;
          await waitFor(async () => (await storedCount(store.db)) > 0 && p.ingest.state === "connected", "a connected stream");
          publishSome(250);
          await new Promise((r) => setTimeout(r, 30 + round * 20));
          relay.kill(); // mid-stream: some of the 250 may not have been delivered yet
          relay = await startRelayServer({ port, ringSize: 20_000 });
          relay.publishMany(history); // the restarted relay still holds everything (ring large enough)
          publishSome(200); // and new flows arrive after the restart
          await waitFor(() => p.ingest.reconnects > reconnects && p.ingest.state === "connected", "the stream to come back");
        }
        await waitFor(async () => (await storedCount(store.db)) >= history.length, `${history.length} flows stored`, 60_000);
        await p.ingest.flush();
        await new Promise((r) => setTimeout(r, 300));
        await p.ingest.flush();
        expect(await storedCount(store.db)).toBe(history.length);
        expect(await distinctKeys(store.db)).toBe(history.length);
        expect(p.ingest.reconnects).toBeGreaterThanOrEqual(4);
        const gaps = await store.db.prisma.gap.count();
        expect(gaps).toBe(0);
      } finally {
        await p.stop();
        await relay.stop();
      }
    });

    it("records a visible gap when the relay's ring overwrote part of an outage", async () => {
      // a new node name keeps this test independent of the previous one's data
      const node = "gap-node";
      const ring = 100;
      let relay = await startRelayServer({ ringSize: ring });
      const port = relay.port;
      // newer than the previous tests' flows, yet less than a minute ahead of our clock (a flow further
      // ahead is placed at its arrival: split-flow.ts): 450 flows 100 ms apart
      const base = BigInt(Date.now()) * 1_000_000n + 10_000_000_000n;
      const step = 100_000_000n;
      const all: GetFlowsResponse[] = [];
      const mk = (i: number) => {
        const r = responseOf(buildFlow({ time: base + BigInt(i) * step, nodeName: node }));
        all.push(r);
        return r;
      };
      for (let i = 0; i < 50; i++) relay.publish(mk(i));
      const before = await storedCount(store.db);
      const p = startPipeline(store.db, relay.address);
      try {
        await waitFor(async () => (await storedCount(store.db)) >= before + 50, "first 50 flows");
        relay.kill();
        // while we are away, 400 flows happen; a 100-slot ring keeps only the last 100
        relay = await startRelayServer({ port, ringSize: ring });
        for (let i = 50; i < 450; i++) relay.publish(mk(i));
        await waitFor(async () => (await storedCount(store.db)) >= before + 150, "the 100 flows still in the ring");
        await waitFor(async () => (await store.db.prisma.gap.count()) > 0, "a gap record");
        const [gap] = await store.db.prisma.gap.findMany();
        expect(gap.nodeName).toBe(node);
        expect(gap.fromTs).toBe(base + 49n * step); // last flow we had
        expect(gap.toTs).toBe(base + 350n * step); // oldest flow the ring still had
        expect(await storedCount(store.db)).toBe(before + 150);
      } finally {
        await p.stop();
        await relay.stop();
      }
    });
  });
}
