/**
 * Writes a batch of split flows: resolves the few new contexts/summaries, makes sure the day
 * partitions exist, then one binary COPY for all rows.
 */
import { createHash } from "node:crypto";
import type { FlowRow } from "@/server/flow-codec/split-flow";
import { DNS_RCODES, HTTP_CLASSES, LATENCY_BUCKETS, rollUp, type Rollup } from "@/server/ingest/flow-rollup";
import type { CopyTarget, Database, Queryable } from "./connection";
import { CopyBinaryWriter } from "./copy-binary";
import { DimensionRepo, type NewContext } from "./dimension-repo";
import {
  insertSideRecords,
  isFlowRow,
  prepareSideRecords,
  quarantineFlow,
  sideRecordCount,
  type IngestRecord,
  type SideRecord,
} from "./ingest-records";
import { FlowPartitions, dayOf } from "./flow-partitions";
import { ROLLUP_RECOUNT_SQL } from "./rollup-recount-sql";
import { RollupFeed } from "./rollup-feed";
import { isTransientStoreError } from "./store-errors";

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
  "ts_synthetic",
  "resp_rest",
] as const;

const INT2_MAX = 32_767;
const int2 = (v: number | null) => (v === null || v > INT2_MAX ? null : v);
const noNul = (s: string | null) => (s !== null && s.includes("\u0000") ? s.replaceAll("\u0000", "\uFFFD") : s);

export interface PreparedBatch {
  /** binary COPY data, null when the batch has no flows to store */
  data: Buffer | null;
  /** this batch's own rollup rows */
  rollups: Rollup[];
  /** the flows the COPY stores (a flow whose context does not decode is quarantined instead) */
  stored: FlowRow[];
  /** lost events, node status, gaps and quarantined responses, inserted in the same transaction */
  side: ReturnType<typeof prepareSideRecords>;
  /**
   * Runs first in the batch's transaction (set by the ingest after prepare): the lease fence and the
   * per-node resume point, so they commit or fail with the flows (docs/adr/0011).
   */
  inTransaction?: (tx: CopyTarget) => Promise<void>;
}

/** What a committed batch of flows held: told inside its transaction (a NOTIFY is sent at commit). */
export interface CommittedBatchInfo {
  count: number;
  minTs: bigint;
  maxTs: bigint;
  /** the pending rollup rows were upserted with this batch */
  rollupsFlushed: boolean;
}

const rollupKey = (r: Rollup) => `${r.minute}|${r.ctxId}|${r.l4}|${r.port}`;

/** adds rows into a keyed set of rollups (the upsert's semantics); rows already there are changed in place */
function addRollups(into: Map<string, Rollup>, rows: readonly Rollup[]): void {
  for (const r of rows) {
    const k = rollupKey(r);
    const g = into.get(k);
    if (!g) {
      into.set(k, { ...r, httpStatus: [...r.httpStatus], dnsRcodes: [...r.dnsRcodes], latencyHist: [...r.latencyHist] });
      continue;
    }
    g.flows += r.flows;
    if (r.firstTs < g.firstTs) g.firstTs = r.firstTs;
    if (r.lastTs > g.lastTs) g.lastTs = r.lastTs;
    g.httpRequests += r.httpRequests;
    g.dnsRequests += r.dnsRequests;
    r.httpStatus.forEach((x, i) => (g.httpStatus[i] += x));
    r.dnsRcodes.forEach((x, i) => (g.dnsRcodes[i] += x));
    r.latencyHist.forEach((x, i) => (g.latencyHist[i] += x));
  }
}

const ROLLUP_FLUSH_MS = 1000;

export class FlowWriter {
  readonly dimensions: DimensionRepo;
  readonly partitions: FlowPartitions;
  /** every committed rollup change, for in-process readers (the map keeps its newest minutes current) */
  readonly rollupFeed = new RollupFeed();
  /** rollups of committed flows not yet in flow_rollups */
  private pendingRollups = new Map<string, Rollup>();
  /** told when pending rollup rows were refused by the store and dropped (they are recounted at the next start) */
  rollupFlushFailed?: (err: unknown, rows: number) => void;
  private lastRollupFlush = Date.now();
  /** inside every transaction that stores flows, after them (the live fan-out's NOTIFY) */
  announce?: (tx: CopyTarget, info: CommittedBatchInfo) => Promise<void>;

  constructor(private readonly db: Database) {
    this.dimensions = new DimensionRepo(db);
    this.partitions = new FlowPartitions(db);
    this.rollupFeed.pending = () => [...this.pendingRollups.values()];
  }

  /** Retention: drops whole day partitions and the rollups of the same time. */
  async dropBefore(beforeNs: bigint): Promise<string[]> {
    const dropped = await this.partitions.dropBefore(beforeNs);
    await this.rollupFeed.around(
      () => this.db.query("DELETE FROM flow_rollups WHERE minute < $1", [Number(beforeNs / 60_000_000_000n)]),
      () => null,
    );
    return dropped;
  }

  async write(records: readonly IngestRecord[]): Promise<void> {
    await this.commit(await this.prepare(records));
  }

  /**
   * Resolves new contexts/summaries, ensures partitions and encodes the COPY data and rollups.
   * Flows whose context does not decode become quarantine records here (every read of them would
   * fail the same way); the records that are not flows are prepared for their own tables.
   */
  async prepare(records: readonly IngestRecord[]): Promise<PreparedBatch> {
    let rows: FlowRow[] = [];
    const sideRecords: SideRecord[] = [];
    for (const r of records) {
      if (isFlowRow(r)) rows.push(r);
      else sideRecords.push(r);
    }
    if (rows.length === 0) return { data: null, rollups: [], stored: [], side: prepareSideRecords(sideRecords) };
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
    const rejected = await this.dimensions.resolveContexts([...freshContexts.values()]);
    if (rejected.size > 0) {
      const kept: FlowRow[] = [];
      const keptSummaries: (string | null)[] = [];
      rows.forEach((r, i) => {
        const why = rejected.get(r.ctxHash.toString("latin1"));
        if (why === undefined) {
          kept.push(r);
          keptSummaries.push(summaryTexts[i]);
        } else sideRecords.push(quarantineFlow(r, why, "decode"));
      });
      rows = kept;
      summaryTexts.splice(0, summaryTexts.length, ...keptSummaries);
    }
    await this.dimensions.resolveSummaries(freshSummaries);
    await this.partitions.ensure(days);

    const ctxIds = new Int32Array(rows.length);
    const w = new CopyBinaryWriter(rows.length * 160 + 1024);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const ctxId = this.dimensions.cachedContextId(r.ctxHash);
      if (ctxId === undefined) throw new Error("flow context was not stored"); // the cache was cleared mid-batch
      ctxIds[i] = ctxId;
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
      w.bool(r.tsSynthetic ? true : null);
      w.raw(r.respRest);
    }
    return {
      data: rows.length ? w.finish() : null,
      rollups: rollUp(rows, ctxIds, (id) => this.dimensions.contextIsReply(id)),
      stored: rows,
      side: prepareSideRecords(sideRecords),
    };
  }

  /** Commits the rollups still pending (after a drain, at shutdown, in tests). */
  async flushRollups(): Promise<void> {
    const taken = this.pendingRollups;
    if (taken.size === 0) return;
    this.pendingRollups = new Map();
    this.lastRollupFlush = Date.now();
    try {
      // readers already counted these rows when their flows committed: nothing new to announce
      await this.rollupFeed.around(
        () => upsertRollups(this.db, [...taken.values()]),
        () => [],
      );
    } catch (e) {
      addRollups(taken, [...this.pendingRollups.values()]);
      this.pendingRollups = taken;
      throw e;
    }
  }

  /**
   * Forgets the pending rollup rows without writing them: this replica lost its ingest lease, and
   * the next holder recounts those minutes from the raw flows (repairRollups) — writing them too
   * would count them twice.
   */
  async discardPendingRollups(): Promise<void> {
    await this.rollupFeed.around(
      async () => {
        this.pendingRollups = new Map();
      },
      () => null,
    );
  }

  /** Adds rollup rows straight to the table (no flows behind them: benchmarks) and announces them. */
  async writeRollups(rollups: Rollup[]): Promise<void> {
    if (rollups.length === 0) return;
    await this.rollupFeed.around(
      () => upsertRollups(this.db, rollups),
      () => rollups,
    );
  }

  /**
   * At start: flows committed after the last rollup flush of a process that died have no rollups.
   * Recounts the newest rolled-up minute and everything after it from the raw flows.
   */
  async repairRollups(): Promise<number> {
    const [{ minute }] = await this.db.query<{ minute: number | null }>("SELECT max(minute) AS minute FROM flow_rollups");
    const [{ ts }] = await this.db.query<{ ts: string | null }>("SELECT max(ts)::text AS ts FROM flows");
    if (ts === null) return 0;
    const from = minute ?? Number(BigInt(ts) / 60_000_000_000n) - 60 * 24 * 366;
    const recount = () => this.db.transaction(async (tx) => {
      await tx.query("DELETE FROM flow_rollups WHERE minute >= $1", [from]);
      const rows = await tx.query<{ n: string }>(
        `WITH ins AS (INSERT INTO flow_rollups (minute, ctx_id, l4, port, flows, first_ts, last_ts, http_requests, http_status,
           dns_requests, dns_rcodes, latency_hist) ${ROLLUP_RECOUNT_SQL} RETURNING 1) SELECT count(*)::text AS n FROM ins`,
        [String(BigInt(from) * 60_000_000_000n)],
      );
      return Number(rows[0].n);
    });
    return this.rollupFeed.around(recount, () => null);
  }

  /**
   * Per-node ingest, when this replica takes a node over: the previous holder may have died with
   * that node's rollups pending. Recounts the node's contexts from the minute of `fromNs` on (other
   * nodes' rollups, pending in other replicas, are left alone: contexts are per node).
   */
  async repairNodeRollups(node: string, fromNs: bigint): Promise<number> {
    const from = Number(fromNs / 60_000_000_000n);
    const nodeCtx = "(SELECT id FROM flow_contexts WHERE node_name = $2)";
    const recount = () =>
      this.db.transaction(async (tx) => {
        await tx.query(`DELETE FROM flow_rollups WHERE minute >= $1 AND ctx_id IN ${nodeCtx}`, [from, node]);
        const rows = await tx.query<{ n: string }>(
          `WITH ins AS (INSERT INTO flow_rollups (minute, ctx_id, l4, port, flows, first_ts, last_ts, http_requests, http_status,
             dns_requests, dns_rcodes, latency_hist) ${ROLLUP_RECOUNT_SQL.replace("WHERE f.ts >= $1::bigint", `WHERE f.ts >= $1::bigint AND f.ctx_id IN ${nodeCtx}`)}
             RETURNING 1) SELECT count(*)::text AS n FROM ins`,
          [String(BigInt(from) * 60_000_000_000n), node],
        );
        return Number(rows[0].n);
      });
    return this.rollupFeed.around(recount, () => null);
  }

  /**
   * Stores a batch's flows. Its rollups are counted at once for in-process readers (the feed) and
   * go to flow_rollups with a batch about once a second: upserting every batch's rollups cost as
   * much as the COPY itself. What is pending when the process dies is recounted from the raw flows
   * at the next start (repairRollups).
   */
  async commit(p: PreparedBatch): Promise<void> {
    const data = p.data;
    if (!data) {
      if (sideRecordCount(p.side) || p.inTransaction)
        await this.db.transaction(async (tx) => {
          await p.inTransaction?.(tx);
          await insertSideRecords(tx, p.side);
        });
      return;
    }
    await this.rollupFeed.around(
      async () => {
        const flush = Date.now() - this.lastRollupFlush >= ROLLUP_FLUSH_MS;
        // a copy: if the transaction fails (and is retried) the pending rows must be as they were
        const rows = flush ? new Map<string, Rollup>() : null;
        if (rows) {
          addRollups(rows, [...this.pendingRollups.values()]);
          addRollups(rows, p.rollups);
        }
        const write = (withRollups: boolean) =>
          this.db.transaction(async (tx) => {
            await p.inTransaction?.(tx);
            await tx.copyIn("flows", FLOW_COLUMNS, data);
            await insertSideRecords(tx, p.side);
            if (withRollups && rows) await upsertRollups(tx, [...rows.values()]);
            if (this.announce && p.stored.length) {
              let minTs = p.stored[0].ts;
              let maxTs = minTs;
              for (const r of p.stored) {
                if (r.ts < minTs) minTs = r.ts;
                if (r.ts > maxTs) maxTs = r.ts;
              }
              await this.announce(tx, { count: p.stored.length, minTs, maxTs, rollupsFlushed: withRollups && rows !== null });
            }
          });
        try {
          await write(true);
        } catch (e) {
          // Rollups pending from earlier batches ride along with this one: if they are what the
          // store refuses, every later batch would fail with them. Such rows are dropped (the next
          // start recounts rollups from the raw flows) and this batch's own flows are stored.
          if (!rows || isTransientStoreError(e)) throw e;
          await write(false);
          this.rollupFlushFailed?.(e, rows.size);
          return "dropped" as const;
        }
        return flush ? ("flushed" as const) : ("pending" as const);
      },
      (outcome) => {
        if (outcome === "pending") {
          addRollups(this.pendingRollups, p.rollups);
          return p.rollups;
        }
        this.pendingRollups = new Map();
        this.lastRollupFlush = Date.now();
        // dropped: readers start over from flow_rollups, which does not have those rows
        return outcome === "flushed" ? p.rollups : null;
      },
    );
  }
}

const ROLLUP_SQL = (() => {
  const http = Array.from({ length: HTTP_CLASSES }, (_, i) => `h${i}`);
  const dns = Array.from({ length: DNS_RCODES }, (_, i) => `d${i}`);
  const lat = Array.from({ length: LATENCY_BUCKETS }, (_, i) => `lat${i}`);
  const scalars = ["minute", "ctx", "l4", "port", "flows", "first", "last", "hreq", ...http, "dreq", ...dns, ...lat];
  const cast = (c: string) => (c === "first" || c === "last" ? "bigint[]" : "int[]");
  const merge = (col: string, n: number) =>
    `${col} = ARRAY[${Array.from({ length: n }, (_, i) => `r.${col}[${i + 1}] + EXCLUDED.${col}[${i + 1}]`).join(", ")}]`;
  return {
    columns: scalars,
    sql: `INSERT INTO flow_rollups AS r (minute, ctx_id, l4, port, flows, first_ts, last_ts, http_requests, http_status,
        dns_requests, dns_rcodes, latency_hist)
      SELECT u.minute, u.ctx, u.l4, u.port, u.flows, u.first, u.last, u.hreq, ARRAY[${http.map((c) => `u.${c}`).join(", ")}],
        u.dreq, ARRAY[${dns.map((c) => `u.${c}`).join(", ")}], ARRAY[${lat.map((c) => `u.${c}`).join(", ")}]
      FROM unnest(${scalars.map((c, i) => `$${i + 1}::${cast(c)}`).join(", ")}) AS u(${scalars.join(", ")})
      ON CONFLICT (minute, ctx_id, l4, port) DO UPDATE SET
        flows = r.flows + EXCLUDED.flows,
        first_ts = LEAST(r.first_ts, EXCLUDED.first_ts),
        last_ts = GREATEST(r.last_ts, EXCLUDED.last_ts),
        http_requests = r.http_requests + EXCLUDED.http_requests,
        dns_requests = r.dns_requests + EXCLUDED.dns_requests,
        ${merge("http_status", HTTP_CLASSES)},
        ${merge("dns_rcodes", DNS_RCODES)},
        ${merge("latency_hist", LATENCY_BUCKETS)}`,
  };
})();

/** One statement per batch: flat scalar arrays through unnest (no JSON parsing, no per-row subqueries). */
async function upsertRollups(q: Queryable, rollups: Rollup[]): Promise<void> {
  if (rollups.length === 0) return;
  const params: unknown[][] = ROLLUP_SQL.columns.map(() => new Array(rollups.length));
  rollups.forEach((r, j) => {
    const values = [r.minute, r.ctxId, r.l4, r.port, r.flows, String(r.firstTs), String(r.lastTs), r.httpRequests, ...r.httpStatus, r.dnsRequests, ...r.dnsRcodes, ...r.latencyHist];
    for (let i = 0; i < values.length; i++) params[i][j] = values[i];
  });
  await q.query(ROLLUP_SQL.sql, params);
}
