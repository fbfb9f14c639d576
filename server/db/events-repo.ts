/** Lost events, node status events and gaps: low-volume tables, written and read through Prisma. */
import type { Database } from "./connection";
import { RefreshedValue } from "./refreshed-value";

export interface LostEventInput {
  time: Date | null;
  nodeName: string | null;
  source: number;
  numLost: bigint;
  cpu: number | null;
  first: Date | null;
  last: Date | null;
}

export interface NodeStatusInput {
  time: Date | null;
  state: number;
  nodeNames: string[];
  message: string | null;
}

export interface GapInput {
  nodeName: string | null;
  fromNs: bigint;
  toNs: bigint;
  reason: string;
}

const nsToIso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();

/** how old the status' counts may get while someone polls them */
const COUNT_TTL_MS = 2000;
/** a status request does not wait for a refresh (only after nobody asked for a while: up to 1 s) */
const COUNT_WAIT_MS = 0;

export class EventsRepo {
  /**
   * Every open page polls the status, and it must answer at once whatever the store is doing (an
   * export, a slow disk): these are refreshed in the background, never awaited by a request.
   */
  private readonly flows = new RefreshedValue(() => this.countFlows(), COUNT_TTL_MS, COUNT_WAIT_MS);
  private readonly eventTotals = new RefreshedValue(() => this.readTotals(), COUNT_TTL_MS, COUNT_WAIT_MS);

  constructor(private readonly db: Database) {}

  async addLostEvent(e: LostEventInput): Promise<void> {
    await this.db.prisma.lostEvent.create({ data: e });
  }

  async addNodeStatus(e: NodeStatusInput): Promise<void> {
    await this.db.prisma.nodeStatusEvent.create({ data: e });
  }

  async addGap(g: GapInput): Promise<void> {
    await this.db.prisma.gap.create({ data: { nodeName: g.nodeName, fromTs: g.fromNs, toTs: g.toNs, reason: g.reason } });
  }

  /** lost events and gaps recorded (refreshed in the background, like flowCount) */
  totals(): Promise<{ lostEvents: number; gaps: number }> {
    return this.eventTotals.get();
  }

  private async readTotals(): Promise<{ lostEvents: number; gaps: number }> {
    const [lost, gaps] = await Promise.all([
      this.db.prisma.lostEvent.aggregate({ _sum: { numLost: true } }),
      this.db.prisma.gap.count(),
    ]);
    return { lostEvents: Number(lost._sum.numLost ?? 0n), gaps };
  }

  async recent(limit = 100) {
    const [lost, gaps, status] = await Promise.all([
      this.db.prisma.lostEvent.findMany({ orderBy: { id: "desc" }, take: limit }),
      this.db.prisma.gap.findMany({ orderBy: { id: "desc" }, take: limit }),
      this.db.prisma.nodeStatusEvent.findMany({ orderBy: { id: "desc" }, take: limit }),
    ]);
    return {
      lostEvents: lost.map((e) => ({
        receivedAt: e.receivedAt.toISOString(),
        time: e.time?.toISOString() ?? null,
        nodeName: e.nodeName,
        source: e.source,
        numLost: Number(e.numLost),
        cpu: e.cpu,
        first: e.first?.toISOString() ?? null,
        last: e.last?.toISOString() ?? null,
      })),
      gaps: gaps.map((g) => ({
        detectedAt: g.detectedAt.toISOString(),
        nodeName: g.nodeName,
        from: nsToIso(g.fromTs),
        to: nsToIso(g.toTs),
        reason: g.reason,
      })),
      nodeStatus: status.map((s) => ({
        receivedAt: s.receivedAt.toISOString(),
        time: s.time?.toISOString() ?? null,
        state: s.state,
        nodeNames: s.nodeNames,
        message: s.message,
      })),
    };
  }

  /**
   * Flow count: exact while small, the planner's estimate once counting would be slow; read in the
   * background (at most every COUNT_TTL_MS while asked for), on the API's connections.
   */
  flowCount(): Promise<number> {
    return this.flows.get();
  }

  /** starts reading the counts, so the first status request finds them */
  prime(): void {
    void this.flows.refresh().catch(() => {});
    void this.eventTotals.refresh().catch(() => {});
  }

  private async countFlows(): Promise<number> {
    const est = await this.db.api.query<{ n: string | null }>(
      `SELECT sum(c.reltuples)::bigint::text AS n FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE p.relname = 'flows' AND p.relnamespace = to_regnamespace(current_schema())::oid AND c.reltuples > 0`,
    );
    const estimate = Number(est[0]?.n ?? 0);
    if (estimate > 2_000_000) return estimate;
    const exact = await this.db.api.query<{ n: string }>(`SELECT count(*)::text AS n FROM flows`);
    return Number(exact[0].n);
  }

  /** Newest stored flow time (ns), for resuming after a restart or disconnect. */
  async lastFlowTs(): Promise<bigint | null> {
    const rows = await this.db.query<{ ts: string | null }>(`SELECT max(ts)::text AS ts FROM flows`);
    return rows[0]?.ts ? BigInt(rows[0].ts) : null;
  }

  /** Keys (hex) and times of flows stored at or after `sinceNs`: the overlap a resumed stream re-sends. */
  async keysSince(sinceNs: bigint): Promise<[string, bigint][]> {
    const rows = await this.db.query<{ key: string; ts: string }>(
      `SELECT key::text AS key, ts::text AS ts FROM flows WHERE ts >= $1::bigint ORDER BY ts`,
      [sinceNs.toString()],
    );
    return rows.map((r) => [r.key.replaceAll("-", ""), BigInt(r.ts)]);
  }
}
