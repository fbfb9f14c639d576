/**
 * The live fan-out's bookkeeping on real stored-flow rows: each viewer gets the flows its filter
 * matches, a viewer that does not read holds a bounded number of bytes and is told what it
 * skipped (count and time span) once it reads again, the hub's rate budget is announced as well,
 * and a viewer stalled for too long is closed.
 */
import { toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { DropReason, FlowSchema } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import type { FlowFilterSpec } from "@/server/domain/flows/flow-filter-spec";
import type { FlowItem } from "@/server/domain/flows/flow-item";
import { parseFlowQuery } from "@/server/domain/flows/flow-query";
import { formatRfc3339Ns, parseRfc3339Ns } from "@/server/domain/shared/time";
import { splitResponse, type FlowRow } from "@/server/flow-codec/split-flow";
import { LiveFlowConverter } from "@/server/live/live-flow";
import { LiveHub } from "@/server/live/live-hub";
import { LiveMatcher } from "@/server/live/live-viewer";
import { compileMatcher } from "@/server/domain/flows/flow-match";
import { recordedResponses } from "../fixtures/recorded-flows";
import { SseReader } from "../fixtures/api-harness";
import { buildFlow, drop, endpoint, responseOf } from "../fixtures/flow-builder";
import { waitFor } from "../fixtures/test-pipeline";

const BASE_NS = 1_750_000_000_000_000_000n; // 2025-06-15: a past time places the flow (split-flow.ts)

/** n stored rows, one every µs; every 10th a drop in namespace shop */
function rows(n: number, from = 0): FlowRow[] {
  const shop = endpoint({ ns: "shop", app: "web" });
  const other = endpoint({ ns: "other", app: "x" });
  return Array.from({ length: n }, (_, j) => {
    const i = from + j;
    const time = BASE_NS + BigInt(i) * 1000n;
    const flow = i % 10 === 0 ? drop({ reason: DropReason.POLICY_DENIED }, { time, source: shop }) : buildFlow({ time, source: other, destination: other });
    const split = splitResponse(Buffer.from(toBinary(GetFlowsResponseSchema, responseOf(flow))));
    if (split.kind !== "flow") throw new Error(split.kind);
    return split.row;
  });
}

function matcher(query: string): FlowFilterSpec {
  const p = parseFlowQuery(new URLSearchParams(query));
  if (!p.ok) throw new Error(p.error);
  return p.query.filter;
}

interface Skip {
  count: number;
  reason: string;
  first: string;
  last: string;
}

function read(sse: SseReader) {
  const flows = sse.events.filter((e) => e.event === "flow").map((e) => JSON.parse(e.data) as FlowItem);
  const skips = sse.events.filter((e) => e.event === "skipped").map((e) => JSON.parse(e.data) as Skip);
  return { flows, skips };
}

const ns = (t: string) => (parseRfc3339Ns(t) as { ok: true; value: bigint }).value;

describe("LiveMatcher (context conditions once per context)", () => {
  it("answers as compileMatcher on recorded and built flows, for context, per-flow and mixed filters", () => {
    const conv = new LiveFlowConverter();
    const recorded = recordedResponses().map((r) => (splitResponse(Buffer.from(toBinary(GetFlowsResponseSchema, r))) as { row: FlowRow }).row);
    const flows = [...recorded, ...rows(200)].map((r) => conv.convert(r));
    const queries = [
      "",
      "namespace=bookinfo",
      "namespace=shop&verdict=DROPPED",
      "label=app%3Dreviews",
      "protocol=dns",
      "port=9080",
      "namespace=bookinfo&to-port=9080",
      "from-label=app%3Dproductpage&protocol=http&http-status=2%2B",
      "verdict=REDIRECTED&protocol=tcp",
      "node-name=*worker*&port=53",
      "ip=10.0.0.0%2F8&from-port=15020",
      "http-path=%5E%2Fdetails",
      "fqdn=*.svc.cluster.local",
    ];
    const hits: number[] = [];
    for (const q of queries) {
      const filter = matcher(q);
      const live = new LiveMatcher(filter);
      const plain = compileMatcher(filter);
      const want = flows.map((f) => plain(f.item));
      // the second pass answers from the per-context memory
      for (let pass = 0; pass < 2; pass++) expect(flows.map((f) => live.matches(f)), q).toEqual(want);
      if (q) hits.push(want.filter(Boolean).length);
    }
    // the filters select: none matches everything, most match something
    expect(hits.every((n) => n < flows.length)).toBe(true);
    expect(hits.filter((n) => n > 0).length).toBeGreaterThan(9);
  });
});

describe("LiveHub and LiveViewer", () => {
  it("a reading viewer gets exactly the matching flows, in order, and no skips", async () => {
    const hub = new LiveHub();
    const all = hub.open(matcher(""));
    const drops = hub.open(matcher("verdict=DROPPED&namespace=shop"));
    const a = new SseReader(all.stream);
    const d = new SseReader(drops.stream);
    const batch = rows(200);
    hub.publish(batch.slice(0, 120));
    hub.publish(batch.slice(120));
    await waitFor(() => read(a).flows.length === 200 && read(d).flows.length === 20, "200 and 20 flows", 5000);
    expect(read(a).flows.map((f) => f.key)).toEqual(batch.map(keyOf));
    expect(read(a).flows.map((f) => f.time)).toEqual(batch.map(formatTime));
    expect(read(d).flows.every((f) => f.flow.verdict === "DROPPED")).toBe(true);
    expect(read(a).skips).toEqual([]);
    expect(read(d).skips).toEqual([]);
    // one serialisation shared: both viewers got byte-identical frames for the drops
    const dropKeys = new Set(read(d).flows.map((f) => f.key));
    expect(read(a).flows.filter((f) => dropKeys.has(f.key))).toEqual(read(d).flows);
    expect(hub.stats().viewers.map((v) => v.sent)).toEqual([200, 20]);
    hub.shutdown();
    await waitFor(() => a.ended && d.ended, "streams closed on shutdown", 5000);
    expect(hub.listeners).toBe(0);
  });

  it("a viewer that does not read holds a bounded buffer, then learns what it skipped", async () => {
    const queueBytes = 64 * 1024;
    const streamBytes = 16 * 1024;
    const hub = new LiveHub({ queueBytes, streamBytes, budgetPerSecond: 1e9 });
    const viewer = hub.open(matcher("namespace=shop"));
    const batch = rows(2000);
    for (let i = 0; i < batch.length; i += 250) {
      hub.publish(batch.slice(i, i + 250));
      // never more than the queue plus the stream buffer plus one frame (well under 2 KiB)
      const s = hub.stats().viewers[0];
      expect(s.queuedBytes).toBeLessThanOrEqual(queueBytes);
      expect(s.streamBytes).toBeLessThanOrEqual(streamBytes + 2048);
    }
    const before = hub.stats().viewers[0];
    const matched = 200; // every 10th flow is the shop drop; the others are not in shop
    expect(before.sent).toBeGreaterThan(0);
    expect(before.queued).toBeGreaterThan(0);
    expect(before.sent + before.queued).toBeLessThan(matched);
    expect(before.pending).toEqual({ slow: matched - before.sent - before.queued, rate: 0 });
    expect(before.announced.slow).toBe(0);

    // the client starts reading: it gets what was buffered and queued, then the announcement
    const sse = new SseReader(viewer.stream);
    await waitFor(() => read(sse).skips.length === 1, "the skipped event", 5000);
    const { flows, skips } = read(sse);
    expect(flows).toHaveLength(before.sent + before.queued);
    expect(skips[0]).toMatchObject({ count: before.pending.slow, reason: "slow" });
    // the span covers exactly the matching flows that did not come
    const got = new Set(flows.map((f) => f.key));
    const missed = batch.filter((r, i) => i % 10 === 0 && !got.has(keyOf(r)));
    expect(missed).toHaveLength(before.pending.slow);
    expect(ns(skips[0].first)).toBe(missed[0].ts);
    expect(ns(skips[0].last)).toBe(missed[missed.length - 1].ts);
    // the skip stands where the flows went missing: after every flow that came
    expect(sse.events.at(-1)!.event).toBe("skipped");

    // and from then on it gets everything again
    hub.publish(rows(100, 2000));
    await waitFor(() => read(sse).flows.length === flows.length + 10, "10 more flows", 5000);
    expect(hub.stats().viewers[0]).toMatchObject({ announced: { slow: before.pending.slow, rate: 0 }, pending: { slow: 0, rate: 0 }, queued: 0 });
    hub.shutdown();
  });

  it("a fast reader gets a whole large batch: the queue absorbs it", async () => {
    const hub = new LiveHub({ streamBytes: 16 * 1024, budgetPerSecond: 1e9 });
    const sse = new SseReader(hub.open(matcher("")).stream);
    const batch = rows(3000);
    hub.publish(batch);
    await waitFor(() => read(sse).flows.length === 3000, "3000 flows", 10_000);
    expect(read(sse).skips).toEqual([]);
    hub.shutdown();
  });

  it("flows over the hub's rate budget are announced to every viewer as `rate` skips", async () => {
    const hub = new LiveHub({ budgetPerSecond: 300 });
    const sse = new SseReader(hub.open(matcher("verdict=DROPPED")).stream);
    const batch = rows(1000);
    hub.publish(batch);
    await waitFor(() => read(sse).skips.length === 1 && read(sse).flows.length === 30, "30 flows and a skip", 5000);
    const skip = read(sse).skips[0];
    // the newest 300 were converted; the 700 before them were not looked at
    expect(skip).toEqual({ count: 700, reason: "rate", first: formatTime(batch[0]), last: formatTime(batch[699]) });
    expect(read(sse).flows.map((f) => f.key)).toEqual(batch.slice(700).filter((_, i) => (700 + i) % 10 === 0).map(keyOf));
    // announced before the flows: it is about older flows
    expect(sse.events.findIndex((e) => e.event === "skipped")).toBeLessThan(sse.events.findIndex((e) => e.event === "flow"));
    expect(hub.stats()).toMatchObject({ converted: 300, unconverted: 700 });
    hub.shutdown();
  });

  it("the budget follows the event loop: a busy process converts less and says so", async () => {
    let load = 0.95;
    const hub = new LiveHub({ budgetPerSecond: 4000, minPerSecond: 100, utilisation: () => load });
    const sse = new SseReader(hub.open(matcher("")).stream);
    const budgets: number[] = [];
    for (let i = 0; i < 12; i++) hub.tick(), budgets.push(hub.stats().budget);
    expect(budgets[0]).toBeLessThan(4000);
    expect(budgets.at(-1)).toBe(100);
    hub.publish(rows(300));
    await waitFor(() => read(sse).flows.length === 100 && read(sse).skips.length === 1, "100 flows and a skip", 5000);
    expect(read(sse).skips[0]).toMatchObject({ count: 200, reason: "rate" });
    // once the process is idle again the budget grows back to its maximum
    load = 0.2;
    for (let i = 0; i < 30; i++) hub.tick();
    expect(hub.stats().budget).toBe(4000);
    hub.shutdown();
  });

  it("a flow hubble's JSON cannot express is announced, not thrown into the ingest", async () => {
    const hub = new LiveHub();
    const sse = new SseReader(hub.open(matcher("")).stream);
    const ok = rows(3);
    // a time after year 9999: the ingest quarantines such a flow (it is not a valid message), so a
    // row like this cannot reach the hub through the split; the hub must survive one all the same
    const farFlow = buildFlow({ time: 400_000_000_000n * 1_000_000_000n });
    const bad = { ...ok[0], flowBytes: Buffer.from(toBinary(FlowSchema, farFlow)) };
    expect(() => hub.publish([ok[0], bad, ok[1], ok[2]])).not.toThrow();
    await waitFor(() => read(sse).flows.length === 3 && read(sse).skips.length === 1, "3 flows and a skip", 5000);
    expect(read(sse).skips[0]).toMatchObject({ count: 1, reason: "rate" });
    hub.shutdown();
  });

  it("a viewer whose buffer stays full for stallMs is closed and lets go of its buffer", async () => {
    const hub = new LiveHub({ queueBytes: 64 * 1024, streamBytes: 16 * 1024, stallMs: 30_000, budgetPerSecond: 1e9 });
    const viewer = hub.open(matcher(""));
    const t0 = Date.now();
    hub.publish(rows(500));
    const full = hub.stats().viewers[0];
    expect(full.streamBytes).toBeGreaterThan(16 * 1024 - 2048);
    expect(full.pending.slow).toBeGreaterThan(0);
    viewer.tick(t0 + 29_000);
    expect(hub.listeners).toBe(1);
    viewer.tick(t0 + 31_000);
    expect(hub.listeners).toBe(0);
    expect(viewer.stats()).toMatchObject({ closed: true, closedBy: "stalled", streamBytes: 0, queuedBytes: 0, queued: 0 });
    // the stream errored: a client reading now gets the error, not the stale buffer
    await expect(viewer.stream.getReader().read()).rejects.toThrow(/stalled/);
  });

  it("a reading viewer is never closed as stalled, and an idle one gets pings", async () => {
    const hub = new LiveHub({ pingMs: 15_000, stallMs: 30_000 });
    const viewer = hub.open(matcher(""));
    const sse = new SseReader(viewer.stream);
    await waitFor(() => sse.comments.includes("connected"), "connected", 5000);
    const t0 = Date.now();
    viewer.tick(t0 + 16_000);
    await waitFor(() => sse.comments.includes("ping"), "a ping", 5000);
    viewer.tick(t0 + 60_000);
    expect(hub.listeners).toBe(1);
    hub.shutdown();
  });

  it("an aborted request closes its viewer", async () => {
    const hub = new LiveHub();
    const ac = new AbortController();
    hub.open(matcher(""), ac);
    const closed: string[] = [];
    hub.open(matcher(""), { signal: AbortSignal.abort() }, () => closed.push("pre-aborted"));
    expect(hub.listeners).toBe(1);
    ac.abort();
    expect(hub.listeners).toBe(0);
    expect(closed).toEqual(["pre-aborted"]);
  });
});

function keyOf(r: FlowRow): string {
  const hex = r.key.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function formatTime(r: FlowRow): string {
  return formatRfc3339Ns(r.ts);
}
