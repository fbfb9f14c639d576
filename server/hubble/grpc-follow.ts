/**
 * The live half of GetFlows `follow`: every stored batch (LiveHub.tap) matched with the request's
 * filter set (the one matcher, over the same JSON the live SSE stream uses) and sent as the bytes
 * the store gives back, so a flow reads the same from history and from live.
 *
 * The seam, without a gap or a duplicate: the follower subscribes before the history is read, and
 * buffers what is stored meanwhile. Every flow committed before the subscription is in the history;
 * every flow committed after it is in the buffer. A flow can be in both (committed after the
 * subscription, read by a later history page): the history skips keys the buffer holds, and the
 * buffer (and, for a while, the live stream) skips keys the history's newest part sent — a flow is
 * announced right after its commit, so such a flow is among the newest pages.
 */
import type { FlowFilterSet } from "@/server/domain/flows/flow-filter-spec";
import { hasConditions } from "@/server/domain/flows/flow-filter-spec";
import { compileFilterSet } from "@/server/domain/flows/flow-match";
import { rebuildResponseBytes, storedFlowOf, uuidText } from "@/server/flow-codec/rebuild-flow";
import type { FlowRow } from "@/server/flow-codec/split-flow";
import { LiveFlowConverter } from "@/server/live/live-flow";
import { LostEventSource } from "@/proto/gen/flow/flow_pb";
import { lostEventResponse, nsTimestamp, type Outbox } from "./grpc-outbox";

export interface LiveRows {
  tap(fn: (rows: readonly FlowRow[]) => void): () => void;
}

interface Pending {
  key: string;
  ts: bigint;
  bytes: Buffer;
}

/** keys of the history's newest flows kept for the seam */
const RECENT_KEYS = 100_000;
/** how long after the seam live flows are still checked against them */
const SEAM_CHECK_MS = 60_000;

export class FlowFollower {
  private readonly buffer: Pending[] = [];
  private bufferedBytes = 0;
  private overflow: { count: number; firstNs: bigint; lastNs: bigint } | null = null;
  private readonly bufferedKeys = new Set<string>();
  private readonly recent = new Set<string>();
  private readonly recentOrder: string[] = [];
  private out: Outbox | null = null;
  private seamAt = 0;
  private readonly untap: () => void;
  private readonly match: ((row: FlowRow) => boolean) | null;

  constructor(
    live: LiveRows,
    filters: FlowFilterSet,
    private readonly window: { sinceNs?: bigint; untilNs?: bigint },
    private readonly maxBufferBytes: number,
  ) {
    const trivial = filters.blacklist.length === 0 && (filters.whitelist.length === 0 || filters.whitelist.some((s) => !hasConditions(s)));
    if (trivial) this.match = null;
    else {
      const converter = new LiveFlowConverter(5000);
      const test = compileFilterSet(filters);
      this.match = (row) => {
        try {
          return test(converter.convert(row).item);
        } catch {
          return false; // hubble's JSON cannot express it (the history cannot filter it either)
        }
      };
    }
    this.untap = live.tap((rows) => this.onRows(rows));
  }

  private onRows(rows: readonly FlowRow[]): void {
    const { sinceNs, untilNs } = this.window;
    for (const row of rows) {
      if (sinceNs !== undefined && row.ts < sinceNs) continue;
      if (untilNs !== undefined && row.ts >= untilNs) continue;
      if (this.match && !this.match(row)) continue;
      const key = uuidText(row.key.toString("hex"));
      if (this.out) {
        if (this.recent.size > 0 && this.recent.has(key)) continue;
        const { flow, ctx } = storedFlowOf(row);
        this.out.enqueue(rebuildResponseBytes(flow, ctx), row.ts);
        if (this.recent.size > 0 && Date.now() - this.seamAt > SEAM_CHECK_MS) this.recent.clear();
      } else if (this.bufferedBytes > this.maxBufferBytes) {
        // the history takes long and the ingest is fast: count instead of holding everything
        const o = (this.overflow ??= { count: 0, firstNs: row.ts, lastNs: row.ts });
        o.count++;
        if (row.ts < o.firstNs) o.firstNs = row.ts;
        if (row.ts > o.lastNs) o.lastNs = row.ts;
      } else {
        const { flow, ctx } = storedFlowOf(row);
        const bytes = rebuildResponseBytes(flow, ctx);
        this.buffer.push({ key, ts: row.ts, bytes });
        this.bufferedKeys.add(key);
        this.bufferedBytes += bytes.length;
      }
    }
  }

  /** Whether the history must leave this flow to the live part (it was stored after the subscription). */
  buffered(key: string): boolean {
    return this.bufferedKeys.has(key);
  }

  /** The history sent this flow. */
  sentByHistory(key: string): void {
    this.recent.add(key);
    this.recentOrder.push(key);
    if (this.recentOrder.length > RECENT_KEYS) {
      // forget the oldest half at once (shift() per flow would be quadratic)
      for (const k of this.recentOrder.splice(0, RECENT_KEYS / 2)) this.recent.delete(k);
    }
  }

  /**
   * The history is done: what was buffered goes out (minus what the history sent), then the count
   * of what could not be buffered (a LostEvent), then live flows as they are stored.
   */
  seam(out: Outbox, nodeName: string): void {
    for (const p of this.buffer) if (!this.recent.has(p.key)) out.enqueue(p.bytes, p.ts);
    const o = this.overflow;
    if (o) {
      const lost = { source: LostEventSource.OBSERVER_EVENTS_QUEUE, numEventsLost: BigInt(o.count), first: nsTimestamp(o.firstNs), last: nsTimestamp(o.lastNs) };
      out.enqueue(lostEventResponse(lost, nodeName, o.lastNs), o.lastNs);
    }
    this.buffer.length = 0;
    this.bufferedKeys.clear();
    this.recentOrder.length = 0;
    this.seamAt = Date.now();
    this.out = out;
  }

  close(): void {
    this.untap();
  }
}
