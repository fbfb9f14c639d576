/**
 * Everything the ingest writes besides flows, carried through the same ordered, retried batch
 * queue as the flows (so a database outage loses none of it, and a resume point covers it): lost
 * events, node status events, gaps, and quarantined responses. Each is inserted in the flows'
 * transaction.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { LostEventSchema, type LostEvent } from "@/proto/gen/flow/flow_pb";
import { NodeStatusEventSchema } from "@/proto/gen/relay/relay_pb";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { pgText } from "@/server/flow-codec/context-columns";
import type { FlowRow } from "@/server/flow-codec/split-flow";
import { uuidText } from "@/server/flow-codec/rebuild-flow";
import type { Queryable } from "../connection";

export type QuarantineStage = "decode" | "write";

export interface QuarantineRecord {
  kind: "quarantine";
  stage: QuarantineStage;
  error: string;
  nodeName: string | null;
  /** 16-byte dedup key when the flow could be split */
  key: Buffer | null;
  ts: bigint | null;
  /** the GetFlowsResponse as received */
  bytes: Buffer;
}

export interface EventRecord {
  kind: "lost_events" | "node_status";
  /** the LostEvent / NodeStatusEvent message */
  bytes: Buffer;
  nodeName: string;
  timeNs: bigint | null;
  /** the GetFlowsResponse as received (quarantined with it if the message does not decode) */
  response: Buffer;
}

export interface GapRecord {
  kind: "gap";
  nodeName: string | null;
  fromNs: bigint;
  toNs: bigint;
  reason: string;
}

export type SideRecord = QuarantineRecord | EventRecord | GapRecord;
/** What the ingest queues: flows, and the records that travel with them. */
export type IngestRecord = FlowRow | SideRecord;

export const isFlowRow = (r: IngestRecord): r is FlowRow => (r as SideRecord).kind === undefined;

/** A flow the database refused for a reason retrying cannot fix, as its quarantine record. */
export function quarantineFlow(row: FlowRow, error: string, stage: QuarantineStage = "write"): QuarantineRecord {
  return { kind: "quarantine", stage, error, nodeName: row.nodeName || null, key: row.key, ts: row.ts, bytes: row.response };
}

/** Any record the database refused: flows and events are quarantined; a refused quarantine or gap has nowhere to go. */
export function quarantineRecord(r: IngestRecord, error: string): QuarantineRecord | null {
  if (isFlowRow(r)) return quarantineFlow(r, error);
  if (r.kind === "lost_events" || r.kind === "node_status") {
    return { kind: "quarantine", stage: "write", error, nodeName: r.nodeName || null, key: null, ts: r.timeNs, bytes: r.response };
  }
  return null;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const nsOrNull = (ns: bigint | null) => (ns === null || ns < INT64_MIN || ns > INT64_MAX ? null : ns.toString());
/** timestamptz holds 4713 BC … 294276 AD; Date (what the driver sends) ±8.64e15 ms; a JS ISO string only 0000–9999 safely */
function isoOrNull(t: Timestamp | undefined): string | null {
  if (!t) return null;
  const ms = Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
  if (!Number.isFinite(ms) || t.seconds < -62_135_596_800n || t.seconds > 253_402_300_799n) return null;
  return new Date(ms).toISOString();
}
const msIso = (ns: bigint | null) => {
  if (ns === null) return null;
  const ms = Number(ns / 1_000_000n);
  return ms >= -62_135_596_800_000 && ms <= 253_402_300_799_000 ? new Date(ms).toISOString() : null;
};

interface PreparedSide {
  quarantine: Record<string, unknown>[];
  lost: Record<string, unknown>[];
  status: Record<string, unknown>[];
  gaps: Record<string, unknown>[];
}

/** A decoded event, or the quarantine record it becomes when its message does not decode. */
function decodeEvent(r: EventRecord): { lost?: LostEvent; status?: Record<string, unknown>; bad?: QuarantineRecord } {
  try {
    if (r.kind === "lost_events") return { lost: fromBinary(LostEventSchema, r.bytes) };
    const e = fromBinary(NodeStatusEventSchema, r.bytes);
    return { status: { state: e.stateChange, node_names: e.nodeNames.map((n) => pgText(n)), message: e.message ? pgText(e.message) : null } };
  } catch (err) {
    const error = `${r.kind}: ${err instanceof Error ? err.message : String(err)}`;
    return { bad: { kind: "quarantine", stage: "decode", error, nodeName: r.nodeName || null, key: null, ts: r.timeNs, bytes: r.response } };
  }
}

export function prepareSideRecords(records: readonly SideRecord[]): PreparedSide {
  const out: PreparedSide = { quarantine: [], lost: [], status: [], gaps: [] };
  const quarantine = (q: QuarantineRecord) =>
    out.quarantine.push({
      stage: q.stage,
      error: pgText(q.error.toWellFormed()).slice(0, 4000),
      node_name: q.nodeName === null ? null : pgText(q.nodeName),
      key: q.key && q.key.length === 16 ? uuidText(q.key.toString("hex")) : null,
      ts: nsOrNull(q.ts),
      bytes: q.bytes.toString("base64"),
    });
  for (const r of records) {
    if (r.kind === "quarantine") quarantine(r);
    else if (r.kind === "gap") {
      out.gaps.push({ node_name: r.nodeName === null ? null : pgText(r.nodeName), from_ts: nsOrNull(r.fromNs), to_ts: nsOrNull(r.toNs), reason: r.reason });
    } else {
      const d = decodeEvent(r);
      if (d.bad) quarantine(d.bad);
      const common = { time: msIso(r.timeNs), raw: r.bytes.toString("base64") };
      if (d.lost) {
        const e = d.lost;
        out.lost.push({
          ...common,
          node_name: r.nodeName ? pgText(r.nodeName) : null,
          source: e.source,
          num_lost: e.numEventsLost.toString(),
          cpu: e.cpu ?? null,
          first: isoOrNull(e.first),
          last: isoOrNull(e.last),
        });
      } else if (d.status) out.status.push({ ...common, ...d.status });
    }
  }
  return out;
}

/** Inserts prepared side records (inside the batch's transaction). */
export async function insertSideRecords(q: Queryable, p: PreparedSide): Promise<void> {
  if (p.quarantine.length) {
    await q.query(
      `INSERT INTO quarantine (stage, error, node_name, key, ts, bytes)
       SELECT x.stage, x.error, x.node_name, x.key::uuid, x.ts::bigint, decode(x.bytes, 'base64')
       FROM json_to_recordset($1::json) AS x(stage text, error text, node_name text, key text, ts text, bytes text)`,
      [JSON.stringify(p.quarantine)],
    );
  }
  if (p.lost.length) {
    await q.query(
      `INSERT INTO lost_events (time, node_name, source, num_lost, cpu, first, last, raw)
       SELECT x.time::timestamptz, x.node_name, x.source, x.num_lost::numeric, x.cpu, x.first::timestamptz, x.last::timestamptz,
         decode(x.raw, 'base64')
       FROM json_to_recordset($1::json) AS x(time text, node_name text, source int, num_lost text, cpu int, first text, last text, raw text)`,
      [JSON.stringify(p.lost)],
    );
  }
  if (p.status.length) {
    await q.query(
      `INSERT INTO node_status_events (time, state, node_names, message, raw)
       SELECT x.time::timestamptz, x.state, ARRAY(SELECT json_array_elements_text(x.node_names)), x.message, decode(x.raw, 'base64')
       FROM json_to_recordset($1::json) AS x(time text, state int, node_names json, message text, raw text)`,
      [JSON.stringify(p.status)],
    );
  }
  if (p.gaps.length) {
    await q.query(
      `INSERT INTO gaps (node_name, from_ts, to_ts, reason)
       SELECT x.node_name, x.from_ts::bigint, x.to_ts::bigint, x.reason
       FROM json_to_recordset($1::json) AS x(node_name text, from_ts text, to_ts text, reason text)`,
      [JSON.stringify(p.gaps)],
    );
  }
}

export const sideRecordCount = (p: PreparedSide) => p.quarantine.length + p.lost.length + p.status.length + p.gaps.length;
