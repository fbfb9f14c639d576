/**
 * Reads the quarantine: responses the ingest kept as bytes instead of storing (malformed, or
 * refused by the store). Newest first, keyset-paged by id; each record carries its original bytes
 * and, when they still decode, the response in hubble's JSON form.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { responseJson } from "@/server/flow-codec/flow-json";
import { formatRfc3339Ns } from "@/server/domain/shared/time";
import type { Database } from "./connection";

export interface QuarantineItem {
  id: string;
  received_at: string;
  stage: string;
  error: string;
  node_name: string | null;
  /** the flow's dedup key, when it could be read */
  key: string | null;
  /** the flow's own time, when it could be read */
  time: string | null;
  /** the GetFlowsResponse as received */
  bytes_base64: string;
  /** the same response in hubble's JSON form, when it decodes */
  response?: Record<string, unknown>;
}

export interface QuarantineQuery {
  /** newest first, ids below this one */
  beforeId?: bigint;
  stage?: "decode" | "write";
  limit: number;
  /** the request's: cancels the query when its client goes away */
  signal?: AbortSignal;
}

interface Row {
  id: string;
  received_at: Date;
  stage: string;
  error: string;
  node_name: string | null;
  key: string | null;
  ts: string | null;
  bytes: Uint8Array;
}

function item(r: Row, withBytes: boolean): QuarantineItem {
  const bytes = Buffer.from(r.bytes);
  const out: QuarantineItem = {
    id: r.id,
    received_at: r.received_at.toISOString(),
    stage: r.stage,
    error: r.error,
    node_name: r.node_name,
    key: r.key,
    time: r.ts === null ? null : formatRfc3339Ns(BigInt(r.ts)),
    bytes_base64: withBytes ? bytes.toString("base64") : "",
  };
  if (withBytes) {
    try {
      out.response = responseJson(fromBinary(GetFlowsResponseSchema, bytes));
    } catch {
      // malformed: the bytes are all there is
    }
  }
  return out;
}

export class QuarantineRepo {
  constructor(private readonly db: Database) {}

  async page(q: QuarantineQuery, withBytes = true): Promise<{ items: QuarantineItem[]; next: string | null }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.beforeId !== undefined) where.push(`id < $${params.push(q.beforeId.toString())}::bigint`);
    if (q.stage) where.push(`stage = $${params.push(q.stage)}`);
    const rows = await this.db.api.query<Row>(
      `SELECT id::text AS id, received_at, stage, error, node_name, key::text AS key, ts::text AS ts, bytes
       FROM quarantine ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY id DESC LIMIT $${params.push(q.limit + 1)}::int`,
      params,
      { signal: q.signal },
    );
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    return { items: page.map((r) => item(r, withBytes)), next: more ? page[page.length - 1].id : null };
  }

  /** Every record, newest first, in pages (JSONL export). */
  async *all(q: Omit<QuarantineQuery, "limit">, pageSize = 500): AsyncGenerator<QuarantineItem[]> {
    let beforeId = q.beforeId;
    for (;;) {
      const { items, next } = await this.page({ ...q, beforeId, limit: pageSize });
      if (items.length) yield items;
      if (next === null) return;
      beforeId = BigInt(next);
    }
  }
}
