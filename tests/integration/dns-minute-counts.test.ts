/**
 * What the DNS views' reuse rests on: per-minute DNS row counts are remembered, counted again for
 * exactly the minutes the writer reported flows in, after retention, and — for a write the feed
 * cannot see (another process) — once they are older than ten seconds. On real PostgreSQL.
 */
import { toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { DnsMinuteCounts } from "@/server/db/dns/dns-minute-counts";
import { FlowWriter } from "@/server/db/flows/flow-writer";
import { splitResponse, type FlowRow } from "@/server/flow-codec/split-flow";
import { buildFlow, dnsRequest, dnsResponse, responseOf, tcp } from "../fixtures/flow-builder";
import { openTestStore, type TestStore } from "../fixtures/test-db";
import { NS_PER_MINUTE } from "@/server/domain/shared/time";

const M0 = BigInt(Date.parse("2026-10-01T08:00:00Z")) * 1_000_000n / NS_PER_MINUTE;
let seq = 0;

function rows(minute: bigint, dns: number, other = 0): FlowRow[] {
  const out: FlowRow[] = [];
  for (let i = 0; i < dns + other; i++) {
    const time = minute * NS_PER_MINUTE + BigInt(++seq) * 1_000_000n;
    const flow = i >= dns ? buildFlow({ time, l4: tcp(40000, 443) }) : i % 2 ? dnsResponse(`n${seq}.example.`, { rcode: 0, ips: [] }, { time }) : dnsRequest(`n${seq}.example.`, { time });
    const split = splitResponse(Buffer.from(toBinary(GetFlowsResponseSchema, responseOf(flow))));
    if (split.kind !== "flow") throw new Error("not a flow");
    out.push(split.row);
  }
  return out;
}

describe("DNS minute counts", () => {
  let store: TestStore;
  let writer: FlowWriter;
  let counts: DnsMinuteCounts;
  const window = () => counts.counts(M0, M0 + 2n);

  beforeAll(async () => {
    store = await openTestStore("postgres");
    writer = new FlowWriter(store.db);
    counts = new DnsMinuteCounts(store.db, writer.rollupFeed);
  });
  afterAll(async () => store?.cleanup());

  it("counts requests and responses per minute, and remembers them", async () => {
    await writer.write([...rows(M0, 4, 3), ...rows(M0 + 2n, 2)]);
    expect(await window()).toEqual(new Map([[M0, 4], [M0 + 2n, 2]]));
    const reads = counts.readsOf(M0, M0 + 2n);
    expect(await window()).toEqual(new Map([[M0, 4], [M0 + 2n, 2]]));
    expect(counts.readsOf(M0, M0 + 2n)).toBe(reads);
  });

  it("counts again only the minute the writer wrote to", async () => {
    const [first, second, third] = [M0, M0 + 1n, M0 + 2n].map((m) => counts.readsOf(m, m));
    await writer.write(rows(M0 + 1n, 2, 1));
    expect(await window()).toEqual(new Map([[M0, 4], [M0 + 1n, 2], [M0 + 2n, 2]]));
    expect([M0, M0 + 1n, M0 + 2n].map((m) => counts.readsOf(m, m))).toEqual([first, second + 1, third]);
  });

  it("sees a write the feed did not report once the counts are ten seconds old", async () => {
    await new FlowWriter(store.db).write(rows(M0, 2));
    expect((await window()).get(M0)).toBe(4);
    expect((await counts.counts(M0, M0 + 2n, Date.now() + 11_000)).get(M0)).toBe(6);
  });

  it("starts over after retention", async () => {
    await writer.dropBefore((M0 + 24n * 60n) * NS_PER_MINUTE);
    expect(await window()).toEqual(new Map());
  });
});
