/**
 * GET /api/live under load on the real runtime (gRPC relay → ingest → PostgreSQL → live hub →
 * route handler): several viewers with different filters and one that never reads while thousands
 * of flows are published. Every flow that matched a viewer's filter is either delivered or covered
 * by a `skipped` announcement; the viewer that does not read costs the server a bounded buffer, and
 * once it reads it learns how many it skipped.
 */
import { describe, expect, it } from "vitest";
import { GET as liveGET } from "@/app/api/live/route";
import { DropReason, Verdict, type Flow } from "@/proto/gen/flow/flow_pb";
import { compileMatcher } from "@/server/domain/flows/flow-match";
import type { FlowItem } from "@/server/domain/flows/flow-item";
import { parseFlowQuery } from "@/server/domain/flows/flow-query";
import { parseRfc3339Ns } from "@/server/domain/shared/time";
import { call, SseReader, useApiRuntime } from "../fixtures/api-harness";
import { buildFlow, dnsRequest, drop, endpoint, httpResponse, responseOf, tcp, toItem } from "../fixtures/flow-builder";
import { waitFor } from "../fixtures/test-pipeline";

// a 1 MiB queue per stream, so the stream that does not read overflows with these few thousand flows
process.env.FLOWLENS_LIVE_QUEUE_MB = "1";
const QUEUE_BYTES = 1024 * 1024;
const STREAM_BYTES = 64 * 1024;

const FILTERS = ["", "namespace=shop", "verdict=DROPPED", "protocol=dns", "to-port=5432&namespace=db", "http-status=5%2B", "namespace=nowhere"];
const TOTAL = 4000;

/** a mixed stream: shop web → api, db traffic, drops, DNS and HTTP, times from now */
function traffic(n: number): Flow[] {
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const web = endpoint({ ns: "shop", app: "web" });
  const api = endpoint({ ns: "shop", app: "api" });
  const pg = endpoint({ ns: "db", app: "postgres" });
  return Array.from({ length: n }, (_, i) => {
    const time = t0 + BigInt(i) * 10_000n;
    switch (i % 8) {
      case 0:
        return drop({ reason: DropReason.POLICY_DENIED }, { time, source: web, destination: pg });
      case 1:
        return dnsRequest(`svc-${i % 13}.shop.svc.cluster.local.`, { time });
      case 2:
        return httpResponse(i % 3 === 0 ? 503 : 200, "GET", `http://api:8080/items/${i}`, { time });
      case 3:
        return buildFlow({ time, source: api, destination: pg, l4: tcp(40000 + (i % 1000), 5432) });
      default:
        return buildFlow({ time, source: web, destination: api, verdict: Verdict.FORWARDED });
    }
  });
}

function matcher(query: string): (item: FlowItem) => boolean {
  const p = parseFlowQuery(new URLSearchParams(query));
  if (!p.ok) throw new Error(p.error);
  return compileMatcher(p.query.filter);
}

const ns = (t: string) => (parseRfc3339Ns(t) as { ok: true; value: bigint }).value;

describe("GET /api/live with many viewers and one that never reads", () => {
  const env = useApiRuntime("postgres", () => {});

  it("delivers or announces every matching flow, and bounds what a stalled viewer holds", async () => {
    const aborts: AbortController[] = [];
    const open = async (query: string) => {
      const ac = new AbortController();
      aborts.push(ac);
      const res = await call(liveGET, `/api/live${query ? `?${query}` : ""}`, { signal: ac.signal });
      expect(res.status).toBe(200);
      return res;
    };
    const readers = await Promise.all(FILTERS.map(async (q) => new SseReader((await open(q)).body!)));
    const stalledRes = await open(""); // its body is never read
    await waitFor(() => readers.every((r) => r.comments.includes("connected")), "every viewer connected", 10_000);
    expect(env.rt.live.listeners).toBe(FILTERS.length + 1);

    const flows = traffic(TOTAL);
    const stalledIndex = FILTERS.length; // viewers are listed in the order they opened
    let maxBuffered = 0;
    const held = () => {
      const s = env.rt.live.stats().viewers[stalledIndex];
      return s ? s.queuedBytes + s.streamBytes : 0;
    };
    const sampler = setInterval(() => (maxBuffered = Math.max(maxBuffered, held())), 5);
    for (let i = 0; i < TOTAL; i += 500) {
      env.publish(...flows.slice(i, i + 500).map(responseOf));
      await new Promise((r) => setTimeout(r, 20));
    }
    await env.settle();
    clearInterval(sampler);

    const items = flows.map(toItem);
    const timeNs = new Map(flows.map((f) => [toItem(f).key, BigInt(f.time!.seconds) * 1_000_000_000n + BigInt(f.time!.nanos)]));
    const expected = FILTERS.map((q) => items.filter(matcher(q)));
    expect(expected[0]).toHaveLength(TOTAL);
    expect(expected[FILTERS.length - 1]).toHaveLength(0);

    // every viewer: received + announced covers what matched, nothing it did not match
    const accounted = (r: SseReader, want: FlowItem[]) => {
      const got = r.events.filter((e) => e.event === "flow").map((e) => JSON.parse(e.data) as FlowItem);
      const skips = r.events.filter((e) => e.event === "skipped").map((e) => JSON.parse(e.data) as { count: number; first: string; last: string });
      const gotKeys = new Set(got.map((g) => g.key));
      const missing = want.filter((w) => !gotKeys.has(w.key));
      const announced = skips.reduce((n, s) => n + s.count, 0);
      const uncovered = missing.filter((m) => !skips.some((s) => ns(s.first) <= timeNs.get(m.key)! && timeNs.get(m.key)! <= ns(s.last)));
      return { got, missing, announced, uncovered, done: missing.length <= announced };
    };
    for (const [i, r] of readers.entries()) {
      await waitFor(() => accounted(r, expected[i]).done, `viewer "${FILTERS[i]}": every matching flow delivered or announced`, 20_000);
      const a = accounted(r, expected[i]);
      const wanted = new Set(expected[i].map((w) => w.key));
      expect(a.got.filter((g) => !wanted.has(g.key)), `"${FILTERS[i]}" got only matching flows`).toEqual([]);
      expect(a.got.length, `"${FILTERS[i]}" no duplicates`).toBe(new Set(a.got.map((g) => g.key)).size);
      expect(a.uncovered, `"${FILTERS[i]}" missing flows outside every announced span`).toEqual([]);
      // delivered in the order stored (within the stream) and as stored: the full item, not a summary
      for (const g of a.got.slice(0, 20)) expect(g).toEqual(items.find((x) => x.key === g.key));
    }

    // the stalled viewer: the server kept at most its buffer (plus one chunk) for it
    const stalled = env.rt.live.stats().viewers[stalledIndex];
    expect(maxBuffered).toBeGreaterThan(QUEUE_BYTES / 2);
    expect(maxBuffered).toBeLessThanOrEqual(QUEUE_BYTES + STREAM_BYTES + 4096);
    expect(stalled.sent + stalled.queued).toBeLessThan(TOTAL);
    expect(stalled.pending.slow + stalled.pending.rate).toBe(TOTAL - stalled.sent - stalled.queued);
    // it reads now: what was buffered, then how many it skipped
    const late = new SseReader(stalledRes.body!);
    await waitFor(() => accounted(late, items).done, "the late reader: delivered + announced = all", 20_000);
    const a = accounted(late, items);
    expect(a.got.length).toBe(stalled.sent + stalled.queued);
    expect(a.uncovered).toEqual([]);
    expect(a.announced).toBe(TOTAL - stalled.sent - stalled.queued);

    for (const ac of aborts) ac.abort();
    await waitFor(() => env.rt.live.listeners === 0, "every viewer released", 10_000);
  });
});
