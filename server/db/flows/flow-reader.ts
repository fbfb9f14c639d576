/**
 * Reads stored flows newest first with keyset pagination and rebuilds each one into hubble's JSON
 * form (docs/api.md).
 */
import { fromBinary } from "@bufbuild/protobuf";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import type { FlowFilterSet, FlowFilterSpec } from "@/server/domain/flows/flow-filter-spec";
import { itemResponse, type FlowItem, type FlowJson } from "@/server/domain/flows/flow-item";
import { encodeCursor, readCursor, splitCursor } from "@/server/domain/flows/flow-cursor";
import { compileMatcher } from "@/server/domain/flows/flow-match";
import { responseJson } from "@/server/flow-codec/flow-json";
import { uuidText } from "@/server/flow-codec/rebuild-flow";
import { ByteSink, writeResponse, type StoredFlow } from "@/server/flow-codec/response-writer";
import type { Database } from "../connection";
import { contextCatalogFor, type CatalogEntry, type ContextCatalog } from "./context-catalog";
import type { DimensionRepo } from "./dimension-repo";
import { SqlParams, flowConditions, hasConditions, splitSpec } from "./flow-sql";
import { InputError } from "../input-error";
import { inlineParams } from "../sql-literal";
import { BytesPage, COPY_COLUMNS, CopiedPage, materialize, parseCopy, referencedIds, type FlowPage } from "./flow-copy-page";
import { throwIfCancelled } from "../query-errors";

export interface FlowReadQuery {
  filter: FlowFilterSpec;
  /** several filters (gRPC whitelist/blacklist); when given, `filter` is not used */
  filters?: FlowFilterSet;
  /** newest first (default, /api/flows) or oldest first (gRPC); a cursor continues in its order */
  order?: "asc" | "desc";
  sinceNs?: bigint;
  untilNs?: bigint;
  limit: number;
  cursor?: string;
  /** the request's: cancels the running query and stops an export between pages */
  signal?: AbortSignal;
}

/** A query of /api/flows: `cursor` as handed out by `list` (with `last`, "<cursor>.<left>"). */
export interface FlowListQuery extends FlowReadQuery {
  /** only the N newest matching flows */
  last?: number;
}

/**
 * With `last`, a cursor carries how many of the N newest are still to come (flow-cursor.ts): the
 * position to continue from, and how many flows may follow at most.
 */
function continuation(q: Pick<FlowListQuery, "cursor" | "last">): { cursor?: string; left?: number } {
  const counted = q.cursor === undefined ? undefined : splitCursor(q.cursor);
  const left = q.last !== undefined && counted?.left !== undefined ? Math.min(q.last, counted.left) : q.last;
  return { cursor: counted?.cursor, left };
}

interface FlowDbRow {
  ts: string;
  key: string;
  key_derived: boolean;
  ctx_id: number;
  l4: number;
  sport: number | null;
  dport: number | null;
  tcp_flags: number | null;
  summary_id: number | null;
  l7: Uint8Array | null;
  rest: Uint8Array | null;
  resp_ts: string | null;
  ts_synthetic: boolean | null;
  resp_rest: Uint8Array | null;
}

/** A cursor this API did not hand out. */
export class CursorError extends InputError {
  constructor(message: string) {
    super(message, "cursor");
  }
}

export { encodeCursor };

/** flows rebuilt between two turns of the event loop (a few ms of work) */
const YIELD_EVERY = 50;
/**
 * rows an export reads per query: few enough that a page's rebuilt flows are garbage before they
 * are promoted to the old generation (whose collections pause everything), enough that planning the
 * query over a month of day partitions (~5–10 ms) stays a small part of the work
 */
const EXPORT_PAGE = 500;

const ROW_COLUMNS = `f.ts::text AS ts, f.key::text AS key, f.key_derived, f.ctx_id, f.l4, f.sport, f.dport,
        f.tcp_flags, f.summary_id, f.l7, f.rest, f.resp_ts::text AS resp_ts, f.ts_synthetic, f.resp_rest`;

export function decodeCursor(cursor: string): { ts: bigint; key: string } {
  const c = readCursor(cursor);
  if (!c) throw new CursorError("cursor: not a cursor returned by this API");
  return c;
}

export class FlowReader {
  private readonly contexts: ContextCatalog;

  constructor(
    private readonly db: Database,
    private readonly dims: DimensionRepo,
  ) {
    this.contexts = contextCatalogFor(dims);
  }

  /** One page, newest first; `next` continues after the last item. */
  async page(q: FlowReadQuery): Promise<{ items: FlowItem[]; next: string | null }> {
    const rows = await this.rows(q, q.limit + 1);
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    const items = await this.toItems(page, q.signal);
    const last = page[page.length - 1];
    return { items, next: more && last ? encodeCursor(BigInt(last.ts), last.key) : null };
  }

  /** A page of /api/flows: `next` continues it, counting down `last` when given. */
  async list(q: FlowListQuery): Promise<{ flows: FlowItem[]; next: string | null }> {
    const { cursor, left } = continuation(q);
    if (left === 0) return { flows: [], next: null };
    const limit = left !== undefined ? Math.min(q.limit, left) : q.limit;
    const page = await this.page({ filter: q.filter, sinceNs: q.sinceNs, untilNs: q.untilNs, cursor, limit, signal: q.signal });
    const rest = left === undefined ? undefined : left - page.items.length;
    const next = page.next === null || rest === 0 ? null : rest === undefined ? page.next : `${page.next}.${rest}`;
    return { flows: page.items, next };
  }

  /** The whole of a /api/flows query in pages, for an export (which may continue from a `list` cursor). */
  listAll(q: Omit<FlowListQuery, "limit">): AsyncGenerator<FlowItem[]> {
    const { cursor, left } = continuation(q);
    return this.all({ filter: q.filter, sinceNs: q.sinceNs, untilNs: q.untilNs, cursor, signal: q.signal }, left ?? Number.POSITIVE_INFINITY);
  }

  /** Every matching flow, newest first, in pages (for streamed exports). */
  async *all(q: Omit<FlowReadQuery, "limit">, max = Number.POSITIVE_INFINITY, pageSize = EXPORT_PAGE): AsyncGenerator<FlowItem[]> {
    for await (const rows of this.rowPages(q, max, pageSize)) yield await this.toItems(rows, q.signal);
  }

  /** Every matching flow as the exact GetFlowsResponse bytes that were received, in pages. */
  async *allBytes(
    q: Omit<FlowReadQuery, "limit">,
    max = Number.POSITIVE_INFINITY,
    pageSize = EXPORT_PAGE,
  ): AsyncGenerator<{ key: string; ts: bigint; bytes: Buffer }[]> {
    for await (const page of this.flowPages(q, max, pageSize)) yield materialize(page);
  }

  /**
   * Every matching flow, in pages whose responses are written where the caller wants them (the gRPC
   * frames). On PostgreSQL the rows are read as binary COPY (flow-copy-page.ts) and the next page is
   * read while the caller sends this one.
   */
  flowPages(q: Omit<FlowReadQuery, "limit">, max = Number.POSITIVE_INFINITY, pageSize = EXPORT_PAGE, firstPageSize = pageSize): AsyncGenerator<FlowPage> {
    if (this.db.copyOut) return this.pages(q, max, pageSize, firstPageSize, (page, want) => this.copiedPage(page, want), true);
    return this.pages(q, max, pageSize, firstPageSize, async (page, want) => new BytesPage(await this.rebuild(await this.rows({ ...page, limit: want }, want), q.signal)), false);
  }

  /** `firstPageSize`: a small first page answers quickly; pages then grow fourfold up to pageSize */
  private rowPages(q: Omit<FlowReadQuery, "limit">, max: number, pageSize: number, firstPageSize = pageSize): AsyncGenerator<FlowDbRow[]> {
    const rows = (page: Omit<FlowReadQuery, "limit">, want: number) => this.rows({ ...page, limit: want }, want);
    return this.pages(q, max, pageSize, firstPageSize, rows, false);
  }

  /**
   * Keyset paging: each page continues after the last item of the one before. With `ahead`, the next
   * page's query runs while the consumer works on this one (the database and this process overlap).
   */
  private async *pages<P extends FlowDbRow[] | FlowPage>(
    q: Omit<FlowReadQuery, "limit">,
    max: number,
    pageSize: number,
    firstPageSize: number,
    fetch: (page: Omit<FlowReadQuery, "limit">, want: number) => Promise<P>,
    ahead: boolean,
  ): AsyncGenerator<P> {
    let left = max;
    let size = Math.min(firstPageSize, pageSize);
    const start = (cursor: string | undefined): { want: number; page: Promise<P> } => {
      const want = Math.min(size, left);
      size = Math.min(size * 4, pageSize);
      const page = fetch({ ...q, cursor }, want);
      page.catch(() => {}); // awaited below, unless the consumer stopped first
      return { want, page };
    };
    let next: { want: number; page: Promise<P> } | null = left > 0 ? start(q.cursor) : null;
    while (next) {
      throwIfCancelled(q.signal); // the client went away while the last page was being sent
      const { want } = next;
      const page = await next.page;
      left -= page.length;
      next = null;
      let cursor: string | null = null;
      if (page.length === want && left > 0) {
        cursor = Array.isArray(page)
          ? encodeCursor(BigInt(page[page.length - 1].ts), page[page.length - 1].key)
          : encodeCursor(page.ts(page.length - 1), page.key(page.length - 1));
        if (ahead) next = start(cursor);
      }
      if (page.length > 0) yield page;
      if (cursor !== null && !ahead) next = start(cursor);
    }
  }

  /** One page read as binary COPY (flow-copy-page.ts). */
  private async copiedPage(q: Omit<FlowReadQuery, "limit">, want: number): Promise<FlowPage> {
    const select = await this.selectSql({ ...q, limit: want }, want, 0, COPY_COLUMNS);
    if (select === null) return new BytesPage([]);
    const tuples = parseCopy(await this.db.copyOut!(inlineParams(select.sql, select.values), q.signal));
    const ids = referencedIds(tuples);
    const ctx = await this.dims.contextsById(ids.contexts, q.signal);
    const sums = await this.dims.summariesById(ids.summaries, q.signal);
    return new CopiedPage(tuples, ctx, sums);
  }

  /** SQL for one filter: its context part as the matching context ids, its per-flow part as SQL. */
  private async specCondition(spec: FlowFilterSpec, p: SqlParams): Promise<string | null> {
    const { context, flow } = splitSpec(spec);
    const parts: string[] = [];
    if (hasConditions(context)) {
      const ids = (await this.contexts.matching(context)).map((e) => e.id);
      if (ids.length === 0) return "false";
      parts.push(`f.ctx_id = ANY(${p.add(ids, "::int[]")})`);
    }
    parts.push(...flowConditions(flow, p));
    return parts.length ? `(${parts.join(" AND ")})` : null;
  }

  /** WHERE conditions of the query's filter (or filter set); null when nothing can match */
  private async filterConditions(q: Pick<FlowReadQuery, "filter" | "filters">, p: SqlParams): Promise<string[] | null> {
    if (!q.filters) {
      const c = await this.specCondition(q.filter, p);
      return c === "false" ? null : c ? [c] : [];
    }
    const out: string[] = [];
    const { whitelist, blacklist } = q.filters;
    if (whitelist.length > 0) {
      const any = await Promise.all(whitelist.map((s) => this.specCondition(s, p)));
      if (!any.includes(null)) {
        const live = any.filter((c) => c !== "false");
        if (live.length === 0) return null;
        out.push(`(${live.join(" OR ")})`);
      }
    }
    const none = (await Promise.all(blacklist.map((s) => this.specCondition(s, p)))).filter((c) => c !== "false");
    if (none.includes(null)) return null; // a blacklist filter without conditions removes everything
    // NULL columns make a condition NULL, and NOT NULL would drop the row: a NULL here is "no match"
    if (none.length > 0) out.push(`NOT coalesce((${none.join(" OR ")}), false)`);
    return out;
  }

  private async selectSql(q: FlowReadQuery, limit: number, offset: number, columns: string): Promise<{ sql: string; values: unknown[] } | null> {
    const p = new SqlParams();
    const where = await this.filterConditions(q, p);
    if (where === null) return null;
    if (q.sinceNs !== undefined) where.push(`f.ts >= ${p.add(q.sinceNs.toString(), "::bigint")}`);
    if (q.untilNs !== undefined) where.push(`f.ts < ${p.add(q.untilNs.toString(), "::bigint")}`);
    const asc = q.order === "asc";
    if (q.cursor) {
      const c = decodeCursor(q.cursor);
      where.push(`(f.ts, f.key) ${asc ? ">" : "<"} (${p.add(c.ts.toString(), "::bigint")}, ${p.add(uuidText(c.key), "::uuid")})`);
    }
    const dir = asc ? "ASC" : "DESC";
    const sql = `SELECT ${columns}
      FROM flows f ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY f.ts ${dir}, f.key ${dir} LIMIT ${p.add(limit, "::int")}${offset > 0 ? ` OFFSET ${p.add(offset, "::int")}` : ""}`;
    return { sql, values: p.values };
  }

  private async rows(q: FlowReadQuery, limit: number, offset = 0): Promise<FlowDbRow[]> {
    const select = await this.selectSql(q, limit, offset, ROW_COLUMNS);
    if (select === null) return [];
    return this.db.api.query<FlowDbRow>(select.sql, select.values, { signal: q.signal });
  }

  /**
   * The cursor (oldest-first order) just before the `n` newest matching flows, or undefined when
   * there are at most `n`: streaming oldest first from it gives the newest n in time order without
   * holding them (hubble sends "the last n" oldest first).
   */
  async cursorBeforeNewest(q: Omit<FlowReadQuery, "limit" | "order" | "cursor">, n: number): Promise<string | undefined> {
    const [row] = await this.rows({ ...q, limit: 1, order: "desc" }, 1, n);
    return row ? encodeCursor(BigInt(row.ts), row.key) : undefined;
  }

  /** Every context decoded so far, after a refresh (namespaces and nodes of the stored flows). */
  async contextEntries(): Promise<readonly CatalogEntry[]> {
    await this.contexts.refresh();
    return this.contexts.all();
  }

  /** Rebuilds the GetFlowsResponse of each row (hubble JSON form). */
  async responses(rows: FlowDbRow[], signal?: AbortSignal): Promise<{ key: string; json: Record<string, unknown> }[]> {
    const rebuilt = await this.rebuild(rows, signal);
    const out: { key: string; json: Record<string, unknown> }[] = [];
    for (let i = 0; i < rebuilt.length; i++) {
      // ~50-200 µs a flow: a page of thousands would hold the event loop (the ingest, /api/status)
      // for a large part of a second, so other work gets a turn every slice
      if (i > 0 && i % YIELD_EVERY === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        throwIfCancelled(signal);
      }
      out.push({ key: rebuilt[i].key, json: responseJson(fromBinary(GetFlowsResponseSchema, rebuilt[i].bytes)) });
    }
    return out;
  }

  /** Rebuilds the GetFlowsResponse bytes of each row: views into one buffer per page. */
  private async rebuild(rows: FlowDbRow[], signal?: AbortSignal): Promise<{ key: string; ts: bigint; bytes: Buffer }[]> {
    const ctx = await this.dims.contextsById(new Set(rows.map((r) => r.ctx_id)), signal);
    const sums = await this.dims.summariesById(new Set(rows.flatMap((r) => (r.summary_id === null ? [] : [r.summary_id]))), signal);
    // a page's responses are written into one buffer: one allocation a page, not one a flow
    const sink = new ByteSink(rows.length * 512 + 1024);
    const ends: number[] = new Array(rows.length);
    const stored: StoredFlow[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const c = ctx.get(r.ctx_id);
      if (!c) throw new Error(`flow context ${r.ctx_id} missing`);
      const f: StoredFlow = {
        ts: BigInt(r.ts),
        key: r.key,
        keyDerived: r.key_derived,
        l4: r.l4,
        sport: r.sport,
        dport: r.dport,
        tcpFlags: r.tcp_flags,
        summary: r.summary_id === null ? null : (sums.get(r.summary_id) ?? null),
        l7: r.l7,
        rest: r.rest,
        respTs: r.resp_ts === null ? null : BigInt(r.resp_ts),
        tsSynthetic: r.ts_synthetic === true,
        respRest: r.resp_rest,
      };
      writeResponse(f, c, sink);
      ends[i] = sink.pos;
      stored[i] = f;
    }
    // views of the final buffer (it may have grown while writing)
    const out: { key: string; ts: bigint; bytes: Buffer }[] = new Array(rows.length);
    for (let i = 0, from = 0; i < rows.length; from = ends[i], i++) out[i] = { key: rows[i].key, ts: stored[i].ts, bytes: sink.buf.subarray(from, ends[i]) };
    return out;
  }

  private async toItems(rows: FlowDbRow[], signal?: AbortSignal): Promise<FlowItem[]> {
    return (await this.responses(rows, signal)).map(({ key, json }) => ({
      key,
      flow: (json.flow ?? {}) as FlowJson,
      node_name: json.node_name as string | undefined,
      time: json.time as string | undefined,
    }));
  }

  /** Exports: the GetFlowsResponse JSON of every matching flow (hubble observe -o jsonpb). */
  async *allResponses(q: Omit<FlowReadQuery, "limit">, max = Number.POSITIVE_INFINITY, pageSize = EXPORT_PAGE): AsyncGenerator<Record<string, unknown>[]> {
    for await (const items of this.all(q, max, pageSize)) yield items.map(itemResponse);
  }
}
