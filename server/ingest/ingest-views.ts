/**
 * What /api/status and the tests read of "the ingest", whatever runs it: one IngestService (a
 * Relay), one per leased node (per-node ingest), or none in this process (FLOWLENS_ROLE=web: the
 * ingest replicas' committed batches, as heard through NOTIFY).
 */
import type { IngestService, IngestState, NodeInfo } from "./ingest-service";
import { RateMeter } from "./rate-meter";

export type IngestView = Pick<
  IngestService,
  "state" | "lastError" | "nodes" | "received" | "stored" | "duplicates" | "quarantined" | "reconnects" | "queueDepth" | "flush"
> & { readonly rate: Pick<RateMeter, "perSecond"> };

/** Per-node ingest: the sum of this replica's node streams. */
export class NodeIngestsView implements IngestView {
  /** the streams this replica runs, by node */
  readonly streams = new Map<string, IngestService>();
  /** the Peer service's node list (every node, whoever ingests it) */
  peerNodes: () => string[] = () => [];
  peerError: () => string | undefined = () => undefined;

  private sum(f: (s: IngestService) => number): number {
    let n = 0;
    for (const s of this.streams.values()) n += f(s);
    return n;
  }
  get state(): IngestState {
    const states = [...this.streams.values()].map((s) => s.state);
    if (states.includes("connected")) return "connected";
    if (states.length === 0) return this.peerNodes().length ? "connected" : "connecting";
    return states.includes("connecting") ? "connecting" : "disconnected";
  }
  get lastError(): string | undefined {
    return this.peerError() ?? [...this.streams.values()].find((s) => s.lastError)?.lastError;
  }
  get rate(): Pick<RateMeter, "perSecond"> {
    return { perSecond: (now?: number) => this.sum((s) => s.rate.perSecond(now)) };
  }
  get nodes(): Map<string, NodeInfo> {
    const m = new Map<string, NodeInfo>();
    for (const name of this.peerNodes()) {
      const s = this.streams.get(name);
      m.set(name, { name, state: s ? (s.state === "connected" ? "NODE_CONNECTED" : "NODE_UNAVAILABLE") : "INGESTED_ELSEWHERE" });
    }
    return m;
  }
  get received() {
    return this.sum((s) => s.received);
  }
  get stored() {
    return this.sum((s) => s.stored);
  }
  get duplicates() {
    return this.sum((s) => s.duplicates);
  }
  get quarantined() {
    return this.sum((s) => s.quarantined);
  }
  get reconnects() {
    return this.sum((s) => s.reconnects);
  }
  get queueDepth() {
    return this.sum((s) => s.queueDepth);
  }
  async flush(): Promise<void> {
    await Promise.all([...this.streams.values()].map((s) => s.flush()));
  }
}

/**
 * FLOWLENS_ROLE=web: no stream here. "connected" while an ingest replica holds a lease (read every
 * 2 s) or a batch was heard in the last 15 s; the rate is what the ingest replicas store.
 */
export class RemoteIngestView implements IngestView {
  readonly rate = new RateMeter(10);
  readonly nodes = new Map<string, NodeInfo>();
  received = 0;
  stored = 0;
  duplicates = 0;
  quarantined = 0;
  reconnects = 0;
  queueDepth = 0;
  private lastBatch = 0;
  private holders: string[] | null = null;
  private timer: NodeJS.Timeout | undefined;

  /** `leases`: the live ingest leases' holders (names not starting with member:) */
  constructor(private readonly leases?: () => Promise<string[]>) {}

  start(): void {
    const poll = () =>
      this.leases?.().then(
        (h) => (this.holders = h),
        () => (this.holders = null),
      );
    void poll();
    this.timer = setInterval(poll, 2000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** a batch another process committed */
  heard(count: number): void {
    this.lastBatch = Date.now();
    this.stored += count;
    this.rate.add(count);
  }
  get state(): IngestState {
    return Date.now() - this.lastBatch < 15_000 || (this.holders?.length ?? 0) > 0 ? "connected" : "disconnected";
  }
  get lastError(): string | undefined {
    return this.state === "connected"
      ? undefined
      : "this replica does not ingest (FLOWLENS_ROLE=web), and no ingest replica holds an ingest lease or stored a batch in the last 15 s";
  }
  async flush(): Promise<void> {}
}
