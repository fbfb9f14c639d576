/**
 * Follows GetAgentEvents next to the flow stream and stores the events /policies needs (policy
 * updates and deletions with their revision, agent starts). Hubble Relay does not implement the
 * call (UNIMPLEMENTED): then moments come from flows alone, and this asks again only now and then
 * (the address may be an agent's own Hubble server later). Resumes from the newest stored event;
 * redeliveries are ignored by the store. Per-node ingest runs one per agent, next to its flows.
 */
import { status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { toBinary } from "@bufbuild/protobuf";
import { AgentEventSchema, AgentEventType } from "@/proto/gen/flow/flow_pb";
import type { GetAgentEventsResponse } from "@/proto/gen/observer/observer_pb";
import type { AgentEventRow, AgentEventsRepo } from "@/server/db/agent-events-repo";
import { policyFromLabels } from "@/server/domain/policies/policy-moments";
import type { RelayClient } from "@/server/hubble/relay-client";
import { NS_PER_MINUTE } from "@/server/domain/shared/time";
import { timestampToNs } from "@/server/flow-codec/timestamp";

export type AgentEventsState = "connecting" | "following" | "unavailable" | "stopped";

export interface AgentEventsOptions {
  relay: Pick<RelayClient, "getAgentEvents">;
  repo: AgentEventsRepo;
  log: { info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void };
  backoffMs?: { initial: number; max: number };
  /** how long to wait before asking a server that said UNIMPLEMENTED again */
  retryUnimplementedMs?: number;
  /**
   * With no event stored yet: start here (the newest flow stored before this start) rather than
   * at the oldest event the server holds — events older than the stored flows describe history
   * these flows do not show (a restarted demo cluster even generates a new one)
   */
  firstSinceNs?: bigint | null;
  /**
   * per-node ingest: the node whose own Hubble server this is. It resumes from that node's newest
   * stored event, and an event without a node name is that node's.
   */
  nodeName?: string;
}

const KEEP = new Set<number>([AgentEventType.AGENT_STARTED, AgentEventType.POLICY_UPDATED, AgentEventType.POLICY_DELETED]);

/** The stored row of an event, or null for events moments do not use (endpoint, ipcache, service). */
export function agentEventRow(r: GetAgentEventsResponse): AgentEventRow | null {
  const ev = r.agentEvent;
  if (!ev || !KEEP.has(ev.type)) return null;
  const t = r.time ?? (ev.notification.case === "agentStart" ? ev.notification.value.time : undefined);
  const now = BigInt(Date.now()) * 1_000_000n;
  const own = timestampToNs(t) ?? null;
  // a time that cannot be a position (beyond int64 ns, before 1970, ahead of us) is replaced by arrival; raw keeps it
  const ts = own !== null && own >= 0n && own <= now + NS_PER_MINUTE ? own : now;
  const upd = ev.notification.case === "policyUpdate" ? ev.notification.value : undefined;
  return {
    ts,
    nodeName: r.nodeName || null,
    type: ev.type,
    revision: upd ? upd.revision : null,
    policy: upd ? (policyFromLabels(upd.labels) ?? null) : null,
    labels: upd ? [...upd.labels] : [],
    raw: toBinary(AgentEventSchema, ev),
  };
}

export class AgentEventsIngest {
  state: AgentEventsState = "connecting";
  stored = 0;
  private stream: ClientReadableStream<GetAgentEventsResponse> | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private backoff: number;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly o: AgentEventsOptions) {
    this.backoff = o.backoffMs?.initial ?? 1000;
  }

  /** starts following (again, after stop(): the ingest lease came back) */
  start(): void {
    this.stopped = false;
    void this.connect();
  }

  /** whether agent events are (or were) available for moments */
  available(): boolean {
    return this.state === "following" || this.stored > 0;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.state = "connecting";
    let since: bigint | null;
    try {
      since = await this.o.repo.newestNs(this.o.nodeName);
    } catch (e) {
      this.o.log.warn({ err: String(e) }, "agent events: reading the resume point failed");
      return this.retry(this.nextBackoff());
    }
    if (this.stopped) return;
    // from the newest stored event on; the first time from where the stored flows end (or all)
    const stream = this.o.relay.getAgentEvents({ sinceNs: since ?? this.o.firstSinceNs ?? 0n, follow: true });
    this.stream = stream;
    stream.on("metadata", () => {
      this.state = "following";
    });
    stream.on("data", (r: GetAgentEventsResponse) => {
      if (this.state !== "following") {
        this.state = "following";
        this.backoff = this.o.backoffMs?.initial ?? 1000;
      }
      const row = agentEventRow(r);
      if (!row) return;
      if (row.nodeName === null && this.o.nodeName) row.nodeName = this.o.nodeName;
      this.writing = this.writing
        .then(async () => {
          this.stored += await this.o.repo.add([row]);
        })
        .catch((e) => this.o.log.warn({ err: String(e) }, "agent events: storing failed"));
    });
    stream.on("error", (e: ServiceError) => {
      if (this.stopped || e.code === status.CANCELLED) return;
      this.stream = null;
      if (e.code === status.UNIMPLEMENTED) {
        if (this.state !== "unavailable") this.o.log.info({}, "agent events: the server does not serve GetAgentEvents (a Relay does not); policy moments come from flows only");
        this.state = "unavailable";
        return this.retry(this.o.retryUnimplementedMs ?? 10 * 60_000);
      }
      this.o.log.warn({ err: e.message }, "agent events: stream failed, retrying");
      this.retry(this.nextBackoff());
    });
    stream.on("end", () => {
      if (this.stopped) return;
      this.stream = null;
      this.retry(this.nextBackoff());
    });
  }

  private nextBackoff(): number {
    const b = this.backoff;
    this.backoff = Math.min(this.o.backoffMs?.max ?? 30_000, this.backoff * 2);
    return b;
  }

  private retry(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.connect(), ms);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.state = "stopped";
    if (this.timer) clearTimeout(this.timer);
    this.stream?.cancel();
    this.stream = null;
    await this.writing;
  }
}
