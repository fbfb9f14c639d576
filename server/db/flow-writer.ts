/**
 * Writes a batch of split flows: resolves the few new contexts/summaries, makes sure the day
 * partitions exist, then one binary COPY for all rows.
 */
import { createHash } from "node:crypto";
import type { FlowRow } from "@/server/flow-codec/split-flow";
import type { Database } from "./connection";
import { CopyBinaryWriter } from "./copy-binary";
import { DimensionRepo, type NewContext } from "./dimension-repo";
import { FlowPartitions, dayOf } from "./flow-partitions";

export const FLOW_COLUMNS = [
  "ts",
  "key",
  "ctx_id",
  "l4",
  "sport",
  "dport",
  "tcp_flags",
  "key_derived",
  "summary_id",
  "l7_type",
  "l7_kind",
  "latency_ns",
  "dns_query",
  "dns_rcode",
  "http_code",
  "http_method",
  "http_url",
  "l7",
  "rest",
  "resp_ts",
] as const;

const INT2_MAX = 32_767;
const int2 = (v: number | null) => (v === null || v > INT2_MAX ? null : v);
const noNul = (s: string | null) => (s !== null && s.includes("\u0000") ? s.replaceAll("\u0000", "\uFFFD") : s);

export class FlowWriter {
  readonly dimensions: DimensionRepo;
  readonly partitions: FlowPartitions;

  constructor(private readonly db: Database) {
    this.dimensions = new DimensionRepo(db);
    this.partitions = new FlowPartitions(db);
  }

  async write(rows: readonly FlowRow[]): Promise<void> {
    if (rows.length === 0) return;
    const freshContexts = new Map<string, NewContext>();
    const freshSummaries = new Map<string, string>();
    const summaryTexts: (string | null)[] = new Array(rows.length);
    const days = new Set<number>();
    let lastDay = Number.NaN;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      if (this.dimensions.cachedContextId(r.ctxHash) === undefined) {
        freshContexts.set(r.ctxHash.toString("latin1"), { hash: r.ctxHash, raw: r.ctxRaw, responseNodeName: r.responseNodeName });
      }
      if (r.summary) {
        // the text itself is the cache key (few distinct values); md5 only for new ones (the DB key)
        const text = r.summary.toString("utf8");
        summaryTexts[i] = text;
        if (this.dimensions.cachedSummaryId(text) === undefined) freshSummaries.set(text, createHash("md5").update(r.summary).digest("hex"));
      } else summaryTexts[i] = null;
      const day = dayOf(r.ts);
      if (day !== lastDay) {
        days.add(day);
        lastDay = day;
      }
    }
    await this.dimensions.resolveContexts([...freshContexts.values()]);
    await this.dimensions.resolveSummaries(freshSummaries);
    await this.partitions.ensure(days);

    const w = new CopyBinaryWriter(rows.length * 160 + 1024);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const ctxId = this.dimensions.cachedContextId(r.ctxHash);
      if (ctxId === undefined) throw new Error("flow context was not stored"); // the cache was cleared mid-batch
      const st = summaryTexts[i];
      w.row(FLOW_COLUMNS.length);
      w.int8(r.ts);
      w.raw(r.key);
      w.int4(ctxId);
      w.int2(int2(r.l4) ?? 0);
      w.int4(r.sport);
      w.int4(r.dport);
      w.int2(r.tcpFlags);
      w.bool(r.keyDerived);
      w.int4(st === null ? null : this.dimensions.cachedSummaryId(st)!);
      w.int4(r.l7Type !== null && r.l7Type <= 0x7fffffff ? r.l7Type : null);
      w.int2(r.l7Kind);
      w.int8(r.latencyNs);
      w.text(noNul(r.dnsQuery));
      w.int4(r.dnsRcode);
      w.int4(r.httpCode);
      w.text(noNul(r.httpMethod));
      w.text(noNul(r.httpUrl));
      w.raw(r.l7);
      w.raw(r.rest);
      w.int8(r.respTs);
    }
    await this.db.copyIn("flows", FLOW_COLUMNS, w.finish());
  }
}
