/**
 * The DNS messages of stored flows, read straight from SQL (only the columns DNS needs: rebuilding
 * each flow's hubble JSON costs ~50 µs, far too much for 100k queries) and kept per minute. Each
 * distinct context comes from the shared decoded catalog; of the L7 record only the qtypes are
 * read (flow-codec/dns-record.ts).
 */
import { L7FlowType } from "@/proto/gen/flow/flow_pb";
import { fromJsonEndpoint, peer } from "@/server/domain/dns/dns-peer";
import { pairDnsKey } from "@/server/domain/dns/dns-pairing";
import type { DnsMessage, DnsPeer } from "@/server/domain/dns/dns-types";
import type { FlowFilterSpec } from "@/server/domain/flows/flow-filter-spec";
import type { FlowItem } from "@/server/domain/flows/flow-item";
import { compileMatcher } from "@/server/domain/flows/flow-match";
import { NS_PER_MINUTE } from "@/server/domain/shared/time";
import { readQtypes } from "@/server/flow-codec/dns-record";
import type { Database } from "../connection";
import { contextCatalogFor } from "../flows/context-catalog";
import type { DimensionRepo } from "../flows/dimension-repo";
import { SqlParams, flowConditions, hasConditions } from "../flows/flow-sql";

const L7_REQUEST = L7FlowType.REQUEST;
const L7_RESPONSE = L7FlowType.RESPONSE;
const MAX_CONTEXTS = 100_000;
/** L7 bytes of responses by key, for dnsDetails(). */
export type AnswerBytes = Pick<Map<string, Uint8Array>, "get">;

/** A message as cached: with its context, so a context filter can mark it per request. */
export type StoredMessage = DnsMessage & { ctxId: number };

interface Chunk {
  /** stored rows of the chunk when read: a different count means it changed */
  count: number;
  messages: StoredMessage[];
  answers: Map<string, Uint8Array>;
}

/** Cache granule: one minute of DNS flows. */
export const CHUNK_NS = NS_PER_MINUTE;
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

export class DnsMessages {
  private contexts = new Map<number, DecodedContext>();
  private chunks = new Map<bigint, Chunk>();
  private cachedMessages = 0;

  constructor(
    private readonly db: Database,
    private readonly dims: DimensionRepo,
  ) {}

  /** A context's flow item for the shared matcher (after loadContexts). */
  contextItem(id: number): FlowItem | undefined {
    return this.contexts.get(id)?.item;
  }

  /**
   * Messages of whole minutes [c0, c1]. Stored flows do not change, so a minute read once is kept
   * (bounded, least recently used first out) and read again only when its row count changed (late
   * flows, a back-fill, retention).
   */
  async minutes(c0: bigint, c1: bigint, want: Map<bigint, number>, signal?: AbortSignal): Promise<{ messages: StoredMessage[]; answers: AnswerBytes }> {
    const missing: bigint[] = [];
    for (const [c, n] of want) if (this.chunks.get(c)?.count !== n) missing.push(c);
    // contiguous runs of missing chunks, one query each
    for (let i = 0; i < missing.length; ) {
      let j = i;
      while (j + 1 < missing.length && missing[j + 1] === missing[j] + 1n) j++;
      await this.fetchChunks(missing[i], missing[j], signal);
      i = j + 1;
    }
    const messages: StoredMessage[] = [];
    const answers: Map<string, Uint8Array>[] = [];
    for (let c = c0; c <= c1; c++) {
      const chunk = this.chunks.get(c);
      if (!chunk || !want.has(c)) continue;
      this.chunks.delete(c); // re-insert: most recently used last
      this.chunks.set(c, chunk);
      answers.push(chunk.answers);
      for (const m of chunk.messages) messages.push(m);
    }
    this.evict();
    return { messages, answers: { get: (key) => answers.find((a) => a.has(key))?.get(key) } };
  }

  private async fetchChunks(first: bigint, last: bigint, signal?: AbortSignal): Promise<void> {
    const rows = await this.db.api.query<DnsRow>(
      `${SELECT_DNS}, true AS m FROM flows f
        WHERE f.l7_kind = 100 AND f.ts >= $1::bigint AND f.ts < $2::bigint AND f.l7_type IN (${L7_REQUEST}, ${L7_RESPONSE})`,
      [(first * CHUNK_NS).toString(), ((last + 1n) * CHUNK_NS).toString()],
      { signal },
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
  async direct(
    q: { fromNs: bigint; toNs: bigint },
    context: FlowFilterSpec,
    flow: FlowFilterSpec,
    signal?: AbortSignal,
  ): Promise<{ messages: DnsMessage[]; l7: AnswerBytes }> {
    const p = new SqlParams();
    const conds = flowConditions(flow, p);
    const from = p.add(q.fromNs.toString(), "::bigint");
    const to = p.add(q.toNs.toString(), "::bigint");
    const rows = await this.db.api.query<DnsRow>(
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
    return { messages, l7 };
  }

  private message(r: DnsRow, matched: boolean): StoredMessage | null {
    const c = this.contexts.get(r.ctx_id);
    if (!c) return null;
    const request = r.l7_type === L7_REQUEST;
    const m: StoredMessage = {
      key: r.key,
      tMs: Number(r.us) / 1000,
      kind: request ? "request" : "response",
      query: this.intern(r.dns_query ?? ""),
      qtypes: r.l7 ? readQtypes(r.l7) : [],
      rcode: request ? null : (r.dns_rcode ?? 0),
      latencyNs: r.lat === null || Number(r.lat) <= 0 ? null : Number(r.lat),
      client: request ? c.src : c.dst,
      server: request ? c.dst : c.src,
      clientPort: (request ? r.sport : r.dport) ?? null,
      node: c.node,
      matched,
      pairKey: undefined,
      ctxId: r.ctx_id,
    };
    m.pairKey = pairDnsKey(m);
    return m;
  }

  private names = new Map<string, string>();
  /** One string per distinct name: the analysis memoises by name, and 100k queries ask a few thousand. */
  private intern(name: string): string {
    const known = this.names.get(name);
    if (known !== undefined) return known;
    if (this.names.size >= 100_000) this.names.clear();
    this.names.set(name, name);
    return name;
  }

  /** Peers of each context, derived from the shared decoded catalog (contexts never change). */
  async loadContexts(ids: Set<number>): Promise<void> {
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
