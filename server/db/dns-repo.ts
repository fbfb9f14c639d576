/**
 * Reads the DNS flows of a range as DnsMessages: only the columns DNS needs, straight from SQL
 * (rebuilding each flow's hubble JSON costs ~50 µs, far too much for 100k queries). Each distinct
 * context comes from the shared decoded catalog (contexts never change); of the L7 record only the qtypes are
 * read, with the wire walker, and the full record (ips, ttl, cnames) is decoded just for the queries
 * an answer shows.
 *
 * The hubble-style filter is split as for /api/flows: context conditions run through the shared
 * matcher on each distinct context, per-flow conditions become a SQL expression. Both only *mark*
 * rows (`matched`): pairing needs the other half of every exchange, whether it matched or not.
 *
 * Stored flows never change, so messages are kept per minute of flows (bounded LRU) and a minute is
 * read again only when its row count in the database differs; filters without per-flow conditions
 * (the page's usual case) then cost one GROUP BY plus what arrived since the last read.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { L7FlowType, Layer7Schema } from "@/proto/gen/flow/flow_pb";
import { fromJsonEndpoint, peer } from "@/server/domain/dns-peer";
import { analyzeDns, type DnsAnalysis } from "@/server/domain/dns-analysis";
import type { DnsApiQuery } from "@/server/domain/dns-params";
import type { DnsMessage, DnsPeer } from "@/server/domain/dns-types";
import type { FlowFilterSpec } from "@/server/domain/flow-filter-spec";
import type { FlowItem } from "@/server/domain/flow-item";
import { compileMatcher } from "@/server/domain/flow-match";
import { L7_DNS } from "@/server/flow-codec/flow-fields";
import { WIRE_LEN, WireCursor } from "@/server/flow-codec/wire";
import type { Database } from "./connection";
import type { DimensionRepo } from "./dimension-repo";
import { contextCatalogFor } from "./context-catalog";
import { SqlParams, flowConditions, hasConditions, splitSpec } from "./flow-sql";

const L7_REQUEST = L7FlowType.REQUEST;
const L7_RESPONSE = L7FlowType.RESPONSE;
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

/** L7 bytes of responses by key, for dnsDetails(). */
export type AnswerBytes = Pick<Map<string, Uint8Array>, "get">;

export interface DnsMessages {
  messages: DnsMessage[];
  l7: AnswerBytes;
  rows: number;
}

/** A message as cached: with its context, so a context filter can mark it per request. */
type StoredMessage = DnsMessage & { ctxId: number };

interface Chunk {
  /** stored rows of the chunk when read: a different count means it changed */
  count: number;
  messages: StoredMessage[];
  answers: Map<string, Uint8Array>;
}

/** Cache granule: one minute of DNS flows. */
const CHUNK_NS = 60_000_000_000n;
/** ~200 bytes each: a few hundred MB at most, several times the 100k-query range the page targets */
const MAX_CACHED_MESSAGES = 1_000_000;
// µs as float8 is exact (< 2^53) and parses as a JS number without BigInt
const SELECT_DNS = `SELECT (f.ts / 1000)::float8 AS us, f.key::text AS key, f.ctx_id, f.l7_type, f.dns_query, f.dns_rcode,
    f.latency_ns::float8 AS lat, f.sport, f.dport, f.l7`;

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
  private chunks = new Map<bigint, Chunk>();
  private cachedMessages = 0;
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
    // per-flow conditions (ports, uuid…) are SQL: such reads go to the database as they are
    if (hasConditions(flow)) return this.readDirect(q, context, flow);
    const { messages, answers } = await this.readChunks(q.fromNs, q.toNs);
    if (!hasConditions(context)) return { messages, l7: answers, rows: messages.length };
    const match = compileMatcher(context);
    const ctxMatch = new Map<number, boolean>();
    await this.loadContexts(new Set(messages.map((m) => m.ctxId))); // the context cache may have started over
    const marked = messages.map((m) => {
      let cm = ctxMatch.get(m.ctxId);
      if (cm === undefined) {
        const c = this.contexts.get(m.ctxId);
        ctxMatch.set(m.ctxId, (cm = c ? match(c.item) : false));
      }
      return cm ? m : { ...m, matched: false };
    });
    return { messages: marked, l7: answers, rows: messages.length };
  }

  /**
   * Messages of [fromNs, toNs) from whole-minute chunks. Stored flows do not change, so a chunk read
   * once is kept (bounded, least recently used first out) and read again only when its row count
   * changed (late flows, a back-fill, retention) — one GROUP BY over the range checks that.
   */
  private async readChunks(fromNs: bigint, toNs: bigint): Promise<{ messages: StoredMessage[]; answers: AnswerBytes }> {
    const c0 = fromNs / CHUNK_NS;
    const c1 = (toNs - 1n) / CHUNK_NS;
    const counts = await this.db.query<{ c: string; n: string }>(
      `SELECT (f.ts / ${CHUNK_NS})::text AS c, count(*)::text AS n FROM flows f
        WHERE f.l7_kind = 100 AND f.l7_type IN (${L7_REQUEST}, ${L7_RESPONSE}) AND f.ts >= $1::bigint AND f.ts < $2::bigint
        GROUP BY 1`,
      [(c0 * CHUNK_NS).toString(), ((c1 + 1n) * CHUNK_NS).toString()],
    );
    const want = new Map(counts.map((r) => [BigInt(r.c), Number(r.n)]));
    const missing: bigint[] = [];
    for (const [c, n] of want) if (this.chunks.get(c)?.count !== n) missing.push(c);
    missing.sort((a, b) => (a < b ? -1 : 1));
    // contiguous runs of missing chunks, one query each
    for (let i = 0; i < missing.length; ) {
      let j = i;
      while (j + 1 < missing.length && missing[j + 1] === missing[j] + 1n) j++;
      await this.fetchChunks(missing[i], missing[j]);
      i = j + 1;
    }
    const fromMs = Number(fromNs / 1000n) / 1000;
    const toMs = Number(toNs / 1000n) / 1000;
    const messages: StoredMessage[] = [];
    const answers: Map<string, Uint8Array>[] = [];
    for (let c = c0; c <= c1; c++) {
      const chunk = this.chunks.get(c);
      if (!chunk) continue;
      this.chunks.delete(c); // re-insert: most recently used last
      this.chunks.set(c, chunk);
      answers.push(chunk.answers);
      const edge = c === c0 || c === c1;
      for (const m of chunk.messages) if (!edge || (m.tMs >= fromMs && m.tMs < toMs)) messages.push(m);
    }
    this.evict();
    return { messages, answers: { get: (key) => answers.find((a) => a.has(key))?.get(key) } };
  }

  private async fetchChunks(first: bigint, last: bigint): Promise<void> {
    const rows = await this.db.query<DnsRow>(
      `${SELECT_DNS}, true AS m FROM flows f
        WHERE f.l7_kind = 100 AND f.ts >= $1::bigint AND f.ts < $2::bigint AND f.l7_type IN (${L7_REQUEST}, ${L7_RESPONSE})`,
      [(first * CHUNK_NS).toString(), ((last + 1n) * CHUNK_NS).toString()],
    );
    await this.loadContexts(new Set(rows.map((r) => r.ctx_id)));
    const fresh = new Map<bigint, Chunk>();
    for (let c = first; c <= last; c++) fresh.set(c, { count: 0, messages: [], answers: new Map() });
    for (const r of rows) {
      const chunk = fresh.get(BigInt(Math.floor(Number(r.us) / 60_000_000)))!;
      chunk.count++;
      const m = this.message(r, true);
      if (!m) continue;
      chunk.messages.push(m);
      if (m.kind === "response" && r.l7) chunk.answers.set(r.key, r.l7);
    }
    for (const [c, chunk] of fresh) {
      const old = this.chunks.get(c);
      if (old) this.cachedMessages -= old.messages.length;
      this.chunks.set(c, chunk);
      this.cachedMessages += chunk.messages.length;
    }
  }

  private evict(): void {
    for (const [c, chunk] of this.chunks) {
      if (this.cachedMessages <= MAX_CACHED_MESSAGES) break;
      this.chunks.delete(c);
      this.cachedMessages -= chunk.messages.length;
    }
  }

  /** The uncached path, for filters with per-flow (SQL) conditions. */
  private async readDirect(q: DnsRead, context: FlowFilterSpec, flow: FlowFilterSpec): Promise<DnsMessages> {
    const p = new SqlParams();
    const conds = flowConditions(flow, p);
    const from = p.add(q.fromNs.toString(), "::bigint");
    const to = p.add(q.toNs.toString(), "::bigint");
    const rows = await this.db.query<DnsRow>(
      `${SELECT_DNS}, ${conds.length ? `(${conds.join(" AND ")})` : "true"} AS m
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
      const m = this.message(r, cm && r.m);
      if (!m) continue;
      messages.push(m);
      if (m.kind === "response" && r.l7) l7.set(r.key, r.l7);
    }
    return { messages, l7, rows: rows.length };
  }

  private message(r: DnsRow, matched: boolean): StoredMessage | null {
    const c = this.contexts.get(r.ctx_id);
    if (!c) return null;
    const request = r.l7_type === L7_REQUEST;
    return {
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
      matched,
      ctxId: r.ctx_id,
    };
  }

  /** Peers of each context, derived from the shared decoded catalog (contexts never change). */
  private async loadContexts(ids: Set<number>): Promise<void> {
    const missing = [...ids].filter((id) => !this.contexts.has(id));
    if (missing.length === 0) return;
    if (this.contexts.size + missing.length > MAX_CONTEXTS) this.contexts.clear();
    const catalog = contextCatalogFor(this.dims);
    await catalog.refresh();
    for (const id of missing) {
      const e = catalog.get(id);
      if (!e) continue;
      const f = e.item.flow as { source?: unknown; destination?: unknown; IP?: { source?: string; destination?: string }; node_name?: string };
      this.contexts.set(id, {
        src: peer(fromJsonEndpoint(f.source), f.IP?.source ?? ""),
        dst: peer(fromJsonEndpoint(f.destination), f.IP?.destination ?? ""),
        node: e.item.node_name || f.node_name || "",
        item: e.item,
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

const QTYPE_TEXT = new Map<number, string>();

/** ASCII bytes → text, interning the few qtype names there are ("A", "AAAA", "SRV"…). */
function qtypeText(buf: Uint8Array, start: number, end: number): string {
  let h = end - start;
  for (let i = start; i < end && i < start + 12; i++) h = (h * 31 + buf[i]) >>> 0;
  const known = QTYPE_TEXT.get(h);
  const text = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString("latin1");
  if (known === text) return known;
  if (QTYPE_TEXT.size < 256) QTYPE_TEXT.set(h, text);
  return text;
}

/**
 * Layer7.dns.qtypes without decoding the rest (field 100 → repeated string 7): a hand-rolled walk,
 * as this runs once per stored DNS flow of the range.
 */
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
        if (d.fieldNo === 7 && d.wireType === WIRE_LEN) out.push(qtypeText(l7, d.valueStart, d.valueEnd));
      }
    }
  } catch {
    // a malformed record still pairs by name; it just has no qtype
  }
  return out;
}

const analyses = new WeakMap<DnsRepo, Map<string, { at: number; result: Promise<{ analysis: DnsAnalysis; read: DnsMessages }> }>>();

/**
 * Reads the range padded by the timeout (so edge queries pair) and analyses it. The page asks
 * /api/dns and /api/dns/summary for the same view at once: identical analyses within MEMO_MS are
 * shared, like the reads under them.
 */
export function analyzeRange(repo: DnsRepo, q: DnsApiQuery, nowMs = Date.now()): Promise<{ analysis: DnsAnalysis; read: DnsMessages }> {
  const key = JSON.stringify({
    f: q.filter,
    a: q.sinceNs.toString(),
    b: q.untilNs.toString(),
    t: q.timeoutMs,
    w: q.workloads,
    s: q.search,
    st: q.statuses,
  });
  let memo = analyses.get(repo);
  if (!memo) analyses.set(repo, (memo = new Map()));
  for (const [k, v] of memo) if (nowMs - v.at > MEMO_MS) memo.delete(k);
  const hit = memo.get(key);
  if (hit) return hit.result;
  const result = analyzeUncached(repo, q, nowMs);
  memo.set(key, { at: nowMs, result });
  result.catch(() => memo.delete(key));
  return result;
}

async function analyzeUncached(repo: DnsRepo, q: DnsApiQuery, nowMs: number): Promise<{ analysis: DnsAnalysis; read: DnsMessages }> {
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
