/**
 * Reads the DNS flows of a range as DnsMessages and analyses them for /api/dns and /summary.
 *
 * Reading (dns-messages.ts): only the columns DNS needs, straight from SQL. Stored flows never
 * change, so messages are kept per minute (bounded LRU) and a minute is read again only when its
 * row count changed (dns-minute-counts.ts knows which minutes the writer touched). On top, the pairing and search-path grouping of the minutes around a request (its
 * "base", dns-analysis.ts) is kept while those counts stay the same, so every view of unchanged
 * data — the page's two requests, a filter, a search, a brush inside the same minutes — is a
 * filter over it.
 *
 * The hubble-style filter is split as for /api/flows: context conditions run through the shared
 * matcher on each distinct context and select queries from the base; per-flow conditions become a
 * SQL expression that marks rows, and such requests are read and analysed as they are (not kept).
 * Either way a filter runs after pairing: it never cuts a request from its response.
 */
import { baseAnalysis, selectView, type DnsAnalysis, type DnsBase, type ViewOptions } from "@/server/domain/dns/dns-analysis";
import { DEFAULT_TIMEOUT_MS } from "@/server/domain/dns/dns-pairing";
import type { DnsApiQuery } from "@/server/domain/dns/dns-params";
import type { DnsMessage } from "@/server/domain/dns/dns-types";
import { compileMatcher } from "@/server/domain/flows/flow-match";
import { formatRfc3339Ns } from "@/server/domain/shared/time";
import type { Database } from "../connection";
import type { DimensionRepo } from "../flows/dimension-repo";
import { hasConditions, splitSpec } from "../flows/flow-sql";
import type { RollupFeed } from "../flows/rollup-feed";
import { InputError } from "../input-error";
import { SharedAbort, unlessCancelled } from "../shared-abort";
import { CHUNK_NS, DnsMessages, type AnswerBytes, type StoredMessage } from "./dns-messages";
import { DnsMinuteCounts } from "./dns-minute-counts";

export type { AnswerBytes };

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
  private readonly messages: DnsMessages;
  private bases = new Map<string, CachedBase>();
  /** base analyses built (a test and the benchmark read it to tell reuse from work) */
  basesBuilt = 0;
  /** analyses asked for (a test reads it to tell which repository answered) */
  requests = 0;

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
    this.messages = new DnsMessages(db, dims);
  }

  /**
   * The analysis of a request's range: the range padded by the timeout (so edge queries pair) and
   * rounded out to whole minutes is paired and grouped once, then each request takes its view of it
   * (dns-analysis.ts). The base is reused while the minutes read keep their row counts and no
   * pending request has run past its timeout, so the page's two requests, a filter change, a search,
   * a brush inside the same minutes or a reload cost only the view (the minutes' counts are
   * remembered: dns-minute-counts.ts).
   */
  async analyze(q: DnsApiQuery, nowMs = Date.now(), signal?: AbortSignal): Promise<RangeAnalysis> {
    this.requests++;
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
      const read = await this.messages.direct({ fromNs: q.sinceNs - padNs, toNs: q.untilNs + padNs }, context, flow, signal);
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
      fresh.result = this.messages.minutes(c0, c1, counts, fresh.abort.signal).then(({ messages, answers }) => {
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
    await this.messages.loadContexts(ids); // the context cache may have started over
    const ctxMatch = new Map<number, boolean>();
    const matches = (m: DnsMessage | null): boolean => {
      if (!m) return false;
      const id = (m as StoredMessage).ctxId;
      let cm = ctxMatch.get(id);
      if (cm === undefined) {
        const item = this.messages.contextItem(id);
        ctxMatch.set(id, (cm = item ? match(item) : false));
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
    return (await this.messages.minutes(c0, c1, await this.chunkCounts(c0, c1))).messages;
  }

}

export interface RangeAnalysis {
  analysis: DnsAnalysis;
  /** L7 bytes of the responses read, for dnsDetails() */
  answers: AnswerBytes;
}

