/**
 * Daily range partitions of `flows` (ts in ns since the epoch). Created on demand before a batch is
 * written; retention drops whole partitions, which is instant and leaves no bloat.
 */
import type { Database } from "./connection";

export const NS_PER_DAY = 86_400_000_000_000n;

export function partitionName(day: number): string {
  const d = new Date(day * 86_400_000);
  const pad = (n: number) => String(n).padStart(2, "0");
  const y = d.getUTCFullYear();
  const name = `${String(Math.abs(y)).padStart(4, "0")}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
  return `flows_p${y < 0 ? "m" : ""}${name}`;
}

/** day number (days since the epoch) of a ns timestamp */
export function dayOf(ts: bigint): number {
  return Number(ts >= 0n ? ts / NS_PER_DAY : (ts - NS_PER_DAY + 1n) / NS_PER_DAY);
}

/** duplicate_table, unique_violation (pg_type), or Citus's report of either from a worker */
function createdMeanwhile(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return err?.code === "42P07" || err?.code === "23505" || /already exists/.test(err?.message ?? "");
}

export class FlowPartitions {
  private known: Set<string> | null = null;

  constructor(private readonly db: Database) {}

  private async load(): Promise<Set<string>> {
    if (!this.known) {
      const rows = await this.db.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
         WHERE p.relname = 'flows' AND p.relnamespace = to_regnamespace(current_schema())::oid`,
      );
      this.known = new Set(rows.map((r) => r.name));
    }
    return this.known;
  }

  async ensure(days: Iterable<number>): Promise<void> {
    const known = await this.load();
    for (const day of days) {
      const name = partitionName(day);
      if (known.has(name)) continue;
      const from = BigInt(day) * NS_PER_DAY;
      try {
        await this.db.exec(
          `CREATE TABLE IF NOT EXISTS "${name}" PARTITION OF flows FOR VALUES FROM (${from}) TO (${from + NS_PER_DAY})`,
        );
      } catch (e) {
        // another ingest process created it at the same moment: IF NOT EXISTS does not cover a
        // creation that is still committing (duplicate type name, or the table on a Citus worker)
        if (!createdMeanwhile(e) || !(await this.exists(name))) throw e;
      }
      known.add(name);
    }
  }

  private async exists(name: string): Promise<boolean> {
    const rows = await this.db.query<{ t: string | null }>("SELECT to_regclass($1)::text AS t", [`"${name}"`]);
    return rows[0].t !== null;
  }

  /** Drops partitions that end before `beforeNs`; returns their names. */
  async dropBefore(beforeNs: bigint): Promise<string[]> {
    const known = await this.load();
    const rows = await this.db.query<{ name: string; bound: string }>(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE p.relname = 'flows' AND p.relnamespace = to_regnamespace(current_schema())::oid`,
    );
    const dropped: string[] = [];
    for (const r of rows) {
      const m = /TO \('?(-?\d+)'?\)/.exec(r.bound);
      if (!m || BigInt(m[1]) > beforeNs) continue;
      await this.db.exec(`DROP TABLE IF EXISTS "${r.name}"`);
      known.delete(r.name);
      dropped.push(r.name);
    }
    return dropped;
  }
}
