/**
 * One database handle for both deployments: a PostgreSQL server (DATABASE_URL) or embedded PGlite
 * on disk (no DATABASE_URL). Both sit behind the same Prisma client and the same migrations; the
 * flow firehose uses the raw driver for binary COPY (shared/notes/ingest-performance.md).
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { PrismaClient } from "@/generated/prisma/client";

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** several statements, no parameters */
  exec(sql: string): Promise<void>;
}

export interface CopyTarget extends Queryable {
  /** COPY … FROM STDIN / '/dev/blob' with binary data */
  copyIn(table: string, columns: readonly string[], data: Buffer): Promise<void>;
}

export interface Database extends CopyTarget {
  kind: "postgres" | "embedded";
  /** where the data lives, for logs (password removed) */
  location: string;
  prisma: PrismaClient;
  transaction<T>(fn: (q: CopyTarget) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgresql://… ; `?schema=name` selects a schema (tests use a fresh one per run) */
  url?: string;
  /** embedded PGlite directory when no url */
  dataDir?: string;
  poolMax?: number;
}

function quoteIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

async function openPostgres(url: string, poolMax: number): Promise<Database> {
  const { default: pg } = await import("pg");
  const { PrismaPg } = await import("@prisma/adapter-pg");
  const { from: copyFrom } = await import("pg-copy-streams");
  const { pipeline } = await import("node:stream/promises");
  const { Readable } = await import("node:stream");

  const parsed = new URL(url);
  const schema = parsed.searchParams.get("schema") ?? undefined;
  parsed.searchParams.delete("schema");
  const pool = new pg.Pool({
    connectionString: parsed.toString(),
    max: poolMax,
    ...(schema ? { options: `-c search_path=${quoteIdent(schema)}` } : {}),
  });
  pool.on("error", () => {}); // idle client errors surface on the next query instead of crashing
  // A checked-out client whose server goes away (a restart) emits "error" too, and an "error" with no
  // listener would crash the process; the query or transaction on it fails and is retried instead.
  pool.on("connect", (client) => client.on("error", () => {}));
  if (schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, schema ? { schema } : undefined) });
  const safe = new URL(parsed);
  safe.password = "";

  const onClient = (c: { query: (s: string, p?: unknown[]) => Promise<{ rows: unknown[] }> }): Queryable => ({
    async query<T>(sql: string, params?: unknown[]) {
      return (await c.query(sql, params)).rows as T[];
    },
    async exec(sql: string) {
      await c.query(sql);
    },
  });
  const copyWith = async (client: import("pg").PoolClient, table: string, columns: readonly string[], data: Buffer) => {
    const stream = client.query(copyFrom(`COPY ${quoteIdent(table)} (${columns.map(quoteIdent).join(", ")}) FROM STDIN (FORMAT binary)`));
    await pipeline(Readable.from([data]), stream);
  };

  return {
    kind: "postgres",
    location: safe.toString() + (schema ? ` (schema ${schema})` : ""),
    prisma,
    ...onClient(pool),
    async copyIn(table, columns, data) {
      const client = await pool.connect();
      try {
        await copyWith(client, table, columns, data);
      } finally {
        client.release();
      }
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await fn({ ...onClient(client), copyIn: (t, c, d) => copyWith(client, t, c, d) });
        await client.query("COMMIT");
        return result;
      } catch (e) {
        await client.query("ROLLBACK").catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

async function openEmbedded(dataDir: string): Promise<Database> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { PrismaPGlite } = await import("pglite-prisma-adapter");
  const dir = path.resolve(dataDir, "pglite");
  mkdirSync(path.dirname(dir), { recursive: true }); // PGlite creates only the last level
  const pglite = await PGlite.create(dir);
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  type Tx = {
    query: (s: string, p?: unknown[], o?: { blob?: Blob }) => Promise<{ rows: unknown[] }>;
    exec: (s: string) => Promise<unknown>;
  };
  const on = (c: Tx): CopyTarget => ({
    async query<T>(sql: string, params?: unknown[]) {
      return (await c.query(sql, params)).rows as T[];
    },
    async exec(sql: string) {
      await c.exec(sql);
    },
    async copyIn(table, columns, data) {
      await c.query(`COPY ${quoteIdent(table)} (${columns.map(quoteIdent).join(", ")}) FROM '/dev/blob' WITH (FORMAT binary)`, [], {
        blob: new Blob([data as Uint8Array<ArrayBuffer>]),
      });
    },
  });
  return {
    kind: "embedded",
    location: dir,
    prisma,
    ...on(pglite),
    async transaction(fn) {
      return pglite.transaction((tx) => fn(on(tx)));
    },
    async close() {
      await prisma.$disconnect();
      await pglite.close(); // $disconnect() does not close PGlite; the process would not exit
    },
  };
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url) return openPostgres(opts.url, opts.poolMax ?? 10);
  return openEmbedded(opts.dataDir ?? ".data");
}
