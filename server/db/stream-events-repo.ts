/**
 * What the gRPC Observer API streams besides flows, in time order: stored lost events and gaps (a
 * CLI user must see the hole, not silently miss flows) and agent events. Read in small keyset
 * pages; the live tail is found by id (rows newer than the ones already sent).
 */
import type { Database } from "./connection";

export type StreamEvent =
  | { kind: "lost"; id: number; timeNs: bigint; nodeName: string | null; raw: Buffer | null; source: number; numLost: bigint; cpu: number | null; firstNs: bigint | null; lastNs: bigint | null }
  | { kind: "gap"; id: number; timeNs: bigint; nodeName: string | null; fromNs: bigint; toNs: bigint; reason: string };

export interface StreamEventCursor {
  timeNs: bigint;
  /** 0 lost event, 1 gap */
  src: number;
  id: number;
}

/** the newest lost_events and gaps ids at some moment */
export interface EventIds {
  lost: number;
  gap: number;
}

export interface AgentEventStored {
  id: number;
  ts: bigint;
  nodeName: string | null;
  raw: Buffer;
}

const PAGE = 1000;
/** timestamptz → ns (µs precision), the same from PostgreSQL and PGlite */
const ns = (col: string) => `(floor(extract(epoch FROM ${col}) * 1000000)::bigint * 1000)`;

interface EventDbRow {
  src: number;
  id: number;
  t: string;
  node_name: string | null;
  raw: Buffer | null;
  source: number | null;
  num_lost: string | null;
  cpu: number | null;
  first: string | null;
  last: string | null;
  from_ts: string | null;
  to_ts: string | null;
  reason: string | null;
}

export class StreamEventsRepo {
  constructor(private readonly db: Database) {}

  /** Lost events and gaps with since ≤ time < until, oldest first, in pages. */
  async *events(q: { sinceNs?: bigint; untilNs?: bigint; after?: StreamEventCursor; aboveIds?: EventIds; upToIds?: EventIds; signal?: AbortSignal }): AsyncGenerator<StreamEvent[]> {
    let after = q.after;
    for (;;) {
      const page = await this.page(q.sinceNs, q.untilNs, after, q.aboveIds, q.upToIds, q.signal);
      if (page.length > 0) yield page;
      if (page.length < PAGE) return;
      const last = page[page.length - 1];
      after = { timeNs: last.timeNs, src: last.kind === "lost" ? 0 : 1, id: last.id };
    }
  }

  private async page(
    sinceNs: bigint | undefined,
    untilNs: bigint | undefined,
    after: StreamEventCursor | undefined,
    above: EventIds | undefined,
    upTo: EventIds | undefined,
    signal?: AbortSignal,
  ): Promise<StreamEvent[]> {
    const params: unknown[] = [];
    const add = (v: unknown) => `$${params.push(v)}`;
    const where: string[] = [];
    if (sinceNs !== undefined) where.push(`t >= ${add(sinceNs.toString())}::bigint`);
    if (untilNs !== undefined) where.push(`t < ${add(untilNs.toString())}::bigint`);
    if (upTo) where.push(`((src = 0 AND id <= ${add(upTo.lost)}::int) OR (src = 1 AND id <= ${add(upTo.gap)}::int))`);
    if (above) where.push(`((src = 0 AND id > ${add(above.lost)}::int) OR (src = 1 AND id > ${add(above.gap)}::int))`);
    if (after) where.push(`(t, src, id) > (${add(after.timeNs.toString())}::bigint, ${add(after.src)}::int, ${add(after.id)}::int)`);
    const rows = await this.db.api.query<EventDbRow>(
      `SELECT src, id, t::text AS t, node_name, raw, source, num_lost, cpu, first::text AS first, last::text AS last,
              from_ts::text AS from_ts, to_ts::text AS to_ts, reason
       FROM (
         SELECT 0 AS src, id, ${ns("coalesce(time, received_at)")} AS t, node_name, raw, source, num_lost::text AS num_lost, cpu,
                CASE WHEN first IS NULL THEN NULL ELSE ${ns("first")} END AS first, CASE WHEN last IS NULL THEN NULL ELSE ${ns("last")} END AS last,
                NULL::bigint AS from_ts, NULL::bigint AS to_ts, NULL::text AS reason
         FROM lost_events
         UNION ALL
         SELECT 1, id, from_ts, node_name, NULL, NULL, NULL, NULL, NULL, NULL, from_ts, to_ts, reason FROM gaps
       ) e ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY t, src, id LIMIT ${PAGE}`,
      params,
      { signal },
    );
    return rows.map((r): StreamEvent => {
      const common = { id: r.id, timeNs: BigInt(r.t), nodeName: r.node_name };
      if (r.src === 0) {
        return {
          kind: "lost",
          ...common,
          raw: r.raw ? Buffer.from(r.raw) : null,
          source: r.source ?? 0,
          numLost: BigInt(r.num_lost ?? "0"),
          cpu: r.cpu,
          firstNs: r.first === null ? null : BigInt(r.first),
          lastNs: r.last === null ? null : BigInt(r.last),
        };
      }
      return { kind: "gap", ...common, fromNs: BigInt(r.from_ts!), toNs: BigInt(r.to_ts!), reason: r.reason ?? "" };
    });
  }

  /** The newest ids now: rows above them arrived later (the live tail of a follow). */
  async newestIds(signal?: AbortSignal): Promise<EventIds> {
    const [r] = await this.db.api.query<EventIds>(
      `SELECT coalesce((SELECT max(id) FROM lost_events), 0)::int AS lost, coalesce((SELECT max(id) FROM gaps), 0)::int AS gap`,
      [],
      { signal },
    );
    return r;
  }

  /** Agent events with since ≤ ts < until, in ts order (ascending, or descending for "the last n"). */
  async agentEvents(q: {
    sinceNs?: bigint;
    untilNs?: bigint;
    /** arrival order: events stored after this id */
    afterId?: number;
    /** keyset continuation of the ascending order */
    after?: { ts: bigint; id: number };
    /** at most this id (what was stored when a stream began) */
    maxId?: number;
    limit: number;
    order: "asc" | "desc";
    signal?: AbortSignal;
  }): Promise<AgentEventStored[]> {
    const params: unknown[] = [];
    const add = (v: unknown) => `$${params.push(v)}`;
    const where: string[] = [];
    if (q.sinceNs !== undefined) where.push(`ts >= ${add(q.sinceNs.toString())}::bigint`);
    if (q.untilNs !== undefined) where.push(`ts < ${add(q.untilNs.toString())}::bigint`);
    if (q.afterId !== undefined) where.push(`id > ${add(q.afterId)}::int`);
    if (q.maxId !== undefined) where.push(`id <= ${add(q.maxId)}::int`);
    if (q.after) where.push(`(ts, id) > (${add(q.after.ts.toString())}::bigint, ${add(q.after.id)}::int)`);
    const dir = q.order === "asc" ? "ASC" : "DESC";
    const rows = await this.db.api.query<{ id: number; ts: string; node_name: string | null; raw: Buffer }>(
      `SELECT id, ts::text AS ts, node_name, raw FROM agent_events ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY ${q.afterId !== undefined ? "id" : `ts ${dir}, id ${dir}`} LIMIT ${add(q.limit)}::int`,
      params,
      { signal: q.signal },
    );
    return rows.map((r) => ({ id: r.id, ts: BigInt(r.ts), nodeName: r.node_name, raw: Buffer.from(r.raw) }));
  }

  async newestAgentEventId(signal?: AbortSignal): Promise<number> {
    const [r] = await this.db.api.query<{ id: number }>(`SELECT coalesce(max(id), 0)::int AS id FROM agent_events`, [], { signal });
    return r.id;
  }
}
