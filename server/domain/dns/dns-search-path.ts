/**
 * Search-path analysis: finds the queries that are one lookup walking a pod's resolv.conf search
 * list. Kubernetes gives pods `search <ns>.svc.<zone> svc.<zone> <zone> [node's domains]` and
 * `options ndots:5`, so a name with fewer than five dots is first tried with every search domain:
 *
 *   api.stripe.com.shop.svc.cluster.local.  NXDOMAIN
 *   api.stripe.com.svc.cluster.local.       NXDOMAIN
 *   api.stripe.com.cluster.local.           NXDOMAIN
 *   api.stripe.com.c.my-project.internal.   NXDOMAIN   (provider domains, from the node)
 *   api.stripe.com.                         NOERROR
 *
 * Per client, queries are read in time order; a query continues an open lookup when it is the same
 * base name with a later search domain (or the base itself), within `gapMs` of the lookup's last
 * query. A and AAAA of one candidate, and re-sends, belong to the same step. The base name and the
 * namespace come from the expansions themselves, so lookups forwarded by node-local-dns (one client,
 * many origin namespaces) are still told apart.
 */
import { normalize, qtypesKey } from "./dns-names";
import type { DnsLookup, DnsPeer, DnsQuery, DnsStatus, SearchStep } from "./dns-types";

export interface SearchPathOptions {
  /** longest pause between two queries of one lookup (a re-send after a 5 s timeout included) */
  gapMs?: number;
}

const DEFAULT_GAP_MS = 6000;
const DEFAULT_ZONE = "cluster.local";
const RANK: Record<SearchStep, number> = { namespace: 0, svc: 1, cluster: 2, provider: 3, absolute: 4 };

interface Reading {
  base: string;
  step: SearchStep;
  ns?: string;
  zone: string;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The ways a candidate name can be read as base + search domain. */
export function readCandidate(query: string, zones: readonly string[]): Reading[] {
  const q = normalize(query);
  const out: Reading[] = [];
  for (const zone of zones) {
    if (!q.endsWith(`.${zone}.`)) continue;
    const [ns, svc, cluster] = zonePatterns(zone);
    let m = ns.exec(q);
    if (m) out.push({ base: m[1], step: "namespace", ns: m[2], zone });
    m = svc.exec(q);
    if (m) out.push({ base: m[1], step: "svc", zone });
    m = cluster.exec(q);
    if (m) out.push({ base: m[1], step: "cluster", zone });
  }
  out.push({ base: q.slice(0, -1), step: "absolute", zone: zones[0] ?? DEFAULT_ZONE });
  return out;
}

const patterns = new Map<string, [RegExp, RegExp, RegExp]>();
function zonePatterns(zone: string): [RegExp, RegExp, RegExp] {
  let p = patterns.get(zone);
  if (!p) {
    const z = escape(zone);
    p = [new RegExp(`^(.+)\\.([^.]+)\\.svc\\.${z}\\.$`), new RegExp(`^(.+)\\.svc\\.${z}\\.$`), new RegExp(`^(.+)\\.${z}\\.$`)];
    if (patterns.size > 100) patterns.clear();
    patterns.set(zone, p);
  }
  return p;
}

/**
 * Cluster domains in use: cluster.local, plus any `<zone>` seen answering a `*.svc.<zone>.` query
 * (clusters created with another --cluster-domain).
 */
export function clusterZones(queries: readonly DnsQuery[]): string[] {
  const zones = new Set<string>([DEFAULT_ZONE]);
  const seen = new Set<string>();
  for (const q of queries) {
    if (q.status !== "NOERROR") continue;
    const n = normalize(q.query);
    if (seen.has(n)) continue;
    seen.add(n);
    const i = n.lastIndexOf(".svc.");
    if (i > 0) zones.add(n.slice(i + 5, -1));
  }
  return [...zones].filter((z) => z.length > 0);
}

interface Open {
  lookup: DnsLookup;
  base: string;
  ns: string | null;
  rank: number;
  lastMs: number;
  /** normalized candidate name of each try (arrays, not Maps: most lookups have one try, and
   * 100k lookups' worth of Maps costs more in GC than the linear scans over ≤ 6 entries) */
  names: string[];
  /** (try index, qtypes) pairs sent, and how the last such query ended (a re-send vs a new lookup) */
  sentTry: number[];
  sentQtypes: string[];
  sentStatus: DnsStatus[];
  /** per try: bit set of the statuses seen, failed queries, first query time */
  masks: number[];
  fails: number[];
  firstMs: number[];
  /** index of the try that answered, -1 when none did (set by finish) */
  answeredAt: number;
  /** position in the sorted lookups */
  index: number;
}

const BIT: Record<DnsStatus, number> = { NOERROR: 1, NXDOMAIN: 2, SERVFAIL: 4, REFUSED: 8, OTHER: 16, UNANSWERED: 32, PENDING: 64 };

const clientKeys = new WeakMap<DnsPeer, string>();
/** Peers are shared by every message of one flow context, so their key is worked out once. */
function clientKey(p: DnsPeer): string {
  let k = clientKeys.get(p);
  if (k === undefined) clientKeys.set(p, (k = `${p.ip}\u0000${p.pod}`));
  return k;
}

/** Groups queries into lookups (a lookup of one query is a name that resolved first time). */
export function groupLookups(queries: readonly DnsQuery[], opts: SearchPathOptions = {}): DnsLookup[] {
  return groupQueries(queries, opts).lookups;
}

export interface GroupedQueries {
  /** oldest first */
  lookups: DnsLookup[];
  /** the lookup of each query (same index as the input) */
  lookupOf: DnsLookup[];
  /** index in `lookups` of each query's lookup */
  lookupIndex: Int32Array;
  /** 1 for a query spent on a failed search-path candidate (what a lookup's `wasted` counts) */
  wasted: Uint8Array;
}

/** groupLookups, also telling for each query its lookup and whether it was wasted. */
export function groupQueries(queries: readonly DnsQuery[], opts: SearchPathOptions = {}): GroupedQueries {
  const gapMs = opts.gapMs ?? DEFAULT_GAP_MS;
  const zones = clusterZones(queries);
  const readings = readingsMemo(zones);
  const byClient = new Map<string, number[]>();
  for (let i = 0; i < queries.length; i++) {
    const k = clientKey(queries[i].client);
    const list = byClient.get(k);
    if (!list) byClient.set(k, [i]);
    else list.push(i);
  }

  const all: Open[] = [];
  const openOf: Open[] = new Array(queries.length);
  const tryOf = new Int32Array(queries.length);
  for (const list of byClient.values()) {
    list.sort((a, b) => queries[a].tMs - queries[b].tMs || a - b);
    // this client's open lookups by candidate name and by base name, oldest first: when two walks
    // for one name overlap, the older one is further along, so it takes the next candidate first.
    // A lookup that went quiet for longer than gapMs is closed (dropped from the lists lazily).
    const byName = new Map<string, Open[]>();
    const byBase = new Map<string, Open[]>();
    const lists: LiveLists = { byName, byBase, tMs: 0, gapMs };
    for (const qi of list) {
      const q = queries[qi];
      const name = normalize(q.query);
      lists.tMs = q.tMs;
      const target = findOpen(name, qtypesKey(q.qtypes), readings, zones, lists);
      if (target) {
        tryOf[qi] = add(target.open, q, name, target.step, target.rank);
        openOf[qi] = target.open;
        push(byName, name, target.open);
        continue;
      }
      // a new lookup: read the name as the earliest search step it can be (the search list's order)
      const rs = readings(name);
      let r = rs[0];
      for (const x of rs) if (RANK[x.step] < RANK[r.step]) r = x;
      const o: Open = {
        lookup: {
          id: q.id,
          client: q.client,
          name: r.base,
          searchNamespace: r.ns ?? null,
          zone: r.zone,
          startMs: q.tMs,
          endMs: q.endMs ?? q.tMs,
          queryIds: [],
          queryTries: [],
          tries: [],
          answeredBy: null,
          answeredStep: null,
          outcome: q.status,
          wasted: 0,
          addedMs: 0,
        },
        base: r.base,
        ns: r.ns ?? null,
        rank: RANK[r.step],
        lastMs: q.tMs,
        names: [],
        sentTry: [],
        sentQtypes: [],
        sentStatus: [],
        masks: [],
        fails: [],
        firstMs: [],
        answeredAt: -1,
        index: 0,
      };
      tryOf[qi] = add(o, q, name, r.step, RANK[r.step]);
      openOf[qi] = o;
      all.push(o);
      push(byName, name, o);
      push(byBase, r.base, o);
    }
  }
  for (const o of all) finish(o);
  all.sort((a, b) => a.lookup.startMs - b.lookup.startMs || (a.lookup.id < b.lookup.id ? -1 : 1));
  for (let i = 0; i < all.length; i++) all[i].index = i;
  const lookupOf: DnsLookup[] = new Array(queries.length);
  const lookupIndex = new Int32Array(queries.length);
  const wasted = new Uint8Array(queries.length);
  for (let i = 0; i < queries.length; i++) {
    const o = openOf[i];
    lookupOf[i] = o.lookup;
    lookupIndex[i] = o.index;
    const t = tryOf[i];
    if (o.lookup.wasted > 0 && t !== o.answeredAt && o.lookup.tries[t].step !== "absolute") wasted[i] = 1;
  }
  return { lookups: all.map((o) => o.lookup), lookupOf, lookupIndex, wasted };
}

/** readCandidate per normalized name, for one set of zones (a lookup reads each name many times). */
function readingsMemo(zones: readonly string[]): (name: string) => Reading[] {
  const memo = new Map<string, Reading[]>();
  return (name) => {
    let r = memo.get(name);
    if (!r) memo.set(name, (r = readCandidate(name, zones)));
    return r;
  };
}

interface LiveLists {
  byName: Map<string, Open[]>;
  byBase: Map<string, Open[]>;
  /** time of the query being placed */
  tMs: number;
  gapMs: number;
}

/** The lookups under `k` still open at the current query's time (closed ones are dropped). */
function live(m: Map<string, Open[]>, k: string, at: LiveLists): Open[] {
  const l = m.get(k);
  if (!l) return NONE;
  let fresh = 0;
  for (const o of l) if (at.tMs - o.lastMs <= at.gapMs) fresh++;
  if (fresh === l.length) return l;
  if (fresh === 0) {
    m.delete(k);
    return NONE;
  }
  const kept = l.filter((o) => at.tMs - o.lastMs <= at.gapMs);
  m.set(k, kept);
  return kept;
}
const NONE: Open[] = [];

function push(m: Map<string, Open[]>, k: string, o: Open): void {
  const l = m.get(k);
  if (!l) m.set(k, [o]);
  else if (!l.includes(o)) l.push(o);
}

function findOpen(
  name: string,
  qtypes: string,
  readings: (name: string) => Reading[],
  zones: readonly string[],
  lists: LiveLists,
): { open: Open; step: SearchStep; rank: number } | null {
  // the same candidate again: the other qtype, or a re-send of one that got no answer
  for (const o of live(lists.byName, name, lists)) {
    const same = o.names.indexOf(name);
    if (same < 0) continue;
    const k = sentIndex(o, same, qtypes);
    const before = k < 0 ? undefined : o.sentStatus[k];
    if (before === undefined || before === "UNANSWERED" || before === "PENDING") {
      return { open: o, step: o.lookup.tries[same].step, rank: RANK[o.lookup.tries[same].step] };
    }
  }
  // the next search domain (or the name itself) for a lookup still walking; the resolver stops at
  // the first candidate that exists, so answered lookups take no further candidates, and a
  // candidate a lookup already tried means a new walk
  for (const r of readings(name)) {
    for (const b of live(lists.byBase, r.base, lists)) {
      if (b.lookup.answeredBy !== null || RANK[r.step] < b.rank || b.names.includes(name)) continue;
      if (r.step === "namespace" && r.ns !== b.ns) continue;
      return { open: b, step: r.step, rank: RANK[r.step] };
    }
  }
  // a provider search domain (from the node's resolv.conf): base + anything outside the cluster zone
  for (let dot = name.indexOf("."); dot > 0 && dot < name.length - 1; dot = name.indexOf(".", dot + 1)) {
    const rest = name.slice(dot + 1, -1);
    if (zones.some((z) => rest === z || rest.endsWith(`.${z}`))) continue;
    for (const b of live(lists.byBase, name.slice(0, dot), lists)) {
      if (b.lookup.answeredBy !== null || b.rank > RANK.provider || b.names.includes(name)) continue;
      return { open: b, step: "provider", rank: RANK.provider };
    }
  }
  return null;
}

function sentIndex(o: Open, tryIndex: number, qtypes: string): number {
  for (let k = 0; k < o.sentTry.length; k++) if (o.sentTry[k] === tryIndex && o.sentQtypes[k] === qtypes) return k;
  return -1;
}

/** Adds a query to a lookup; returns the index of its try. */
function add(o: Open, q: DnsQuery, name: string, step: SearchStep, rank: number): number {
  const l = o.lookup;
  let i = o.names.indexOf(name);
  if (i < 0) {
    i = l.tries.length;
    o.names.push(name);
    l.tries.push({ query: q.query, step, status: q.status, count: 0 });
    o.masks.push(0);
    o.fails.push(0);
    o.firstMs.push(q.tMs);
  }
  const qtypes = qtypesKey(q.qtypes);
  const k = sentIndex(o, i, qtypes);
  if (k < 0) {
    o.sentTry.push(i);
    o.sentQtypes.push(qtypes);
    o.sentStatus.push(q.status);
  } else o.sentStatus[k] = q.status;
  l.tries[i].count++;
  o.masks[i] |= BIT[q.status];
  if (q.status !== "NOERROR" && q.status !== "PENDING") o.fails[i]++;
  l.queryIds.push(q.id);
  l.queryTries.push(i);
  l.endMs = Math.max(l.endMs, q.endMs ?? q.tMs);
  o.rank = Math.max(o.rank, rank);
  o.lastMs = Math.max(o.lastMs, q.endMs ?? q.tMs);
  if (q.status === "NOERROR" && l.answeredBy === null) {
    l.answeredBy = q.query;
    l.answeredStep = step;
  }
  return i;
}

/** How a try ended overall: answered if any of its queries was, else its worst failure. */
function tryStatus(mask: number): DnsStatus {
  for (const s of ["NOERROR", "SERVFAIL", "REFUSED", "OTHER", "NXDOMAIN", "UNANSWERED"] as const) if (mask & BIT[s]) return s;
  return "PENDING";
}

function finish(o: Open): DnsLookup {
  const l = o.lookup;
  const answeredAt = l.answeredBy === null ? -1 : o.names.indexOf(normalize(l.answeredBy));
  o.answeredAt = answeredAt;
  l.wasted = 0;
  for (let i = 0; i < l.tries.length; i++) {
    const t = l.tries[i];
    t.status = tryStatus(o.masks[i]);
    if (i !== answeredAt && t.step !== "absolute") l.wasted += o.fails[i];
  }
  if (answeredAt >= 0) {
    l.outcome = "NOERROR";
    l.addedMs = o.firstMs[answeredAt] - l.startMs;
  } else {
    const last = l.tries[l.tries.length - 1];
    l.outcome = last.status;
    const absolute = l.tries.findIndex((t) => t.step === "absolute");
    l.addedMs = (absolute >= 0 ? o.firstMs[absolute] : l.endMs) - l.startMs;
  }
  return l;
}
