/**
 * Fan-out of newly stored flows to open /api/live streams. Flows are turned into hubble JSON only
 * while someone listens, and at most `budgetPerSecond` of them: past that, the rest of a batch is
 * announced to every viewer as a `rate` skip instead of the server falling behind. Each converted
 * flow is serialised once, on first match, and shared by every viewer it matches; each viewer
 * holds a bounded number of bytes for its client (live-viewer.ts).
 */
import type { FlowItem } from "@/server/domain/flow-item";
import type { FlowRow } from "@/server/flow-codec/split-flow";
import { LiveFlowConverter, type LiveFlow } from "./live-flow";
import { LiveViewer, type LiveBatch, type LiveViewerOptions, type LiveViewerStats } from "./live-viewer";

export interface LiveHubOptions extends LiveViewerOptions {
  /** flows converted for live viewers per second, across all of them */
  budgetPerSecond: number;
}

export const LIVE_DEFAULTS: LiveHubOptions = {
  budgetPerSecond: 20_000, // FLOWLENS_LIVE_RATE
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
}

export class LiveHub {
  private readonly viewers = new Set<LiveViewer>();
  private readonly converter = new LiveFlowConverter();
  private readonly opts: LiveHubOptions;
  private windowStart = 0;
  private usedInWindow = 0;
  private converted = 0;
  private unconverted = 0;
  private timer?: NodeJS.Timeout;

  constructor(opts: Partial<LiveHubOptions> = {}) {
    this.opts = { ...LIVE_DEFAULTS, ...opts };
  }

  get listeners(): number {
    return this.viewers.size;
  }

  /** A new viewer of the flows matching `match`; its `stream` is the SSE body. Closes on `signal`. */
  open(match: (item: FlowItem) => boolean, signal?: AbortSignal, onClose?: () => void): LiveViewer {
    const viewer = new LiveViewer(match, this.opts, (v) => {
      this.viewers.delete(v);
      if (this.viewers.size === 0) this.stopTimer();
      onClose?.();
    });
    this.viewers.add(viewer);
    this.timer ??= setInterval(() => this.tick(), 1000).unref();
    if (signal?.aborted) viewer.close();
    else signal?.addEventListener("abort", () => viewer.close(), { once: true });
    return viewer;
  }

  private tick(): void {
    const now = Date.now();
    for (const v of [...this.viewers]) v.tick(now);
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  publish(rows: readonly FlowRow[]): void {
    if (this.viewers.size === 0 || rows.length === 0) return;
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.usedInWindow = 0;
    }
    const take = Math.min(Math.max(0, this.opts.budgetPerSecond - this.usedInWindow), rows.length);
    this.usedInWindow += take;
    const flows: LiveFlow[] = [];
    // newest rows are the most useful when we cannot convert all of them
    const from = rows.length - take;
    for (let i = from; i < rows.length; i++) flows.push(this.converter.convert(rows[i]));
    const batch: LiveBatch = { flows };
    if (from > 0) {
      let firstNs = rows[0].ts;
      let lastNs = firstNs;
      for (let i = 1; i < from; i++) {
        const ts = rows[i].ts;
        if (ts < firstNs) firstNs = ts;
        if (ts > lastNs) lastNs = ts;
      }
      batch.unconverted = { count: from, firstNs, lastNs };
    }
    this.converted += take;
    this.unconverted += from;
    for (const v of [...this.viewers]) v.offer(batch, now);
  }

  /** open viewers in the order they opened */
  stats(): LiveHubStats {
    const viewers = [...this.viewers].map((v) => v.stats());
    return { viewers, converted: this.converted, unconverted: this.unconverted };
  }

  shutdown(): void {
    for (const v of [...this.viewers]) v.close(undefined, "shutdown");
    this.stopTimer();
  }
}
