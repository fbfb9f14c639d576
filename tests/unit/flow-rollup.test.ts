import { toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { splitResponse, type FlowRow } from "@/server/flow-codec/split-flow";
import { latencyBucket, rollUp, servicePort } from "@/server/domain/flows/flow-rollup";
import { buildFlow, dnsResponse, httpResponse, responseOf, tcp } from "../fixtures/flow-builder";

const row = (f: Parameters<typeof responseOf>[0]): FlowRow => {
  const s = splitResponse(Buffer.from(toBinary(GetFlowsResponseSchema, responseOf(f))));
  if (s.kind !== "flow") throw new Error("not a flow");
  return s.row;
};

describe("flow rollups", () => {
  it("keys a reply by the server's port, not the client's ephemeral one", () => {
    const r = row(buildFlow({ l4: tcp(8080, 43210) }));
    expect(servicePort(r, true)).toBe(8080);
    expect(servicePort(r, false)).toBe(43210);
    expect(servicePort({ l4: 3, sport: 8, dport: 0 }, false)).toBe(0); // ICMP has no ports
  });

  it("buckets latencies by powers of two of microseconds", () => {
    expect(latencyBucket(500n)).toBe(0);
    expect(latencyBucket(1_999n)).toBe(0);
    expect(latencyBucket(2_000n)).toBe(1);
    expect(latencyBucket(1_000_000n)).toBe(9); // 1 ms = 1000 µs → 2^9..2^10
    expect(latencyBucket(10n ** 15n)).toBe(25);
  });

  it("counts flows, HTTP classes, DNS rcodes and latencies per minute and context", () => {
    const t = BigInt(Date.parse("2026-11-23T18:00:10Z")) * 1_000_000n;
    const rows = [
      row(httpResponse(200, "GET", "http://b/", { time: t })),
      row(httpResponse(503, "GET", "http://b/", { time: t + 1n })),
      row(dnsResponse("x.", { rcode: 3 }, { time: t + 2n })),
      row(dnsResponse("x.", { rcode: 42 }, { time: t + 60_000_000_000n })),
    ];
    const out = rollUp(rows, [1, 1, 2, 2], () => false);
    const byCtx = (id: number) => out.filter((r) => r.ctxId === id);
    expect(byCtx(1)).toHaveLength(1);
    expect(byCtx(1)[0].flows).toBe(2);
    expect(byCtx(1)[0].httpStatus).toEqual([0, 1, 0, 0, 1, 0]);
    expect(byCtx(2)).toHaveLength(2); // two minutes
    expect(byCtx(2)[0].dnsRcodes[3] + byCtx(2)[1].dnsRcodes[3]).toBe(1);
    expect(byCtx(2)[0].dnsRcodes[6] + byCtx(2)[1].dnsRcodes[6]).toBe(1); // unknown rcode
    expect(out.reduce((s, r) => s + r.latencyHist.reduce((a, b) => a + b, 0), 0)).toBe(rows.filter((r) => (r.latencyNs ?? 0n) > 0n).length);
  });

  it("groups by minute, context, L4 kind and port whatever the values (numbers packed or not)", () => {
    const base = row(buildFlow({ l4: tcp(1, 2) }));
    const NS_MIN = 60_000_000_000n;
    const tsArb = fc.oneof(fc.bigInt({ min: -3n * NS_MIN, max: 3n * NS_MIN }), fc.constantFrom(-NS_MIN, -1n, 0n, NS_MIN - 1n, NS_MIN, 2n ** 62n));
    const flowArb = fc.record({
      ts: tsArb,
      ctx: fc.constantFrom(1, 2, 2 ** 31 - 1),
      l4: fc.constantFrom(0, 1, 2, 5, 7),
      dport: fc.constantFrom(0, 53, 65535, 65536, 0x7fffffff),
    });
    fc.assert(
      fc.property(fc.array(flowArb, { maxLength: 60 }), (fs) => {
        const rows = fs.map((f) => ({ ...base, ts: f.ts, l4: f.l4, dport: f.dport, sport: 7 }));
        const out = rollUp(rows, fs.map((f) => f.ctx), () => false);
        // the definition: one group per distinct key, in order of first appearance
        const want = new Map<string, { flows: number; first: bigint; last: bigint }>();
        rows.forEach((r, i) => {
          const k = `${Number(r.ts / NS_MIN)}|${fs[i].ctx}|${r.l4}|${servicePort(r, false)}`;
          const g = want.get(k);
          if (!g) want.set(k, { flows: 1, first: r.ts, last: r.ts });
          else (g.flows++, (g.first = r.ts < g.first ? r.ts : g.first), (g.last = r.ts > g.last ? r.ts : g.last));
        });
        expect(out.map((g) => [`${g.minute}|${g.ctxId}|${g.l4}|${g.port}`, { flows: g.flows, first: g.firstTs, last: g.lastTs }])).toEqual([...want]);
      }),
    );
  });
});
