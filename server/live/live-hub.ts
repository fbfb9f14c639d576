/**
 * Fan-out of newly stored flows to open /api/live streams. Flows are turned into hubble JSON only
 * while someone listens, and only as many per second as the process can spare: live viewers come
 * after the ingest. The budget starts at `budgetPerSecond` and follows the event loop's
 * utilisation: above `busy` it shrinks, below `idle` it grows back. Rows over the budget are
 * announced to every viewer as a `rate` skip instead of the server falling behind. Each converted
 * flow is serialised once, on first match, and shared by every viewer it matches; each viewer
 * holds a bounded number of bytes for its client (live-viewer.ts).
 */
import { performance, type EventLoopUtilization } from "node:perf_hooks";
import type { FlowFilterSpec } from "@/server/domain/flows/flow-filter-spec";
import { metrics } from "@/server/metrics";
import type { FlowRow } from "@/server/flow-codec/split-flow";
import { LiveFlowConverter, type LiveFlow } from "./live-flow";
import { LiveViewer, type LiveBatch, type LiveViewerOptions, type LiveViewerStats } from "./live-viewer";

export interface LiveHubOptions extends LiveViewerOptions {
  /** at most this many flows converted for live viewers per second, across all of them */
  budgetPerSecond: number;
  /** the budget never goes below this while the process is busy */
  minPerSecond: number;
  /** event loop utilisation (0…1) above which the budget shrinks, and below which it grows */
  busy: number;
  idle: number;
  /** the event loop's utilisation since the previous call; default: performance.eventLoopUtilization */
  utilisation?: () => number;
}

export const LIVE_DEFAULTS: LiveHubOptions = {
  budgetPerSecond: 20_000, // FLOWLENS_LIVE_RATE
  minPerSecond: 500,
  busy: 0.85,
  idle: 0.7,
  // a whole batch (up to 5,000 flows, ~7 MB for a catch-all filter) arrives at once; FLOWLENS_LIVE_QUEUE_MB
  queueBytes: 8 * 1024 * 1024,
  streamBytes: 64 * 1024,
  stallMs: 30_000,
  pingMs: 15_000,
};

export interface LiveHubStats {
  viewers: LiveViewerStats[];
  /** rows the hub converted / left unconverted since it started */
  converted: number;
  unconverted: number;
  /** the budget now (flows per second) */
  budget: number;
}

function eventLoopUtilisation(): () => number {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return u;
  };
}

export class LiveHub {
  private readonly viewers = new Set<LiveViewer>();
  private readonly requests = new Map<LiveViewer, object | undefined>();
  private readonly converter = new LiveFlowConverter();
  private readonly taps = new Set<(rows: readonly FlowRow[]) => void>();
  private readonly opts: LiveHubOptions;
  private windowStart = 0;
  private usedInWindow = 0;
  private converted = 0;
  private unconverted = 0;
  private timer?: NodeJS.Timeout;
  private budget: number;
  private utilisation?: () => number;

  constructor(opts: Partial<LiveHubOptions> = {}) {
    this.opts = { ...LIVE_DEFAULTS, ...opts };
    this.budget = this.opts.budgetPerSecond;
  }

  get listeners(): number {
    return this.viewers.size;
  }

  /**
   * A new viewer of the flows matching `filter`; its `stream` is the SSE body. Closes when
   * `request.signal` aborts. Pass the Request itself, not only its signal: a Request's signal
   * follows the caller's through a weak reference to the Request's own controller, so if nothing
   * held the Request it could be collected while the stream is open and the abort never reach us.
   */
  open(filter: FlowFilterSpec, request?: { readonly signal: AbortSignal }, onClose?: () => void): LiveViewer {
    const signal = request?.signal;
    const viewer = new LiveViewer(filter, this.opts, (v) => {
      this.viewers.delete(v);
      this.requests.delete(v);
      if (this.viewers.size === 0) this.stopTimer();
      onClose?.();
    });
    this.viewers.add(viewer);
    this.requests.set(viewer, request);
    if (!this.timer) {
      this.utilisation = this.opts.utilisation ?? eventLoopUtilisation();
      this.utilisation(); // from now on
      this.timer = setInterval(() => this.tick(), 1000).unref();
    }
    if (signal?.aborted) viewer.close();
    else signal?.addEventListener("abort", () => viewer.close(), { once: true });
    return viewer;
  }

  /** Every second while someone listens: adapt the budget, ping, close stalled viewers. */
  tick(now = Date.now()): void {
    this.adapt(this.utilisation?.() ?? 0);
    for (const v of [...this.viewers]) v.tick(now);
  }

  private adapt(u: number): void {
    const { budgetPerSecond: max, minPerSecond: min, busy, idle } = this.opts;
    if (u > busy) this.budget = Math.max(min, Math.floor(this.budget * 0.7));
    else if (u < idle) this.budget = Math.min(max, Math.ceil(this.budget * 1.25 + min));
    metrics().liveBudget.set(this.budget);
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Every stored batch's rows as they are, for streams that keep the stored bytes (gRPC GetFlows
   * follow): they match and queue for themselves, outside the SSE viewers' budget. Returns the
   * unsubscribe function.
   */
  tap(fn: (rows: readonly FlowRow[]) => void): () => void {
    this.taps.add(fn);
    return () => this.taps.delete(fn);
  }

  get tapCount(): number {
    return this.taps.size;
  }

  publish(rows: readonly FlowRow[]): void {
    if (rows.length > 0) {
      for (const t of [...this.taps]) {
        try {
          t(rows);
        } catch {
          // one stream's failure must not cost the others (or the ingest) their flows
        }
      }
    }
    if (this.viewers.size === 0 || rows.length === 0) return;
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.usedInWindow = 0;
    }
    const take = Math.min(Math.max(0, this.budget - this.usedInWindow), rows.length);
    this.usedInWindow += take;
    const flows: LiveFlow[] = [];
    const batch: LiveBatch = { flows };
    const skip = (ts: bigint) => {
      const u = (batch.unconverted ??= { count: 0, firstNs: ts, lastNs: ts });
      u.count++;
      if (ts < u.firstNs) u.firstNs = ts;
      if (ts > u.lastNs) u.lastNs = ts;
    };
    // newest rows are the most useful when we cannot convert all of them
    const from = rows.length - take;
    for (let i = 0; i < from; i++) skip(rows[i].ts);
    for (let i = from; i < rows.length; i++) {
      try {
        flows.push(this.converter.convert(rows[i]));
      } catch {
        // stored all the same; hubble's JSON cannot express it (a time past year 9999, an Any)
        skip(rows[i].ts);
      }
    }
    this.converted += flows.length;
    this.unconverted += rows.length - flows.length;
    for (const v of [...this.viewers]) v.offer(batch, now);
  }

  /** open viewers in the order they opened */
  stats(): LiveHubStats {
    const viewers = [...this.viewers].map((v) => v.stats());
    return { viewers, converted: this.converted, unconverted: this.unconverted, budget: this.budget };
  }

  shutdown(): void {
    for (const v of [...this.viewers]) v.close(undefined, "shutdown");
    this.stopTimer();
  }
}
