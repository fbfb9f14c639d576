/**
 * The storage layout on a Citus cluster (docs/adr/0012-citus-distribution.md): `flows` is distributed
 * by `ctx_id` (one conversation's rows on one shard, writes spread over every shard) with
 * `flow_rollups` co-located, the dimension tables (contexts, endpoints, policies, summaries) are
 * reference tables (a copy on every node, so joins from flows stay on the node), and the small
 * tables only the coordinator reads (lost events, node status, gaps, quarantine, agent events,
 * migrations, leases) stay ordinary tables on the coordinator.
 *
 * Applied after the migrations, in the same transaction and under the same advisory lock, on every
 * start: a table the layout names that is not distributed yet is distributed, so it also converts a
 * database that got the citus extension after Flowlens first ran, and tables a later migration adds
 * follow once listed here. `FLOWLENS_CITUS`: `auto` (default) applies it when the database has the
 * citus extension, `1` requires it (and creates the extension when the server preloads it), `0`
 * never applies it.
 */
import type { Queryable } from "./connection";

export type CitusMode = "auto" | "on" | "off";

/** small, joined from flows on every node, written rarely (a row per distinct value) */
export const REFERENCE_TABLES = ["endpoints", "policies", "flow_contexts", "summaries"] as const;

/** distributed tables in creation order: the first is what the others are co-located with */
export const DISTRIBUTED_TABLES = [
  { table: "flows", column: "ctx_id" },
  { table: "flow_rollups", column: "ctx_id" },
] as const;

export const DEFAULT_SHARD_COUNT = 32;

export function citusModeOf(v: string | undefined): CitusMode {
  const s = (v ?? "").trim().toLowerCase();
  if (s === "" || s === "auto") return "auto";
  if (s === "1" || s === "true" || s === "yes" || s === "on") return "on";
  if (s === "0" || s === "false" || s === "no" || s === "off") return "off";
  throw new Error(`FLOWLENS_CITUS: "${v}" is not one of auto, 1, 0`);
}

export function shardCountOf(v: string | undefined): number {
  if (v === undefined || v.trim() === "") return DEFAULT_SHARD_COUNT;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64_000) throw new Error(`FLOWLENS_CITUS_SHARDS: "${v}" is not a shard count (1…64000)`);
  return n;
}

export async function hasCitus(q: Queryable): Promise<boolean> {
  const rows = await q.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'citus'");
  return rows[0].n > 0;
}

export interface CitusLayoutResult {
  /** whether the database is a Citus cluster this layout applies to */
  citus: boolean;
  /** tables distributed or made reference tables by this call */
  changed: string[];
}

/**
 * Distributes what is not distributed yet. Runs inside the migration transaction (`q`), after every
 * migration, so no flow is written to an undistributed table by a process that started meanwhile.
 */
export async function applyCitusLayout(
  q: Queryable,
  { mode = "auto", shardCount = DEFAULT_SHARD_COUNT }: { mode?: CitusMode; shardCount?: number } = {},
): Promise<CitusLayoutResult> {
  if (mode === "off") return { citus: false, changed: [] };
  if (!(await hasCitus(q))) {
    if (mode === "auto") return { citus: false, changed: [] };
    try {
      await q.exec("CREATE EXTENSION IF NOT EXISTS citus");
    } catch (e) {
      throw new Error(
        `FLOWLENS_CITUS=1 but the database has no citus extension and it could not be created (${e instanceof Error ? e.message : e}): ` +
          "run CREATE EXTENSION citus as a superuser on the coordinator, with citus in shared_preload_libraries",
      );
    }
  }
  const done = await q.query<{ name: string; kind: string }>(
    `SELECT c.relname AS name, p.partmethod AS kind FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
     WHERE c.relnamespace = to_regnamespace(current_schema())::oid`,
  );
  const present = new Set(
    (
      await q.query<{ name: string }>(
        `SELECT relname AS name FROM pg_class WHERE relnamespace = to_regnamespace(current_schema())::oid AND relkind IN ('r', 'p')`,
      )
    ).map((r) => r.name),
  );
  const distributed = new Map(done.map((r) => [r.name, r.kind]));
  const changed: string[] = [];
  for (const table of REFERENCE_TABLES) {
    if (!present.has(table) || distributed.has(table)) continue;
    const had = await hasRows(q, table);
    await q.query("SELECT create_reference_table($1)", [table]);
    if (had) await dropLocalCopy(q, table);
    changed.push(table);
  }
  const [first] = DISTRIBUTED_TABLES;
  for (const { table, column } of DISTRIBUTED_TABLES) {
    if (!present.has(table) || distributed.has(table)) continue;
    const had = await hasRows(q, table);
    if (table === first.table) {
      await q.query("SELECT create_distributed_table($1, $2, shard_count := $3, colocate_with := 'none')", [table, column, shardCount]);
    } else {
      await q.query("SELECT create_distributed_table($1, $2, colocate_with := $3)", [table, column, first.table]);
    }
    if (had) await dropLocalCopy(q, table);
    changed.push(table);
  }
  return { citus: true, changed };
}

async function hasRows(q: Queryable, table: string): Promise<boolean> {
  const [{ has }] = await q.query<{ has: boolean }>(`SELECT EXISTS (SELECT 1 FROM "${table}") AS has`);
  return has;
}

/**
 * Distributing a table that already has rows copies them into its shards and leaves the original
 * rows on the coordinator, invisible but taking space: removed here.
 */
async function dropLocalCopy(q: Queryable, table: string): Promise<void> {
  await q.query("SELECT truncate_local_data_after_distributing_table($1)", [table]);
}
