/** Lost events, node status events and gaps: low-volume tables, written and read through Prisma. */
import type { Database } from "./connection";
import { RefreshedValue } from "./refreshed-value";

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

  /** lost events (a sum of uint64 counts: a number for display, exact up to 2^53), gaps and quarantined responses (refreshed in the background, like flowCount) */
  totals(): Promise<{ lostEvents: number; gaps: number; quarantined: number }> {
    return this.eventTotals.get();
  }

  private async readTotals(): Promise<{ lostEvents: number; gaps: number; quarantined: number }> {
    const [r] = await this.db.api.query<{ lost: number; gaps: number; quarantined: number }>(
      `SELECT (SELECT coalesce(sum(num_lost), 0) FROM lost_events)::float8 AS lost, (SELECT count(*) FROM gaps)::int AS gaps,
         (SELECT count(*) FROM quarantine)::int AS quarantined`,
    );
    return { lostEvents: Number(r.lost), gaps: r.gaps, quarantined: r.quarantined };
  }

  /** the newest lost events, gaps and node status changes (API reads: db.api, like every request's) */
  async recent(limit = 100, signal?: AbortSignal) {
    // times as epoch ms and int8 as text: the same values from PostgreSQL and PGlite
    const ms = (col: string) => `(extract(epoch FROM ${col}) * 1000)::float8 AS ${col}`;
    const q = <T>(sql: string) => this.db.api.query<T>(sql, [limit], { signal });
    type Ms = number | null;
    const [lost, gaps, status] = await Promise.all([
      q<{ received_at: number; time: Ms; node_name: string | null; source: number; num_lost: string; cpu: number | null; first: Ms; last: Ms }>(
        `SELECT ${ms("received_at")}, ${ms("time")}, node_name, source, num_lost::text AS num_lost, cpu, ${ms("first")}, ${ms("last")}
         FROM lost_events ORDER BY id DESC LIMIT $1`,
      ),
      q<{ detected_at: number; node_name: string | null; from_ts: string; to_ts: string; reason: string }>(
        `SELECT ${ms("detected_at")}, node_name, from_ts::text AS from_ts, to_ts::text AS to_ts, reason FROM gaps ORDER BY id DESC LIMIT $1`,
      ),
      q<{ received_at: number; time: Ms; state: number; node_names: string[]; message: string | null }>(
        `SELECT ${ms("received_at")}, ${ms("time")}, state, node_names, message FROM node_status_events ORDER BY id DESC LIMIT $1`,
      ),
    ]);
    const iso = (t: Ms) => (t === null ? null : new Date(Number(t)).toISOString());
    return {
      lostEvents: lost.map((e) => ({
        receivedAt: iso(e.received_at)!,
        time: iso(e.time),
        nodeName: e.node_name,
        source: e.source,
        // uint64: a string, as in hubble's JSON
        numLost: e.num_lost,
        cpu: e.cpu,
        first: iso(e.first),
        last: iso(e.last),
      })),
      gaps: gaps.map((g) => ({
        detectedAt: iso(g.detected_at)!,
        nodeName: g.node_name,
        from: nsToIso(BigInt(g.from_ts)),
        to: nsToIso(BigInt(g.to_ts)),
        reason: g.reason,
      })),
      nodeStatus: status.map((st) => ({
        receivedAt: iso(st.received_at)!,
        time: iso(st.time),
        state: st.state,
        nodeNames: st.node_names,
        message: st.message,
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
    const estimate = await this.estimatedFlows();
    if (estimate > 2_000_000) return estimate;
    const exact = await this.db.api.query<{ n: string }>(`SELECT count(*)::text AS n FROM flows`);
    return Number(exact[0].n);
  }

  /** the planner's estimate of the stored flows (0 before the first ANALYZE) */
  async estimatedFlows(): Promise<number> {
    // on Citus the rows (and the planner's estimates of them) are in the shards on the nodes
    const est = await this.db.api.query<{ n: string | null }>(
      this.db.distributed
        ? `SELECT sum(result::bigint)::text AS n FROM run_command_on_all_nodes(format(
             $f$SELECT coalesce(sum(c.reltuples) FILTER (WHERE c.reltuples > 0), 0)::bigint FROM pg_class c
                WHERE c.relnamespace = to_regnamespace(%L)::oid AND c.relkind = 'r' AND c.relname ~ '^flows_p.*_[0-9]+$'$f$,
             current_schema())) WHERE success`
        : `SELECT sum(c.reltuples)::bigint::text AS n FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE p.relname = 'flows' AND p.relnamespace = to_regnamespace(current_schema())::oid AND c.reltuples > 0`,
    );
    return Number(est[0]?.n ?? 0);
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
