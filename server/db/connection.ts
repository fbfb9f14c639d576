/**
 * One database handle for both deployments: a PostgreSQL server (DATABASE_URL) or embedded PGlite
 * on disk (no DATABASE_URL). Both sit behind the same Prisma client and the same migrations; the
 * flow firehose uses the raw driver for binary COPY (shared/notes/ingest-performance.md).
 *
 * On PostgreSQL the ingest and the API have separate pools, so heavy reads can never take the
 * connections the writer needs: the ingest pool (COPY, upserts, migrations, retention, Prisma) has
 * no statement timeout; the API pool (`db.api`) is bounded, and every statement on it runs under
 * FLOWLENS_QUERY_TIMEOUT and is cancelled in the server when the caller's AbortSignal fires.
 * Embedded PGlite is one in-process connection that runs a query synchronously: neither a timeout
 * nor a cancel can stop a running query there (ARCHITECTURE.md, "Heavy queries").
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { PrismaClient } from "@/generated/prisma/client";
import { QueryCancelledError, QueryTimeoutError, throwIfCancelled } from "./query-errors";

export interface QueryOptions {
  /** the request's signal: when it fires the running query is cancelled and the call rejects (QueryCancelledError) */
  signal?: AbortSignal;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], opts?: QueryOptions): Promise<T[]>;
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
  /** reads for the API: their own pool under the query timeout on PostgreSQL, the one connection on PGlite */
  api: Queryable;
  /**
   * PostgreSQL only: the whole output of `COPY (<select>) TO STDOUT (FORMAT binary)` on the API pool
   * (under its statement timeout; the signal cancels it). The select carries no parameters: values
   * are inlined as literals (sql-literal.ts). Reading rows this way skips the driver's text decoding
   * of every field: streaming history over gRPC (ADR 0009).
   */
  copyOut?(select: string, signal?: AbortSignal): Promise<Buffer>;
  /** statement timeout of `api` reads in ms (null: none, or not enforceable as on PGlite) */
  queryTimeoutMs: number | null;
  /** a Citus coordinator (the extension was there when this handle opened): docs/adr/0012 */
  distributed: boolean;
  transaction<T>(fn: (q: CopyTarget) => Promise<T>): Promise<T>;
  /**
   * PostgreSQL only: a connection of its own LISTENing on `channel` (reconnected when lost;
   * `onConnect` runs after each (re)connect, so a reader can catch up on what it missed).
   */
  listen?(channel: string, onPayload: (payload: string) => void, onConnect?: () => void): Promise<{ close(): Promise<void> }>;
  /** the schema (`?schema=` in the URL) the tables live in, null: the server's default */
  schema: string | null;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgresql://… ; `?schema=name` selects a schema (tests use a fresh one per run) */
  url?: string;
  /** embedded PGlite directory when no url */
  dataDir?: string;
  /** connections of the ingest's pool (PostgreSQL): COPY, upserts, migrations, retention, Prisma */
  ingestPoolMax?: number;
  /** connections of the API's pool (PostgreSQL): every read a request makes */
  apiPoolMax?: number;
  /** statement_timeout of every API read (PostgreSQL), ms; null or 0: none */
  queryTimeoutMs?: number | null;
}

export const DEFAULT_INGEST_POOL = 4;
export const DEFAULT_API_POOL = 8;
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

function quoteIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

type PgModule = typeof import("pg").default;

/** what sending a CancelRequest needs of pg's Client and Connection (not in @types/pg) */
type CancelSocket = import("node:events").EventEmitter & {
  connect(portOrPath: number | string, host?: string): void;
  cancel(processID: number, secretKey: number): void;
};
type Backend = { processID: number; secretKey: number };

/**
 * Asks the server to cancel what a connection runs: PostgreSQL's CancelRequest on a new socket (no
 * login, no pool slot), as pg's Client.cancel does, without its deprecated activeQuery check.
 */
function sendCancel(pg: PgModule, clientConfig: import("pg").ClientConfig, busy: import("pg").PoolClient): void {
  const probe = new pg.Client(clientConfig) as unknown as { connection: CancelSocket; host: string; port: number };
  const { processID, secretKey } = busy as unknown as Backend;
  const con = probe.connection;
  con.on("error", () => {}); // the server closes the socket after reading it; nothing to report
  con.on("connect", () => con.cancel(processID, secretKey));
  if (probe.host.startsWith("/")) con.connect(`${probe.host}/.s.PGSQL.${probe.port}`);
  else con.connect(probe.port, probe.host);
}

/** the driver's error for a statement stopped by statement_timeout, as ours */
function timeoutOf(e: unknown, timeoutMs: number | null): unknown {
  const err = e as { code?: string; message?: string };
  if (timeoutMs && err?.code === "57014" && /statement timeout/i.test(err.message ?? "")) return new QueryTimeoutError(timeoutMs);
  return e;
}

/** whether every connection of the pool is in use (a wait for one that times out is then ours to explain) */
function poolFull(pool: import("pg").Pool): boolean {
  return pool.totalCount >= (pool.options.max ?? 10) && pool.idleCount === 0;
}

/** pg-pool's error for a wait for a connection past connectionTimeoutMillis, as ours when the pool was full */
function connectTimeoutOf(e: unknown, timeoutMs: number | null, wasFull: boolean): unknown {
  if (wasFull && timeoutMs && e instanceof Error && /timeout exceeded when trying to connect/.test(e.message)) return new QueryTimeoutError(timeoutMs, "connection");
  return e;
}

/**
 * A query on its own pooled connection that the signal can cancel: on abort a CancelRequest stops
 * it in the server, the call rejects at once, and the connection is closed rather than reused (a
 * cancel that arrives late must not hit the next query on it).
 */
async function cancellableQuery<T>(
  pg: PgModule,
  pool: import("pg").Pool,
  clientConfig: import("pg").ClientConfig,
  timeoutMs: number | null,
  sql: string,
  params: unknown[] | undefined,
  signal: AbortSignal,
): Promise<T[]> {
  throwIfCancelled(signal);
  const full = poolFull(pool);
  const client = await new Promise<import("pg").PoolClient>((resolve, reject) => {
    let gone = false;
    const onAbort = () => {
      gone = true;
      reject(new QueryCancelledError());
    };
    signal.addEventListener("abort", onAbort, { once: true });
    pool.connect().then(
      (c) => {
        signal.removeEventListener("abort", onAbort);
        if (gone) c.release();
        else resolve(c);
      },
      (e: Error) => {
        signal.removeEventListener("abort", onAbort);
        reject(connectTimeoutOf(e, timeoutMs, full));
      },
    );
  });
  let cancelled = false;
  let rejectCancelled: (e: Error) => void = () => {};
  const query = new pg.Query(sql, params);
  // settles when the server has answered (rows, an error, or the cancel taking effect)
  const settled = new Promise<import("pg").QueryResult>((resolve, reject) => {
    (query as unknown as { callback: (err: Error | null, r: import("pg").QueryResult) => void }).callback = (err, r) => (err ? reject(err) : resolve(r));
  });
  settled.catch(() => {});
  const result = Promise.race([settled, new Promise<never>((_, reject) => (rejectCancelled = reject))]);
  const onAbort = () => {
    cancelled = true;
    sendCancel(pg, clientConfig, client);
    rejectCancelled(new QueryCancelledError());
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    client.query(query);
    return (await result).rows as T[];
  } catch (e) {
    throw cancelled ? new QueryCancelledError() : timeoutOf(e, timeoutMs);
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (!cancelled) client.release();
    // the caller is answered at once; the connection is closed, not reused, once the statement has
    // ended (a cancel arriving late must not hit the next query on it), keeping its pool slot until then
    else void settled.catch(() => {}).finally(() => client.release(true));
  }
}

/**
 * On a Citus coordinator a statement over many shards opens connections to the workers (up to
 * citus.max_adaptive_executor_pool_size, 16, per worker) and by default keeps just one per worker
 * when it ends: every later COPY or multi-shard read forked new worker backends again (a 1,000-flow
 * batch took ~3 s instead of ~0.3 s with two workers on a loaded 2-core machine; keeping 4 per
 * worker was no cure, ~3× slower than 16). Each of our sessions keeps what it opened; the
 * coordinator's citus.max_shared_pool_size still bounds the connections to a worker in total.
 */
const CITUS_SESSION = ["-c citus.max_cached_conns_per_worker=16"];

/** whether the database has the citus extension (false when it cannot be asked now: it is then asked again at the next open) */
async function isCitus(pg: PgModule, connectionString: string): Promise<boolean> {
  const c = new pg.Client({ connectionString, connectionTimeoutMillis: 10_000 });
  c.on("error", () => {});
  try {
    await c.connect();
    const r = await c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'citus'");
    return r.rows[0].n > 0;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

async function openPostgres(url: string, opts: DatabaseOptions): Promise<Database> {
  const { default: pg } = await import("pg");
  const { PrismaPg } = await import("@prisma/adapter-pg");
  const { from: copyFrom, to: copyTo } = await import("pg-copy-streams");
  const { pipeline } = await import("node:stream/promises");
  const { Readable } = await import("node:stream");

  const parsed = new URL(url);
  const schema = parsed.searchParams.get("schema") ?? undefined;
  parsed.searchParams.delete("schema");
  const timeoutMs = opts.queryTimeoutMs === undefined ? DEFAULT_QUERY_TIMEOUT_MS : opts.queryTimeoutMs || null;
  const distributed = await isCitus(pg, parsed.toString());
  const sessionOptions = [...(schema ? [`-c search_path=${quoteIdent(schema)}`] : []), ...(distributed ? CITUS_SESSION : [])];
  const clientConfig: import("pg").ClientConfig = {
    connectionString: parsed.toString(),
    ...(sessionOptions.length ? { options: sessionOptions.join(" ") } : {}),
  };
  const pool = new pg.Pool({ ...clientConfig, max: opts.ingestPoolMax ?? DEFAULT_INGEST_POOL, application_name: "flowlens-ingest" });
  const apiConfig: import("pg").ClientConfig = {
    ...clientConfig,
    application_name: "flowlens-api",
    // a server-side limit per statement: also stops a query whose client (this process) hangs
    ...(timeoutMs ? { statement_timeout: timeoutMs } : {}),
  };
  const apiPool = new pg.Pool({ ...apiConfig, max: opts.apiPoolMax ?? DEFAULT_API_POOL, ...(timeoutMs ? { connectionTimeoutMillis: timeoutMs } : {}) });
  pool.on("error", () => {}); // idle client errors surface on the next query instead of crashing
  apiPool.on("error", () => {});
  // A checked-out client whose server goes away (a restart) emits "error" too, and an "error" with no
  // listener would crash the process; the query or transaction on it fails and is retried instead.
  for (const p of [pool, apiPool]) p.on("connect", (client) => client.on("error", () => {}));
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
  const api: Queryable = {
    async query<T>(sql: string, params?: unknown[], o?: QueryOptions) {
      if (o?.signal) return cancellableQuery<T>(pg, apiPool, apiConfig, timeoutMs, sql, params, o.signal);
      const full = poolFull(apiPool);
      try {
        return (await apiPool.query(sql, params)).rows as T[];
      } catch (e) {
        throw connectTimeoutOf(timeoutOf(e, timeoutMs), timeoutMs, full);
      }
    },
    async exec(sql: string) {
      const full = poolFull(apiPool);
      await apiPool.query(sql).catch((e) => Promise.reject(connectTimeoutOf(timeoutOf(e, timeoutMs), timeoutMs, full)));
    },
  };
  const copyWith = async (client: import("pg").PoolClient, table: string, columns: readonly string[], data: Buffer) => {
    const stream = client.query(copyFrom(`COPY ${quoteIdent(table)} (${columns.map(quoteIdent).join(", ")}) FROM STDIN (FORMAT binary)`));
    await pipeline(Readable.from([data]), stream);
  };

  const copyOut = async (select: string, signal?: AbortSignal): Promise<Buffer> => {
    throwIfCancelled(signal);
    const full = poolFull(apiPool);
    const client = await apiPool.connect().catch((e: Error) => Promise.reject(connectTimeoutOf(e, timeoutMs, full)));
    const onAbort = () => sendCancel(pg, apiConfig, client);
    signal?.addEventListener("abort", onAbort, { once: true });
    let failed: Error | undefined;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of client.query(copyTo(`COPY (${select}) TO STDOUT (FORMAT binary)`))) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    } catch (e) {
      failed = e as Error;
      if (signal?.aborted) throw new QueryCancelledError();
      throw timeoutOf(e, timeoutMs);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      // a connection whose COPY failed half way is not handed out again
      client.release(failed);
    }
  };

  let closed = false;
  const listeners = new Set<() => Promise<void>>();
  const listen = async (channel: string, onPayload: (payload: string) => void, onConnect?: () => void) => {
    let client: import("pg").Client | null = null;
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    const connect = async (): Promise<void> => {
      if (stopped || closed) return;
      const c = new pg.Client({ ...clientConfig, application_name: "flowlens-listen" });
      c.on("notification", (m) => {
        if (m.channel === channel && m.payload !== undefined) onPayload(m.payload);
      });
      const again = () => {
        if (client !== c) return;
        client = null;
        c.end().catch(() => {});
        if (!stopped && !closed) retry = setTimeout(() => void connect().catch(() => {}), 1000);
      };
      c.on("error", again);
      c.on("end", again);
      client = c;
      try {
        await c.connect();
        await c.query(`LISTEN ${quoteIdent(channel)}`);
        onConnect?.();
      } catch {
        again();
      }
    };
    await connect();
    const close = async () => {
      stopped = true;
      clearTimeout(retry);
      listeners.delete(close);
      const c = client;
      client = null;
      await c?.end().catch(() => {});
    };
    listeners.add(close);
    return { close };
  };

  return {
    kind: "postgres",
    schema: schema ?? null,
    listen,
    location: safe.toString() + (schema ? ` (schema ${schema})` : ""),
    prisma,
    api,
    queryTimeoutMs: timeoutMs,
    distributed,
    ...onClient(pool),
    copyOut,
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
      closed = true;
      await Promise.all([...listeners].map((l) => l()));
      await prisma.$disconnect();
      await Promise.all([pool.end(), apiPool.end()]);
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
  const one = on(pglite);
  // PGlite runs a query synchronously in this process: no statement_timeout fires and nothing can
  // interrupt it, so a cancelled read stops before its next query (and drops the answer it got)
  const api: Queryable = {
    async query<T>(sql: string, params?: unknown[], o?: QueryOptions) {
      throwIfCancelled(o?.signal);
      const rows = await one.query<T>(sql, params);
      throwIfCancelled(o?.signal);
      return rows;
    },
    exec: one.exec,
  };
  return {
    kind: "embedded",
    schema: null,
    location: dir,
    prisma,
    api,
    queryTimeoutMs: null,
    distributed: false,
    ...one,
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
  if (opts.url) return openPostgres(opts.url, opts);
  return openEmbedded(opts.dataDir ?? ".data");
}
