/** Lost events, node status events and gaps: low-volume tables, written and read through Prisma. */
import type { Database } from "./connection";

const nsToIso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();

const COUNT_TTL_MS = 2000;

export class EventsRepo {
  private counted: { at: number; value: Promise<number> } | null = null;

  constructor(private readonly db: Database) {}

  /** lostEvents is a sum of uint64 counts: a number for display (exact up to 2^53) */
  async totals(): Promise<{ lostEvents: number; gaps: number; quarantined: number }> {
    const [lost, gaps, quarantined] = await Promise.all([
      this.db.prisma.lostEvent.aggregate({ _sum: { numLost: true } }),
      this.db.prisma.gap.count(),
      this.db.prisma.quarantinedResponse.count(),
    ]);
    return { lostEvents: Number(lost._sum.numLost ?? 0), gaps, quarantined };
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
        // uint64: a string, as in hubble's JSON
        numLost: e.numLost.toFixed(0),
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
   * Flow count: exact while small, the planner's estimate once counting would be slow. Every open
   * page polls the status, so one count serves all callers for a few seconds.
   */
  flowCount(): Promise<number> {
    const now = Date.now();
    if (!this.counted || now - this.counted.at > COUNT_TTL_MS) {
      const value = this.countFlows();
      this.counted = { at: now, value };
      value.catch(() => (this.counted = null));
    }
    return this.counted.value;
  }

  private async countFlows(): Promise<number> {
    const est = await this.db.query<{ n: string | null }>(
      `SELECT sum(c.reltuples)::bigint::text AS n FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE p.relname = 'flows' AND p.relnamespace = to_regnamespace(current_schema())::oid AND c.reltuples > 0`,
    );
    const estimate = Number(est[0]?.n ?? 0);
    if (estimate > 2_000_000) return estimate;
    const exact = await this.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM flows`);
    return Number(exact[0].n);
  }

  /** Newest stored flow time (ns), for resuming after a restart or disconnect. */
  async lastFlowTs(): Promise<bigint | null> {
    const rows = await this.db.query<{ ts: string | null }>(`SELECT max(ts)::text AS ts FROM flows`);
    return rows[0]?.ts ? BigInt(rows[0].ts) : null;
  }

  /**
   * Keys (hex) and times of flows stored or quarantined at or after `sinceNs`: the overlap a resumed
   * stream re-sends, which must be neither stored nor quarantined twice.
   */
  async keysSince(sinceNs: bigint): Promise<[string, bigint][]> {
    const rows = await this.db.query<{ key: string; ts: string }>(
      `SELECT key::text AS key, ts::text AS ts FROM flows WHERE ts >= $1::bigint
       UNION ALL SELECT key::text, ts::text FROM quarantine WHERE ts >= $1::bigint AND key IS NOT NULL
       ORDER BY ts`,
      [sinceNs.toString()],
    );
    return rows.map((r) => [r.key.replaceAll("-", ""), BigInt(r.ts)]);
  }
}
