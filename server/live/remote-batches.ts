/**
 * Live views of flows another process stored (FLOWLENS_ROLE=web, or a replica that does not hold
 * the ingest lease): each committed batch is announced by NOTIFY (server/db/batch-notify.ts); this
 * reads the batch's rows back, rebuilt as the exact GetFlowsResponse bytes and split as the ingest
 * splits them, and hands them to the live hub, as the ingest does with its own batches. The map
 * hears of rollups the writer upserted, so its newest minutes are re-read.
 *
 * Rows are read only while someone watches /api/live. A time range can hold rows of other batches
 * (nodes written side by side): keys already published are skipped, so a flow is published once.
 */
import type { FlowReader } from "@/server/db/flow-reader";
import { parseBatchNotice, type BatchNotice } from "@/server/db/batch-notify";
import { splitResponse, type FlowRow } from "@/server/flow-codec/split-flow";
import { RecentKeys } from "@/server/ingest/recent-keys";
import { metrics } from "@/server/metrics";

export interface RemoteBatchesOptions {
  self: string;
  reader: Pick<FlowReader, "allBytes">;
  /** is anyone watching the live stream */
  watching: () => boolean;
  publish: (rows: FlowRow[]) => void;
  /** another process changed flow_rollups: in-memory copies of the newest minutes start over */
  rollupsChanged: () => void;
  log: { warn: (o: object, m?: string) => void };
}

/** batches' keys remembered this long (ns) past the newest one read */
const KEY_WINDOW_NS = 120_000_000_000n;

export class RemoteBatches {
  private pending: { minTs: bigint; maxTs: bigint } | null = null;
  private running: Promise<void> | null = null;
  private readonly seen = new RecentKeys(KEY_WINDOW_NS);
  /** batches announced / flows published from them (tests, status) */
  notices = 0;
  published = 0;

  constructor(private readonly o: RemoteBatchesOptions) {}

  /** a NOTIFY payload */
  onPayload(payload: string): void {
    const n = parseBatchNotice(payload);
    if (n) this.onNotice(n);
  }

  onNotice(n: BatchNotice): void {
    if (n.origin === this.o.self) return;
    this.notices++;
    metrics().remoteBatches.inc();
    if (n.rollupsFlushed) this.o.rollupsChanged();
    if (!this.o.watching()) return;
    const p = this.pending;
    this.pending = p ? { minTs: n.minTs < p.minTs ? n.minTs : p.minTs, maxTs: n.maxTs > p.maxTs ? n.maxTs : p.maxTs } : { minTs: n.minTs, maxTs: n.maxTs };
    this.running ??= this.drain().finally(() => (this.running = null));
  }

  /** resolves when every announced batch has been read (tests) */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.pending) {
      const range = this.pending;
      this.pending = null;
      try {
        await this.read(range.minTs, range.maxTs);
      } catch (e) {
        this.o.log.warn({ err: String(e) }, "reading another process's stored batch for live viewers failed");
      }
    }
  }

  private async read(minTs: bigint, maxTs: bigint): Promise<void> {
    const pages: { key: string; bytes: Buffer }[][] = [];
    for await (const page of this.o.reader.allBytes({ filter: {}, sinceNs: minTs, untilNs: maxTs + 1n })) pages.push(page);
    const rows: FlowRow[] = [];
    // pages come newest first: live viewers get them in time order, as from the ingest
    for (let i = pages.length - 1; i >= 0; i--) {
      const page = pages[i];
      for (let j = page.length - 1; j >= 0; j--) {
        const split = splitResponse(page[j].bytes);
        if (split.kind !== "flow") continue;
        if (!this.seen.add(split.row.key.toString("hex"), split.row.ts)) continue;
        rows.push(split.row);
      }
    }
    if (rows.length === 0) return;
    this.published += rows.length;
    this.o.publish(rows);
  }
}
