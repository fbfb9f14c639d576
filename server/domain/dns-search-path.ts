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

/** lower case with exactly one trailing dot */
export function normalize(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith(".") ? n : `${n}.`;
}

/**
 * Cluster domains in use: cluster.local, plus any `<zone>` seen answering a `*.svc.<zone>.` query
 * (clusters created with another --cluster-domain).
 */
export function clusterZones(queries: readonly DnsQuery[]): string[] {
  const zones = new Set<string>([DEFAULT_ZONE]);
  for (const q of queries) {
    if (q.status !== "NOERROR") continue;
    const n = normalize(q.query);
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
  /** "<try index> <qtypes>" sent, and how the last such query ended (a re-send vs a new lookup) */
  sent: string[];
  sentStatus: DnsStatus[];
  /** per try: bit set of the statuses seen, failed queries, first query time */
  masks: number[];
  fails: number[];
  firstMs: number[];
}

const BIT: Record<DnsStatus, number> = { NOERROR: 1, NXDOMAIN: 2, SERVFAIL: 4, REFUSED: 8, OTHER: 16, UNANSWERED: 32, PENDING: 64 };

function clientKey(p: DnsPeer): string {
  return `${p.ip}\u0000${p.pod}`;
}

/** Groups queries into lookups (a lookup of one query is a name that resolved first time). */
export function groupLookups(queries: readonly DnsQuery[], opts: SearchPathOptions = {}): DnsLookup[] {
  const gapMs = opts.gapMs ?? DEFAULT_GAP_MS;
  const zones = clusterZones(queries);
  const byClient = new Map<string, DnsQuery[]>();
  for (const q of queries) {
    const k = clientKey(q.client);
    let list = byClient.get(k);
    if (!list) byClient.set(k, (list = []));
    list.push(q);
  }

  const all: Open[] = [];
  for (const list of byClient.values()) {
    list.sort((a, b) => a.tMs - b.tMs);
    // this client's open lookups by candidate name and by base name, oldest first: when two walks
    // for one name overlap, the older one is further along, so it takes the next candidate first.
    // A lookup that went quiet for longer than gapMs is closed (dropped from the lists lazily).
    const byName = new Map<string, Open[]>();
    const byBase = new Map<string, Open[]>();
    for (const q of list) {
      const name = normalize(q.query);
      let readings: Reading[] | null = null;
      const read = () => (readings ??= readCandidate(q.query, zones));
      const live = (m: Map<string, Open[]>, k: string): Open[] => {
        const l = m.get(k);
        if (!l) return [];
        const fresh = l.filter((o) => q.tMs - o.lastMs <= gapMs);
        if (fresh.length !== l.length) {
          if (fresh.length) m.set(k, fresh);
          else m.delete(k);
        }
        return fresh;
      };
      const target = findOpen(name, q.qtypes.join(","), read, zones, (n) => live(byName, n), (b) => live(byBase, b));
      if (target) {
        add(target.open, q, name, target.step, target.rank);
        push(byName, name, target.open);
        continue;
      }
      // a new lookup: read the name as the earliest search step it can be (the search list's order)
      const r = read().reduce((best, x) => (RANK[x.step] < RANK[best.step] ? x : best));
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
        sent: [],
        sentStatus: [],
        masks: [],
        fails: [],
        firstMs: [],
      };
      add(o, q, name, r.step, RANK[r.step]);
      all.push(o);
      push(byName, name, o);
      push(byBase, r.base, o);
    }
  }
  const lookups = all.map(finish);
  lookups.sort((a, b) => a.startMs - b.startMs || (a.id < b.id ? -1 : 1));
  return lookups;
}

function push(m: Map<string, Open[]>, k: string, o: Open): void {
  const l = m.get(k);
  if (!l) m.set(k, [o]);
  else if (!l.includes(o)) l.push(o);
}

function findOpen(
  name: string,
  qtypes: string,
  readings: () => Reading[],
  zones: readonly string[],
  byName: (name: string) => Open[],
  byBase: (base: string) => Open[],
): { open: Open; step: SearchStep; rank: number } | null {
  // the same candidate again: the other qtype, or a re-send of one that got no answer
  for (const o of byName(name)) {
    const same = o.names.indexOf(name);
    if (same < 0) continue;
    const k = o.sent.indexOf(`${same} ${qtypes}`);
    const before = k < 0 ? undefined : o.sentStatus[k];
    if (before === undefined || before === "UNANSWERED" || before === "PENDING") {
      return { open: o, step: o.lookup.tries[same].step, rank: RANK[o.lookup.tries[same].step] };
    }
  }
  // the next search domain (or the name itself) for a lookup still walking; the resolver stops at
  // the first candidate that exists, so answered lookups take no further candidates, and a
  // candidate a lookup already tried means a new walk
  for (const r of readings()) {
    for (const b of byBase(r.base)) {
      if (b.lookup.answeredBy !== null || RANK[r.step] < b.rank || b.names.includes(name)) continue;
      if (r.step === "namespace" && r.ns !== b.ns) continue;
      return { open: b, step: r.step, rank: RANK[r.step] };
    }
  }
  // a provider search domain (from the node's resolv.conf): base + anything outside the cluster zone
  for (let dot = name.indexOf("."); dot > 0 && dot < name.length - 1; dot = name.indexOf(".", dot + 1)) {
    const rest = name.slice(dot + 1, -1);
    if (zones.some((z) => rest === z || rest.endsWith(`.${z}`))) continue;
    for (const b of byBase(name.slice(0, dot))) {
      if (b.lookup.answeredBy !== null || b.rank > RANK.provider || b.names.includes(name)) continue;
      return { open: b, step: "provider", rank: RANK.provider };
    }
  }
  return null;
}

function add(o: Open, q: DnsQuery, name: string, step: SearchStep, rank: number): void {
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
  const sent = `${i} ${q.qtypes.join(",")}`;
  const k = o.sent.indexOf(sent);
  if (k < 0) {
    o.sent.push(sent);
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
}

/** How a try ended overall: answered if any of its queries was, else its worst failure. */
function tryStatus(mask: number): DnsStatus {
  for (const s of ["NOERROR", "SERVFAIL", "REFUSED", "OTHER", "NXDOMAIN", "UNANSWERED"] as const) if (mask & BIT[s]) return s;
  return "PENDING";
}

function finish(o: Open): DnsLookup {
  const l = o.lookup;
  l.tries.forEach((t, i) => (t.status = tryStatus(o.masks[i])));
  const answeredAt = l.answeredBy === null ? -1 : o.names.indexOf(normalize(l.answeredBy));
  l.wasted = 0;
  l.tries.forEach((t, i) => {
    if (i === answeredAt || t.step === "absolute") return;
    l.wasted += o.fails[i];
  });
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
