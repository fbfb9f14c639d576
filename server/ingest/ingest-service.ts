/**
 * Relay → store. On start it asks for recent history, then follows. On any disconnect it flushes
 * what it has, reconnects with capped exponential backoff and resumes with `since` a little before
 * the newest stored flow; the overlap is dropped by dedup key. A window the Relay could no longer
 * serve (its per-node ring overwrote it while we were away) is recorded as a gap.
 */
import { createHash } from "node:crypto";
import type { ClientReadableStream, ServiceError } from "@grpc/grpc-js";
import { fromBinary } from "@bufbuild/protobuf";
import { LostEventSchema } from "@/proto/gen/flow/flow_pb";
import { NodeState, NodeStatusEventSchema } from "@/proto/gen/relay/relay_pb";
import type { CopyTarget } from "@/server/db/connection";
import type { EventsRepo } from "@/server/db/events-repo";
import type { PreparedBatch } from "@/server/db/flow-writer";
import { isFlowRow, quarantineRecord, type IngestRecord } from "@/server/db/ingest-records";
import { describeStoreError, isTransientStoreError } from "@/server/db/store-errors";
import { splitResponse, type FlowRow } from "@/server/flow-codec/split-flow";
import type { RelayClient } from "@/server/hubble/relay-client";
import type { Metrics } from "@/server/metrics";
import { BatchQueue } from "./batch-queue";
import { RateMeter } from "./rate-meter";
import { RecentKeys } from "./recent-keys";

export type IngestState = "connecting" | "connected" | "disconnected";

export interface IngestOptions {
  relay: RelayClient;
  /** where a (re)connect resumes and which keys it already has: the whole store, or one node's flows (per-node ingest) */
  events: Pick<EventsRepo, "lastFlowTs" | "keysSince">;
  /** runs first in every batch's transaction: the lease fence and the node's resume point (docs/adr/0011) */
  inTransaction?: (tx: CopyTarget, prepared: PreparedBatch) => Promise<void>;
  /** errors that mean this process may not write any more (a lost lease): the queue is abandoned, not retried */
  isFatal?: (err: unknown) => boolean;
  /** told once such an error stopped the run (the owner then calls stop({ abandon: true })) */
  onFatal?: (err: unknown) => void;
  /** the database side, in two stages (see BatchQueue): prepare runs while the previous batch commits */
  writer: {
    prepare: (records: IngestRecord[]) => Promise<PreparedBatch>;
    commit: (p: PreparedBatch) => Promise<void>;
    flushRollups: () => Promise<void>;
  };
  /** the store's health: told of every failed and successful write; answers whether the store is up */
  health?: {
    failed: (err: unknown) => void;
    succeeded: () => void;
    probe: () => Promise<boolean>;
  };
  /** called after a batch is stored (live fan-out) */
  onStored?: (rows: FlowRow[]) => void;
  metrics: Metrics;
  log: { info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void; error: (o: object, m?: string) => void };
  batchSize: number;
  flushMs: number;
  queueMax: number;
  /** per-node flows asked for on a first start with an empty store */
  initialHistory: number;
  /** how far before the newest stored flow a resume starts (Relay merges nodes through a 1 s buffer) */
  resumeMarginNs?: bigint;
  backoffMs?: { initial: number; max: number };
}

export interface NodeInfo {
  name: string;
  state: string;
}

const NODE_STATE_NAMES: Record<number, string> = {
  [NodeState.UNKNOWN_NODE_STATE]: "UNKNOWN_NODE_STATE",
  [NodeState.NODE_CONNECTED]: "NODE_CONNECTED",
  [NodeState.NODE_UNAVAILABLE]: "NODE_UNAVAILABLE",
  [NodeState.NODE_GONE]: "NODE_GONE",
  [NodeState.NODE_ERROR]: "NODE_ERROR",
};
export const nodeStateName = (n: number) => NODE_STATE_NAMES[n] ?? String(n);

const malformedKey = (nodeName: string | null, bytes: Buffer) => createHash("md5").update(nodeName ?? "").update("\u00ff").update(bytes).digest();

export class IngestService {
  state: IngestState = "connecting";
  lastError: string | undefined;
  readonly rate = new RateMeter(10);
  readonly nodes = new Map<string, NodeInfo>();
  received = 0;
  stored = 0;
  duplicates = 0;
  reconnects = 0;
  /** responses quarantined by this process (malformed, or refused by the store) */
  quarantined = 0;

  private queue: BatchQueue<IngestRecord, PreparedBatch>;
  private stream: ClientReadableStream<Buffer> | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly o: IngestOptions) {
    this.queue = this.newQueue();
  }

  /** a queue per run: an abandoned one (a lost lease) is never reused */
  private newQueue(): BatchQueue<IngestRecord, PreparedBatch> {
    const o = this.o;
    const queue: BatchQueue<IngestRecord, PreparedBatch> = new BatchQueue<IngestRecord, PreparedBatch>({
      batchSize: o.batchSize,
      flushMs: o.flushMs,
      maxItems: o.queueMax,
      prepare: async (batch) => {
        const p = await o.writer.prepare(batch);
        if (o.inTransaction) p.inTransaction = (tx) => o.inTransaction!(tx, p);
        return p;
      },
      commit: async (prepared) => {
        const end = o.metrics.batchSeconds.startTimer();
        await o.writer.commit(prepared);
        end();
        o.health?.succeeded();
        const stored = prepared.stored;
        const quarantined = prepared.side.quarantine.length;
        if (quarantined) {
          this.quarantined += quarantined;
          o.metrics.flowsQuarantined.inc(quarantined);
          o.log.warn({ quarantined }, "quarantined responses that cannot be stored (GET /api/quarantine lists them)");
        }
        if (stored.length === 0) return;
        o.metrics.batchSize.observe(stored.length);
        o.metrics.flowsIngested.inc(stored.length);
        this.stored += stored.length;
        this.rate.add(stored.length);
        o.onStored?.(stored);
      },
      isTransient: (err) => {
        if (o.isFatal?.(err)) {
          // never isolated as a refused record: the writer lost its right to write
          queue.abandon();
          this.stopped = true;
          this.stream?.cancel();
          this.wake?.();
          o.onFatal?.(err);
          return true;
        }
        return isTransientStoreError(err);
      },
      probe: o.health?.probe,
      poison: (item, err) => quarantineRecord(item, describeStoreError(err)),
      onDropped: (item, err) =>
        o.log.error({ err: describeStoreError(err), kind: isFlowRow(item) ? "flow" : item.kind }, "the store refused a record and its quarantine entry; dropped"),
      onError: (err, attempt) => {
        o.health?.failed(err);
        const transient = isTransientStoreError(err);
        o.log[transient ? "warn" : "error"](
          { err: describeStoreError(err), attempt, transient },
          transient ? "writing a batch failed; retrying while the stream waits" : "the store refused a batch; isolating the records behind it",
        );
      },
      onDepth: (d) => o.metrics.queueDepth.set(d),
      onResume: () => this.stream?.resume(),
    });
    return queue;
  }

  /** Starts (or, after stop(), starts again) following the stream. */
  start(): void {
    if (this.loop) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /**
   * Stops the stream and writes what was received. `abandon`: this process lost the right to write
   * (its lease): what is queued is dropped instead — the next holder re-reads it from the Relay.
   */
  async stop(opts: { abandon?: boolean } = {}): Promise<void> {
    this.stopped = true;
    if (opts.abandon) this.queue.abandon();
    this.stream?.cancel();
    this.wake?.();
    await this.loop;
    this.loop = null;
    const queue = this.queue;
    this.queue = this.newQueue();
    this.setState("disconnected", this.lastError);
    await queue.close();
    if (!opts.abandon) await this.o.writer.flushRollups();
  }

  /** a run is in progress (started and not stopped) */
  get running(): boolean {
    return this.loop !== null && !this.stopped;
  }

  private setState(s: IngestState, error?: string): void {
    this.state = s;
    this.lastError = error;
    this.o.metrics.relayConnected.set(s === "connected" ? 1 : 0);
  }

  private async run(): Promise<void> {
    const backoff = this.o.backoffMs ?? { initial: 250, max: 15_000 };
    let delay = backoff.initial;
    while (!this.stopped) {
      this.setState("connecting", this.lastError);
      let delivered = 0;
      try {
        delivered = await this.follow();
      } catch (err) {
        this.o.log.error({ err: String(err) }, "ingest stream failed");
        this.lastError = String(err);
      }
      if (this.stopped) break;
      this.setState("disconnected", this.lastError);
      this.reconnects++;
      this.o.metrics.reconnects.inc();
      if (delivered > 0) delay = backoff.initial;
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, delay);
      });
      this.wake = null;
      delay = Math.min(delay * 2, backoff.max);
    }
    this.setState("disconnected", this.lastError);
  }

  /** Per-node ring state before a resume: which nodes had a full ring (and so may have lost data). */
  private async fullRings(): Promise<{ all: boolean; nodes: Set<string> } | null> {
    try {
      const nodes = await this.o.relay.getNodes(3000);
      const full = new Set<string>();
      for (const n of nodes.nodes) {
        this.nodes.set(n.name, { name: n.name, state: nodeStateName(n.state) });
        if (n.maxFlows > 0n && n.numFlows >= n.maxFlows) full.add(n.name);
      }
      if (nodes.nodes.length > 0) return { all: false, nodes: full };
    } catch {
      // older relays may not serve GetNodes: fall back to the aggregate status
    }
    try {
      const s = await this.o.relay.serverStatus(3000);
      return { all: s.maxFlows > 0n && s.numFlows >= s.maxFlows, nodes: new Set() };
    } catch {
      return null;
    }
  }

  /** One GetFlows stream from (re)connect to its end. Returns the number of flows it delivered. */
  private async follow(): Promise<number> {
    await this.queue.drain(); // everything received so far is stored before we decide where to resume
    const lastNs = await this.o.events.lastFlowTs();
    const margin = this.o.resumeMarginNs ?? 5_000_000_000n;
    const sinceNs = lastNs === null ? undefined : lastNs - margin;
    // a flow whose key we stored in the overlap window, or saw moments ago, is the same flow
    const seen = new RecentKeys(2n * margin);
    if (sinceNs !== undefined) for (const [key, ts] of await this.o.events.keysSince(sinceNs)) seen.add(key, ts);
    const rings = lastNs === null ? null : await this.fullRings();
    const firstFromNode = new Set<string>();

    const push = (r: IngestRecord) => {
      if (!this.queue.push(r)) stream.pause();
    };
    const stream = this.o.relay.getFlows(
      sinceNs === undefined ? { number: this.o.initialHistory, follow: true } : { sinceNs, follow: true },
    );
    this.stream = stream;
    // a quiet relay sends no headers until its first flow: a status call tells us it is there
    this.o.relay
      .serverStatus(5000)
      .then(() => {
        if (this.stream === stream && this.state === "connecting") this.setState("connected");
      })
      .catch(() => {});
    let delivered = 0;

    const done = new Promise<void>((resolve) => {
      stream.on("metadata", () => this.setState("connected"));
      stream.on("data", (buf: Buffer) => {
        if (this.state !== "connected") this.setState("connected");
        const split = splitResponse(buf);
        if (split.kind === "malformed") {
          this.received++;
          // keyed like a flow without uuid (node + bytes) and timed by arrival when unreadable, so a
          // resumed stream that re-sends it is recognised (keysSince reads the quarantine too)
          const key = split.key ?? malformedKey(split.nodeName, buf);
          const ts = split.ts ?? BigInt(Date.now()) * 1_000_000n;
          if (!seen.add(key.toString("hex"), ts)) return;
          this.o.log.warn({ err: split.error, bytes: buf.length }, "quarantining a response that is not a valid message");
          push({ kind: "quarantine", stage: "decode", error: split.error, nodeName: split.nodeName, key, ts, bytes: buf });
        } else if (split.kind === "flow") {
          const row = split.row;
          this.received++;
          if (!seen.add(row.key.toString("hex"), row.ts)) {
            this.duplicates++;
            this.o.metrics.flowsDuplicate.inc();
            return;
          }
          if (lastNs !== null && rings && !firstFromNode.has(row.nodeName)) {
            firstFromNode.add(row.nodeName);
            const ringFull = rings.all || rings.nodes.has(row.nodeName);
            if (ringFull && row.ts > lastNs + margin) {
              this.o.metrics.gaps.inc();
              this.o.log.warn({ node: row.nodeName }, "gap: the Relay could no longer serve part of the outage");
              push({ kind: "gap", nodeName: row.nodeName || null, fromNs: lastNs, toNs: row.ts, reason: "relay ring buffer overwritten while disconnected" });
            }
          }
          delivered++;
          push(row);
        } else if (split.kind === "lost_events" || split.kind === "node_status") {
          try {
            if (split.kind === "lost_events") this.o.metrics.lostEvents.inc(Number(fromBinary(LostEventSchema, split.bytes).numEventsLost));
            else {
              const e = fromBinary(NodeStatusEventSchema, split.bytes);
              for (const n of e.nodeNames) this.nodes.set(n, { name: n, state: nodeStateName(e.stateChange) });
            }
          } catch {
            // a message that does not decode is quarantined when its record is prepared
          }
          push({ kind: split.kind, bytes: split.bytes, nodeName: split.nodeName, timeNs: split.timeNs, response: buf });
        }
      });
      stream.on("error", (err: ServiceError) => {
        if (!this.stopped) this.lastError = `${err.code ?? ""} ${err.details || err.message}`.trim();
        resolve();
      });
      stream.on("end", () => resolve());
    });
    await done;
    this.stream = null;
    if (stream.isPaused()) stream.resume();
    return delivered;
  }

  /** Writes everything received so far, with its rollups (tests, shutdown). */
  async flush(): Promise<void> {
    await this.queue.drain();
    await this.o.writer.flushRollups();
  }

  get queueDepth(): number {
    return this.queue.depth;
  }
}
