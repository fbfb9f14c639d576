/**
 * Reads the DNS flows of a range as DnsMessages and analyses them for /api/dns and /summary.
 *
 * Reading: only the columns DNS needs, straight from SQL (rebuilding each flow's hubble JSON costs
 * ~50 µs, far too much for 100k queries). Each distinct context comes from the shared decoded
 * catalog; of the L7 record only the qtypes are read, with the wire walker, and the full record
 * (ips, ttl, cnames) is decoded just for the queries an answer shows.
 *
 * Caching: stored flows never change, so messages are kept per minute (bounded LRU) and a minute is
 * read again only when its row count changed (dns-minute-counts.ts knows which minutes the writer
 * touched). On top, the pairing and search-path grouping of the minutes around a request (its
 * "base", dns-analysis.ts) is kept while those counts stay the same, so every view of unchanged
 * data — the page's two requests, a filter, a search, a brush inside the same minutes — is a
 * filter over it.
 *
 * The hubble-style filter is split as for /api/flows: context conditions run through the shared
 * matcher on each distinct context and select queries from the base; per-flow conditions become a
 * SQL expression that marks rows, and such requests are read and analysed as they are (not kept).
 * Either way a filter runs after pairing: it never cuts a request from its response.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { L7FlowType, Layer7Schema } from "@/proto/gen/flow/flow_pb";
import { fromJsonEndpoint, peer } from "@/server/domain/dns/dns-peer";
import { baseAnalysis, selectView, type DnsAnalysis, type DnsBase, type ViewOptions } from "@/server/domain/dns/dns-analysis";
import type { DnsApiQuery } from "@/server/domain/dns/dns-params";
import { formatRfc3339Ns } from "@/server/domain/shared/time";
import { DEFAULT_TIMEOUT_MS, pairDnsKey } from "@/server/domain/dns/dns-pairing";
import type { DnsMessage, DnsPeer } from "@/server/domain/dns/dns-types";
import type { FlowFilterSpec } from "@/server/domain/flows/flow-filter-spec";
import type { FlowItem } from "@/server/domain/flows/flow-item";
import { compileMatcher } from "@/server/domain/flows/flow-match";
import { L7_DNS } from "@/server/flow-codec/flow-fields";
import { WIRE_LEN, WireCursor } from "@/server/flow-codec/wire";
import type { Database } from "../connection";
import type { DimensionRepo } from "../flows/dimension-repo";
import { contextCatalogFor } from "../flows/context-catalog";
import { DnsMinuteCounts } from "./dns-minute-counts";
import { InputError } from "../input-error";
import type { FlowWriter } from "../flows/flow-writer";
import type { RollupFeed } from "../flows/rollup-feed";
import { SharedAbort, unlessCancelled } from "../shared-abort";
import { SqlParams, flowConditions, hasConditions, splitSpec } from "../flows/flow-sql";

const L7_REQUEST = L7FlowType.REQUEST;
const L7_RESPONSE = L7FlowType.RESPONSE;
const MAX_CONTEXTS = 100_000;
export interface DnsDetails {
  ips: string[];
  ttl: number | null;
  cnames: string[];
  rrtypes: string[];
}

/** L7 bytes of responses by key, for dnsDetails(). */
export type AnswerBytes = Pick<Map<string, Uint8Array>, "get">;

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

/**
 * The whole minutes a request reads: its range padded by the pairing timeout and a second, so a
 * query at either edge is read with its other half.
 */
export function paddedMinutes(sinceNs: bigint, untilNs: bigint, timeoutMs: number): { padNs: bigint; c0: bigint; c1: bigint } {
  const padNs = BigInt(timeoutMs + 1000) * 1_000_000n;
  return { padNs, c0: (sinceNs - padNs) / CHUNK_NS, c1: (untilNs + padNs - 1n) / CHUNK_NS };
}

/** A base analysis kept for reuse, with what it was built from. */
interface CachedBase {
  /** row count of each minute read, when it was built */
  signature: string;
  result: Promise<{ base: DnsBase; answers: AnswerBytes }>;
  queries: number;
  /** its read is cancelled once every request waiting for it has gone */
  abort: SharedAbort;
}

/** ~1.5 s of pairing and ~0.5 GB: far past the 100k queries the page is built for */
const MAX_ANALYSED_MESSAGES = 1_000_000;

/** Bases kept: the page's views (a range, its zoom, the previous range) and not much more. */
const MAX_BASES = 4;
const MAX_BASE_QUERIES = 600_000;

export class DnsRepo {
  private contexts = new Map<number, DecodedContext>();
  private chunks = new Map<bigint, Chunk>();
  private cachedMessages = 0;
  private bases = new Map<string, CachedBase>();
  /** base analyses built (a test and the benchmark read it to tell reuse from work) */
  basesBuilt = 0;

  readonly minuteCounts: DnsMinuteCounts;

  constructor(
    private readonly db: Database,
    private readonly dims: DimensionRepo,
    /** the writer's feed: minutes it did not write to keep their counts (else every read counts) */
    feed?: RollupFeed,
    /** DNS flows one analysis may hold (memory and time grow with them): a longer range is refused */
    private readonly maxMessages = MAX_ANALYSED_MESSAGES,
  ) {
    this.minuteCounts = new DnsMinuteCounts(db, feed);
  }

  /** The analysis a request of /api/dns or /api/dns/summary asks for (see analyzeRange). */
  async analyze(q: DnsApiQuery, nowMs: number, signal?: AbortSignal): Promise<RangeAnalysis> {
    const sinceMs = Number(q.sinceNs / 1000n) / 1000;
    const untilMs = Number(q.untilNs / 1000n) / 1000;
    const view: ViewOptions = { sinceMs, untilMs, workloads: q.workloads, search: q.search, statuses: q.statuses };
    const { padNs, c0, c1 } = paddedMinutes(q.sinceNs, q.untilNs, q.timeoutMs);
    const counts = await this.chunkCounts(c0, c1, signal);
    let stored = 0;
    for (const n of counts.values()) stored += n;
    if (stored > this.maxMessages) {
      const f = (n: number) => n.toLocaleString("en-US");
      const fits = this.latestSinceThatFits(counts, c0, c1, padNs, q.untilNs);
      throw new InputError(
        `the range holds ${f(stored)} DNS requests and responses; the DNS view pairs at most ${f(this.maxMessages)} at once — choose a shorter range`,
        "since",
        fits === null ? {} : { fitsSince: formatRfc3339Ns(fits) },
      );
    }
    const { context, flow } = splitSpec(q.filter);
    if (hasConditions(flow)) {
      // per-flow conditions (ports, uuid…) are SQL that marks rows: analysed as read, not kept
      const read = await this.readDirect({ fromNs: q.sinceNs - padNs, toNs: q.untilNs + padNs }, context, flow, signal);
      this.basesBuilt++;
      const base = baseAnalysis(read.messages, { horizonMs: Math.min(nowMs, untilMs + q.timeoutMs + 1000), timeoutMs: q.timeoutMs });
      return { analysis: selectView(base, view), answers: read.l7 };
    }
    const signature = [...counts].map(([c, n]) => `${c}:${n}`).join(",");
    const key = `${c0}:${c1}:${q.timeoutMs}`;
    const windowEndMs = Number(((c1 + 1n) * CHUNK_NS) / 1_000_000n);
    const horizonMs = Math.min(nowMs, windowEndMs);
    let entry = this.bases.get(key);
    let reusable = entry?.signature === signature;
    if (reusable) {
      const leave = entry!.abort.join(signal);
      const got = await unlessCancelled(entry!.result.catch(() => null), signal).finally(leave);
      // a pending request that has now waited past the timeout is unanswered: build again
      if (!got || horizonMs > got.base.validUntilMs || horizonMs < got.base.horizonMs) reusable = false;
    }
    if (!reusable || !entry) {
      const fresh: CachedBase = { signature, result: null!, queries: 0, abort: new SharedAbort() };
      fresh.result = this.readChunks(c0, c1, counts, fresh.abort.signal).then(({ messages, answers }) => {
        this.basesBuilt++;
        const base = baseAnalysis(messages, { horizonMs, timeoutMs: q.timeoutMs });
        fresh.queries = base.queries.length;
        return { base, answers };
      });
      fresh.result.catch(() => {
        if (this.bases.get(key) === fresh) this.bases.delete(key);
      });
      entry = fresh;
    }
    this.bases.delete(key); // most recently used last
    this.bases.set(key, entry);
    const leave = entry.abort.join(signal);
    const { base, answers } = await unlessCancelled(entry.result, signal).finally(leave);
    this.evictBases();
    if (!hasConditions(context)) return { analysis: selectView(base, view), answers };
    const match = compileMatcher(context);
    const ids = new Set<number>();
    for (const m of base.requests) if (m) ids.add((m as StoredMessage).ctxId);
    for (const m of base.responses) if (m) ids.add((m as StoredMessage).ctxId);
    await this.loadContexts(ids); // the context cache may have started over
    const ctxMatch = new Map<number, boolean>();
    const matches = (m: DnsMessage | null): boolean => {
      if (!m) return false;
      const id = (m as StoredMessage).ctxId;
      let cm = ctxMatch.get(id);
      if (cm === undefined) {
        const c = this.contexts.get(id);
        ctxMatch.set(id, (cm = c ? match(c.item) : false));
      }
      return cm;
    };
    const analysis = selectView(base, view, (i) => matches(base.requests[i]) || matches(base.responses[i]));
    return { analysis, answers };
  }

  /**
   * The earliest `since` (same `until`) whose padded whole minutes hold at most maxMessages: the
   * newest part of a range too large to analyse, for the page to offer. Null when even the last
   * minute is too much.
   */
  private latestSinceThatFits(counts: Map<bigint, number>, c0: bigint, c1: bigint, padNs: bigint, untilNs: bigint): bigint | null {
    let total = 0;
    let first = c1 + 1n;
    for (let c = c1; c >= c0; c--) {
      total += counts.get(c) ?? 0;
      if (total > this.maxMessages) break;
      first = c;
    }
    // since − pad must not reach back before the first minute that fits
    const since = first * CHUNK_NS + padNs;
    return since < untilNs ? since : null;
  }

  private evictBases(): void {
    let total = 0;
    for (const e of this.bases.values()) total += e.queries;
    for (const [k, e] of this.bases) {
      if (this.bases.size <= MAX_BASES && total <= MAX_BASE_QUERIES) break;
      if (this.bases.size === 1) break;
      this.bases.delete(k);
      total -= e.queries;
    }
  }

  /** Stored DNS rows per minute of [c0, c1] (minutes without any are absent). */
  chunkCounts(c0: bigint, c1: bigint, signal?: AbortSignal): Promise<Map<bigint, number>> {
    return this.minuteCounts.counts(c0, c1, Date.now(), signal);
  }

  /**
   * Reads the messages of the page's default view (the last `sinceMs`, padded as a request pads
   * it) into the minute cache, so the first /dns after a start does not wait for them.
   */
  async warm(nowMs = Date.now(), sinceMs = 15 * 60_000): Promise<number> {
    const untilNs = BigInt(nowMs) * 1_000_000n;
    const { c0, c1 } = paddedMinutes(untilNs - BigInt(sinceMs) * 1_000_000n, untilNs, DEFAULT_TIMEOUT_MS);
    return (await this.messagesOfMinutes(c0, c1)).length;
  }

  /** The DNS messages of whole minutes [c0, c1] (the benchmark times analyses of these). */
  async messagesOfMinutes(c0: bigint, c1: bigint): Promise<DnsMessage[]> {
    return (await this.readChunks(c0, c1, await this.chunkCounts(c0, c1))).messages;
  }

  /**
   * Messages of whole minutes [c0, c1]. Stored flows do not change, so a minute read once is kept
   * (bounded, least recently used first out) and read again only when its row count changed (late
   * flows, a back-fill, retention).
   */
  private async readChunks(c0: bigint, c1: bigint, want: Map<bigint, number>, signal?: AbortSignal): Promise<{ messages: StoredMessage[]; answers: AnswerBytes }> {
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
  private async readDirect(
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

export interface RangeAnalysis {
  analysis: DnsAnalysis;
  /** L7 bytes of the responses read, for dnsDetails() */
  answers: AnswerBytes;
}

/**
 * The analysis of a request's range: the range padded by the timeout (so edge queries pair) and
 * rounded out to whole minutes is paired and grouped once, then each request takes its view of it
 * (dns-analysis.ts). The base is reused while the minutes read keep their row counts and no
 * pending request has run past its timeout, so the page's two requests, a filter change, a search,
 * a brush inside the same minutes or a reload cost only the view (the minutes' counts are
 * remembered: dns-minute-counts.ts).
 */
export function analyzeRange(repo: DnsRepo, q: DnsApiQuery, nowMs = Date.now(), signal?: AbortSignal): Promise<RangeAnalysis> {
  return repo.analyze(q, nowMs, signal);
}

const repos = new WeakMap<Database, DnsRepo>();

/** One DnsRepo per store (its caches live as long as the runtime's store), fed by its writer. */
export function dnsRepoFor(store: { db: Database; writer: FlowWriter }): DnsRepo {
  let r = repos.get(store.db);
  if (!r) repos.set(store.db, (r = new DnsRepo(store.db, store.writer.dimensions, store.writer.rollupFeed)));
  return r;
}
