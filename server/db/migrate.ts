/**
 * Applies prisma/migrations at start, recording them in Prisma's own `_prisma_migrations` table (same
 * checksum), so `prisma migrate status` agrees. Prisma's migrate engine needs a native binary we
 * cannot download here (docs/adr/0003-migrations-at-start.md); the SQL files are Prisma's.
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { applyCitusLayout, citusModeOf, shardCountOf, type CitusMode } from "./citus";
import type { Database } from "./connection";

const LOCK_ID = 7_246_013; // any constant: serialises concurrent starts on one PostgreSQL database

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function readMigrations(dir = path.resolve(process.cwd(), "prisma/migrations")): Migration[] {
  if (!existsSync(/* turbopackIgnore: true */ dir)) throw new Error(`migrations folder not found: ${dir}`);
  return readdirSync(/* turbopackIgnore: true */ dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(/* turbopackIgnore: true */ path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

export interface MigrateOptions {
  /** Citus layout after the migrations (server/db/citus.ts); default from FLOWLENS_CITUS (auto) */
  citus?: CitusMode;
  /** shards of flows on Citus; default from FLOWLENS_CITUS_SHARDS (32) */
  shardCount?: number;
}

/**
 * Applies the migrations not applied yet, then (PostgreSQL with the citus extension) distributes
 * the tables the Citus layout names that are not distributed yet. Returns the applied migrations'
 * names, and `citus:<table>` for each table distributed.
 */
export async function applyMigrations(db: Database, migrations = readMigrations(), opts: MigrateOptions = {}): Promise<string[]> {
  const citus = opts.citus ?? citusModeOf(process.env.FLOWLENS_CITUS);
  const shardCount = opts.shardCount ?? shardCountOf(process.env.FLOWLENS_CITUS_SHARDS);
  if (db.kind === "embedded" && citus === "on") throw new Error("FLOWLENS_CITUS=1 needs a PostgreSQL DATABASE_URL (a Citus coordinator)");
  await db.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
  )`);
  return db.transaction(async (tx) => {
    if (db.kind === "postgres") await tx.query("SELECT pg_advisory_xact_lock($1)", [LOCK_ID]);
    const done = await tx.query<{ migration_name: string; checksum: string }>(
      `SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    const applied = new Map(done.map((r) => [r.migration_name, r.checksum]));
    const names: string[] = [];
    for (const m of migrations) {
      const seen = applied.get(m.name);
      if (seen !== undefined) {
        if (seen !== m.checksum) throw new Error(`migration ${m.name} was changed after it was applied`);
        continue;
      }
      await tx.exec(m.sql);
      await tx.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
         VALUES ($1, $2, now(), $3, 1)`,
        [randomUUID(), m.checksum, m.name],
      );
      names.push(m.name);
    }
    if (db.kind === "postgres") {
      const layout = await applyCitusLayout(tx, { mode: citus, shardCount });
      names.push(...layout.changed.map((t) => `citus:${t}`));
    }
    return names;
  });
}

/**
 * Migrations in the repository that the store has not applied (readiness: a replica that started
 * before a newer one migrated, or a store that was never migrated). Read on the API's pool.
 */
export async function pendingMigrations(db: Database, signal?: AbortSignal, migrations = readMigrationNames()): Promise<string[]> {
  const done = await db.api
    .query<{ migration_name: string }>(
      `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
      [],
      { signal },
    )
    .catch((e: unknown) => {
      // the table itself is missing: nothing was ever applied
      if ((e as { code?: string }).code === "42P01") return [];
      throw e;
    });
  const applied = new Set(done.map((r) => r.migration_name));
  return migrations.filter((m) => !applied.has(m));
}

let names: string[] | undefined;
function readMigrationNames(): string[] {
  return (names ??= readMigrations().map((m) => m.name));
}
