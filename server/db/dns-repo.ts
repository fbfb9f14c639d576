/**
 * Reads the DNS flows of a range as DnsMessages: only the columns DNS needs, straight from SQL
 * (rebuilding each flow's hubble JSON costs ~50 µs, far too much for 100k queries). Each distinct
 * context is decoded once and cached (contexts never change); of the L7 record only the qtypes are
 * read, with the wire walker, and the full record (ips, ttl, cnames) is decoded just for the queries
 * an answer shows.
 *
 * The hubble-style filter is split as for /api/flows: context conditions run through the shared
 * matcher on each distinct context, per-flow conditions become a SQL expression. Both only *mark*
 * rows (`matched`): pairing needs the other half of every exchange, whether it matched or not.
 */
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { FlowSchema, Layer7Schema } from "@/proto/gen/flow/flow_pb";
import { peer } from "@/server/domain/dns-peer";
import { analyzeDns, type DnsAnalysis } from "@/server/domain/dns-analysis";
import type { DnsApiQuery } from "@/server/domain/dns-params";
import type { DnsMessage, DnsPeer } from "@/server/domain/dns-types";
import type { FlowFilterSpec } from "@/server/domain/flow-filter-spec";
import type { FlowItem, FlowJson } from "@/server/domain/flow-item";
import { compileMatcher } from "@/server/domain/flow-match";
import { L7_DNS } from "@/server/flow-codec/flow-fields";
import { WIRE_LEN, WireCursor } from "@/server/flow-codec/wire";
import type { Database } from "./connection";
import type { DimensionRepo } from "./dimension-repo";
import { SqlParams, flowConditions, hasConditions, splitSpec } from "./flow-sql";

const L7_REQUEST = 1;
const L7_RESPONSE = 2;
const MAX_CONTEXTS = 100_000;
/** identical reads within this window share one result (the page asks /api/dns and /summary together) */
const MEMO_MS = 3000;

export interface DnsRead {
  filter: FlowFilterSpec;
  /** ns, inclusive / exclusive; the caller pads them by the pairing timeout */
  fromNs: bigint;
  toNs: bigint;
}

export interface DnsDetails {
  ips: string[];
  ttl: number | null;
  cnames: string[];
  rrtypes: string[];
}

export interface DnsMessages {
  messages: DnsMessage[];
  /** L7 bytes of every response, by key, for details() */
  l7: Map<string, Uint8Array>;
  rows: number;
}

interface DnsRow {
  us: number;
  key: string;
  ctx_id: number;
  l7_type: number | null;
  dns_query: string | null;
  dns_rcode: number | null;
  lat: number | null;
  sport: number | null;
  dport: number | null;
  l7: Uint8Array | null;
  m: boolean;
}

interface DecodedContext {
  src: DnsPeer;
  dst: DnsPeer;
  node: string;
  /** for the shared matcher */
  item: FlowItem;
}

export class DnsRepo {
  private contexts = new Map<number, DecodedContext>();
  private memo = new Map<string, { at: number; result: Promise<DnsMessages> }>();

  constructor(
    private readonly db: Database,
    private readonly dims: DimensionRepo,
  ) {}

  /** DNS requests and responses in [fromNs, toNs), marked by the filter. */
  read(q: DnsRead): Promise<DnsMessages> {
    const key = JSON.stringify({ f: q.filter, a: q.fromNs.toString(), b: q.toNs.toString() });
    const now = Date.now();
    for (const [k, v] of this.memo) if (now - v.at > MEMO_MS) this.memo.delete(k);
    const hit = this.memo.get(key);
    if (hit) return hit.result;
    const result = this.readUncached(q);
    this.memo.set(key, { at: now, result });
    result.catch(() => this.memo.delete(key));
    return result;
  }

  private async readUncached(q: DnsRead): Promise<DnsMessages> {
    const { context, flow } = splitSpec(q.filter);
    const p = new SqlParams();
    const conds = flowConditions(flow, p);
    const from = p.add(q.fromNs.toString(), "::bigint");
    const to = p.add(q.toNs.toString(), "::bigint");
    // µs as float8 is exact (< 2^53) and parses as a JS number without BigInt
    const rows = await this.db.query<DnsRow>(
      `SELECT (f.ts / 1000)::float8 AS us, f.key::text AS key, f.ctx_id, f.l7_type, f.dns_query, f.dns_rcode,
          f.latency_ns::float8 AS lat, f.sport, f.dport, f.l7, ${conds.length ? `(${conds.join(" AND ")})` : "true"} AS m
        FROM flows f
        WHERE f.l7_kind = 100 AND f.ts >= ${from} AND f.ts < ${to} AND f.l7_type IN (${L7_REQUEST}, ${L7_RESPONSE})`,
      p.values,
    );
    await this.loadContexts(new Set(rows.map((r) => r.ctx_id)));
    const match = hasConditions(context) ? compileMatcher(context) : null;
    const ctxMatch = new Map<number, boolean>();

    const messages: DnsMessage[] = [];
    const l7 = new Map<string, Uint8Array>();
    for (const r of rows) {
      const c = this.contexts.get(r.ctx_id);
      if (!c) continue;
      let cm = ctxMatch.get(r.ctx_id);
      if (cm === undefined) ctxMatch.set(r.ctx_id, (cm = match ? match(c.item) : true));
      const request = r.l7_type === L7_REQUEST;
      if (!request && r.l7) l7.set(r.key, r.l7);
      messages.push({
        key: r.key,
        tMs: Number(r.us) / 1000,
        kind: request ? "request" : "response",
        query: r.dns_query ?? "",
        qtypes: r.l7 ? readQtypes(r.l7) : [],
        rcode: request ? null : (r.dns_rcode ?? 0),
        latencyNs: r.lat === null || Number(r.lat) <= 0 ? null : Number(r.lat),
        client: request ? c.src : c.dst,
        server: request ? c.dst : c.src,
        clientPort: (request ? r.sport : r.dport) ?? null,
        node: c.node,
        matched: cm && r.m,
      });
    }
    return { messages, l7, rows: rows.length };
  }

  private async loadContexts(ids: Set<number>): Promise<void> {
    const missing = [...ids].filter((id) => !this.contexts.has(id));
    if (missing.length === 0) return;
    if (this.contexts.size + missing.length > MAX_CONTEXTS) this.contexts.clear();
    const records = await this.dims.contextsById(missing);
    for (const [id, rec] of records) {
      const f = fromBinary(FlowSchema, rec.raw);
      const json = toJson(FlowSchema, f, { useProtoFieldName: true }) as FlowJson;
      const node = rec.responseNodeName || rec.nodeName || f.nodeName;
      this.contexts.set(id, {
        src: peer(f.source, f.IP?.source ?? ""),
        dst: peer(f.destination, f.IP?.destination ?? ""),
        node,
        item: { key: "", flow: json, node_name: rec.responseNodeName ?? rec.nodeName },
      });
    }
  }
}

/** ips, ttl, cnames of a response (a full decode: only for the queries an answer shows). */
export function dnsDetails(l7: Uint8Array | undefined): DnsDetails | null {
  if (!l7) return null;
  try {
    const m = fromBinary(Layer7Schema, l7);
    if (m.record.case !== "dns") return null;
    const d = m.record.value;
    return { ips: d.ips, ttl: d.ttl, cnames: d.cnames, rrtypes: d.rrtypes };
  } catch {
    return null;
  }
}

/** Layer7.dns.qtypes without decoding the rest (field 100 → repeated string 7). */
export function readQtypes(l7: Uint8Array): string[] {
  const out: string[] = [];
  try {
    const c = new WireCursor(l7);
    while (!c.done()) {
      c.field();
      if (c.fieldNo !== L7_DNS || c.wireType !== WIRE_LEN) continue;
      const d = new WireCursor(l7, c.valueStart, c.valueEnd);
      while (!d.done()) {
        d.field();
        if (d.fieldNo === 7 && d.wireType === WIRE_LEN) out.push(d.stringValue());
      }
    }
  } catch {
    // a malformed record still pairs by name; it just has no qtype
  }
  return out;
}

/** Reads the range padded by the timeout (so edge queries pair) and analyses it. */
export async function analyzeRange(repo: DnsRepo, q: DnsApiQuery, nowMs = Date.now()): Promise<{ analysis: DnsAnalysis; read: DnsMessages }> {
  const padNs = BigInt(q.timeoutMs + 1000) * 1_000_000n;
  const read = await repo.read({ filter: q.filter, fromNs: q.sinceNs - padNs, toNs: q.untilNs + padNs });
  const untilMs = Number(q.untilNs / 1000n) / 1000;
  const analysis = analyzeDns(read.messages, {
    sinceMs: Number(q.sinceNs / 1000n) / 1000,
    untilMs,
    horizonMs: Math.min(nowMs, untilMs + q.timeoutMs + 1000),
    timeoutMs: q.timeoutMs,
    workloads: q.workloads,
    search: q.search,
    statuses: q.statuses,
  });
  return { analysis, read };
}

const repos = new WeakMap<Database, DnsRepo>();

/** One DnsRepo per store (its context cache lives as long as the runtime's store). */
export function dnsRepoFor(db: Database, dims: DimensionRepo): DnsRepo {
  let r = repos.get(db);
  if (!r) repos.set(db, (r = new DnsRepo(db, dims)));
  return r;
}
