/**
 * /api/live (Server-Sent Events of newly stored flows, filtered), /api/status, /api/status/events
 * and /metrics, with flows and events published to the relay while the runtime runs.
 */
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GET as liveGET } from "@/app/api/live/route";
import { GET as statusEventsGET } from "@/app/api/status/events/route";
import { GET as statusGET } from "@/app/api/status/route";
import { GET as metricsGET } from "@/app/metrics/route";
import { DropReason, LostEventSource, Verdict } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { NodeState } from "@/proto/gen/relay/relay_pb";
import type { FlowItem, StatusReport } from "@/server/domain/flow-item";
import { metrics } from "@/server/metrics";
import { call, metricValue, SseReader, type ApiEnv } from "../fixtures/api-harness";
import { buildFlow, drop, endpoint, responseOf, toItem } from "../fixtures/flow-builder";
import { recordedDistinctLines } from "../fixtures/recorded-flows";
import { storageKindOf } from "../fixtures/test-db";
import { storedCount, waitFor } from "../fixtures/test-pipeline";

const liveClients = () => metricValue(metrics().liveClients);
const now = () => BigInt(Date.now()) * 1_000_000n;

async function status(): Promise<StatusReport> {
  const res = await call(statusGET, "/api/status");
  expect(res.status).toBe(200);
  return (await res.json()) as StatusReport;
}

export function liveAndStatusTests(env: ApiEnv): void {
  describe("GET /api/live", () => {
    it("streams exactly the newly stored flows that match the filter", async () => {
      const before = await liveClients();
      const abort = new AbortController();
      // time parameters are ignored by /api/live
      const res = await call(liveGET, "/api/live?verdict=DROPPED&namespace=shop&since=1h", { signal: abort.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const sse = new SseReader(res.body!);
      await waitFor(() => sse.comments.includes("connected"), "the connected comment", 5000);
      expect(await liveClients()).toBe(before + 1);

      const shop = endpoint({ ns: "shop", app: "frontend" });
      const other = endpoint({ ns: "other", app: "x" });
      const match1 = drop({ reason: DropReason.POLICY_DENIED }, { time: now(), source: shop });
      const forwarded = buildFlow({ time: now(), source: shop });
      const otherNs = drop({}, { time: now(), source: other, destination: other });
      const match2 = drop({ reason: DropReason.CT_MAP_INSERTION_FAILED }, { time: now(), source: other, destination: shop });
      // published last: once it arrived, every flow before it was seen (and the others were filtered out)
      const sentinel = drop({}, { time: now(), source: shop, nodeName: "kind-worker2" });
      env.publish(...[match1, forwarded, otherNs, match2, sentinel].map(responseOf));

      const flows = () => sse.events.filter((e) => e.event === "flow").map((e) => JSON.parse(e.data) as FlowItem);
      await waitFor(() => flows().some((f) => f.key === sentinel.uuid), "the sentinel flow on the live stream", 10_000);
      expect(flows()).toEqual([match1, match2, sentinel].map(toItem));
      expect(sse.events.every((e) => e.event === "flow")).toBe(true);

      abort.abort();
      await waitFor(() => sse.ended, "the stream to end after abort", 5000);
      await waitFor(async () => (await liveClients()) === before, "the live client gauge to go back", 5000);
      await env.settle();
    });

    it("a client that cancels the body is released too", async () => {
      const before = await liveClients();
      const res = await call(liveGET, "/api/live");
      const sse = new SseReader(res.body!);
      await waitFor(() => sse.comments.includes("connected"), "the connected comment", 5000);
      expect(await liveClients()).toBe(before + 1);
      expect(env.rt.live.listeners).toBeGreaterThan(0);
      await sse.cancel();
      await waitFor(async () => (await liveClients()) === before, "the live client gauge to go back", 5000);
      expect(env.rt.live.listeners).toBe(0);
    });
  });

  describe("GET /api/status, /api/status/events, /metrics", () => {
    it("/api/status reports relay, storage, ingest and nodes", async () => {
      // fresh flows so the rate is not zero
      env.publish(...Array.from({ length: 20 }, () => responseOf(buildFlow({ time: now(), verdict: Verdict.FORWARDED }))));
      await env.settle();
      // the count is refreshed in the background (every 2 s, or up to 10 s when counting is slow), never awaited by a request
      const stored = await storedCount(env.rt.db);
      await waitFor(async () => (await status()).storage.flows === stored, `storage.flows = ${stored}`, 15_000);
      const s = await status();
      expect(s.relay).toEqual({ address: env.relay.address, state: "connected" });
      expect(s.storage).toEqual({ kind: storageKindOf(env.kind), flows: stored, state: "ok" });
      expect(s.storage.flows).toBe(env.rt.ingest.stored);
      expect(s.ingest.flowsPerSecond).toBeGreaterThan(0);
      expect(s.ingest).toMatchObject({ lostEvents: 0, gaps: 0, quarantined: 0 });
      expect(s.nodes).toContainEqual({ name: "kind-worker", state: "NODE_CONNECTED" });
      expect(s.nodes).toContainEqual({ name: "kind-worker2", state: "NODE_CONNECTED" });
      expect(s.nodes.map((n) => n.name)).toEqual(s.nodes.map((n) => n.name).sort((a, b) => a.localeCompare(b)));
    });

    it("counts lost events and node changes published by the relay", async () => {
      const t = { seconds: BigInt(Math.floor(Date.now() / 1000)), nanos: 0 };
      env.publish(
        create(GetFlowsResponseSchema, {
          nodeName: "kind-worker",
          time: t,
          responseTypes: {
            case: "lostEvents",
            value: { source: LostEventSource.PERF_EVENT_RING_BUFFER, numEventsLost: 1234n, cpu: 2, first: t, last: t },
          },
        }),
        create(GetFlowsResponseSchema, {
          time: t,
          responseTypes: {
            case: "nodeStatus",
            value: { stateChange: NodeState.NODE_UNAVAILABLE, nodeNames: ["kind-worker3"], message: "connection refused" },
          },
        }),
      );
      await waitFor(async () => (await status()).ingest.lostEvents === 1234, "lostEvents = 1234 in /api/status", 10_000);
      const s = await status();
      expect(s.ingest.gaps).toBe(0);
      expect(s.nodes).toContainEqual({ name: "kind-worker3", state: "NODE_UNAVAILABLE" });

      const res = await call(statusEventsGET, "/api/status/events");
      expect(res.status).toBe(200);
      const ev = (await res.json()) as {
        lostEvents: { nodeName: string; numLost: string; cpu: number; source: number }[];
        gaps: unknown[];
        nodeStatus: { state: number; nodeNames: string[]; message: string | null }[];
      };
      expect(ev.lostEvents).toHaveLength(1);
      expect(ev.lostEvents[0]).toMatchObject({
        nodeName: "kind-worker",
        numLost: "1234", // uint64: a string, as in hubble's JSON
        cpu: 2,
        source: LostEventSource.PERF_EVENT_RING_BUFFER,
      });
      expect(ev.gaps).toEqual([]);
      // newest first: our NODE_UNAVAILABLE after the relay's NODE_CONNECTED announcement
      expect(ev.nodeStatus[0]).toMatchObject({
        state: NodeState.NODE_UNAVAILABLE,
        nodeNames: ["kind-worker3"],
        message: "connection refused",
      });
      expect(ev.nodeStatus.some((n) => n.state === NodeState.NODE_CONNECTED && n.nodeNames.includes("kind-worker"))).toBe(true);
    });

    it("/metrics serves Prometheus text with the ingest counter", async () => {
      const res = await call(metricsGET, "/metrics");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
      const text = await res.text();
      const ingested = /^flowlens_flows_ingested_total (\d+)$/m.exec(text);
      expect(ingested, "flowlens_flows_ingested_total").not.toBeNull();
      expect(Number(ingested![1])).toBe(env.rt.ingest.stored);
      expect(env.rt.ingest.stored).toBeGreaterThan(recordedDistinctLines().length);
      expect(text).toMatch(/^flowlens_live_clients 0$/m);
      expect(text).toMatch(/^flowlens_lost_events_total 1234$/m);
      expect(text).toMatch(/^# TYPE flowlens_flows_ingested_total counter$/m);
    });
  });
}
