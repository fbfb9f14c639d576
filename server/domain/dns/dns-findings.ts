/**
 * ndots findings: per client workload, what the search path costs and what would fix it.
 *
 * A name with d dots is tried as-is first when d >= ndots, else every search domain comes first.
 * So, from the lookups a workload made:
 * - names that resolved (or were finally asked) as themselves after failed search tries are
 *   *external*: they want d >= ndots;
 * - names that resolved through a search domain are *in-cluster*: they want d < ndots.
 * The smallest ndots that helps is max(dots of in-cluster names) + 1 (at least 1); it fixes every
 * external name with at least that many dots. When no value works (an external name with fewer
 * dots than an in-cluster one), the fix is a trailing dot on the external names. In-cluster names
 * that only resolved through a later search domain (`zipkin.istio-system` → `…svc.cluster.local`)
 * are fixed by writing their full name with a trailing dot; ndots cannot help them.
 */
import type { DnsLookup } from "./dns-types";

export interface NdotsName {
  name: string;
  /** lookups of this name that wasted queries */
  lookups: number;
  wasted: number;
  /** average ms a lookup spent before its answering query */
  addedMsAvg: number;
  kind: "external" | "in-cluster";
  /** the candidate that answered, null when none did (in the data read) */
  answeredBy: string | null;
  /** what to write instead, for this name */
  write: string;
  /** queries a lookup of this name would save with the recommended fix */
  savedPerLookup: number;
}

export interface NdotsFinding {
  workload: string;
  namespace: string;
  /** origin namespaces seen in the search domains (node-local-dns forwards for many) */
  searchNamespaces: string[];
  /** lookups by this workload, and how many wasted queries on the search path */
  lookups: number;
  wastefulLookups: number;
  queries: number;
  wasted: number;
  addedMsTotal: number;
  names: NdotsName[];
  fix: {
    /** recommended dnsConfig ndots, null when no value helps */
    ndots: number | null;
    /** wasted queries the whole fix would have saved in this range */
    saves: number;
    text: string;
    /** Pod spec fragment */
    yaml: string | null;
    /** names to write with a trailing dot */
    trailingDot: string[];
  };
  /** the lookup that wasted most, for "show me" */
  example: { lookupId: string; startMs: number; endMs: number; name: string };
}

const dots = (name: string) => (name.match(/\./g) ?? []).length;

function isExternal(l: DnsLookup): boolean {
  if (l.answeredStep === "absolute" || l.answeredStep === "provider") return true;
  // nothing answered in the data: a name tried through every search domain that does not exist
  // in the cluster (its absolute query went elsewhere, or failed)
  return l.answeredBy === null && l.tries.some((t) => t.step !== "absolute");
}

export function ndotsFindings(lookups: readonly DnsLookup[], queriesByWorkload: ReadonlyMap<string, number> = new Map()): NdotsFinding[] {
  const byWorkload = new Map<string, DnsLookup[]>();
  for (const l of lookups) {
    let list = byWorkload.get(l.client.workload);
    if (!list) byWorkload.set(l.client.workload, (list = []));
    list.push(l);
  }
  const out: NdotsFinding[] = [];
  for (const [workload, list] of byWorkload) {
    const wasteful = list.filter((l) => l.wasted > 0);
    if (wasteful.length === 0) continue;
    // a name that ever resolved through a search domain is in-cluster, whatever else happened to it
    const inCluster = list.filter((l) => l.answeredStep !== null && !isExternal(l));
    const inClusterNames = new Set(inCluster.map((l) => l.name));
    const maxInternalDots = inCluster.reduce((m, l) => Math.max(m, dots(l.name)), -1);
    const externalNames = new Set(wasteful.filter((l) => isExternal(l) && !inClusterNames.has(l.name)).map((l) => l.name));
    const minExternalDots = Math.min(...[...externalNames].map(dots).filter((d) => d > 0));
    // ndots only helps external names: with none wasting queries, it would change nothing
    let ndots: number | null = Math.max(1, maxInternalDots + 1);
    if (externalNames.size === 0 || !(ndots <= minExternalDots && ndots < 5)) ndots = null;

    const names = new Map<string, { lookups: DnsLookup[] }>();
    for (const l of wasteful) {
      let n = names.get(l.name);
      if (!n) names.set(l.name, (n = { lookups: [] }));
      n.lookups.push(l);
    }
    const rows: NdotsName[] = [...names].map(([name, { lookups: ls }]) => {
      const external = externalNames.has(name);
      const wasted = ls.reduce((s, l) => s + l.wasted, 0);
      const answeredBy = ls.find((l) => l.answeredBy)?.answeredBy ?? null;
      const write = external ? `${name}.` : answeredBy ? (answeredBy.endsWith(".") ? answeredBy : `${answeredBy}.`) : `${name}.`;
      return {
        name,
        lookups: ls.length,
        wasted,
        addedMsAvg: ls.reduce((s, l) => s + l.addedMs, 0) / ls.length,
        kind: external ? "external" : "in-cluster",
        answeredBy,
        write,
        // every name is covered by one part of the fix (ndots, trailing dot or full name)
        savedPerLookup: wasted / ls.length,
      };
    });
    rows.sort((a, b) => b.wasted - a.wasted || a.name.localeCompare(b.name));

    const trailingDot = rows.filter((r) => r.kind === "external" && (ndots === null || dots(r.name) < ndots)).map((r) => r.write);
    const fqdn = rows.filter((r) => r.kind === "in-cluster").map((r) => r.write);
    const saves = rows.reduce((s, r) => s + r.wasted, 0);
    // the example to show: the most wasteful walk that no resolver timeout stretched to seconds
    // (a lost query re-sent after 5 s), the shortest of those
    const clean = wasteful.filter((l) => l.endMs - l.startMs < 1000);
    const worst = (clean.length ? clean : wasteful).reduce((a, b) =>
      b.wasted > a.wasted || (b.wasted === a.wasted && b.endMs - b.startMs < a.endMs - a.startMs) ? b : a,
    );
    const first = list[0].client;
    const wastedTotal = wasteful.reduce((s, l) => s + l.wasted, 0);
    const addedMsTotal = wasteful.reduce((s, l) => s + l.addedMs, 0);
    out.push({
      workload,
      namespace: first.namespace,
      searchNamespaces: [...new Set(list.map((l) => l.searchNamespace).filter((n): n is string => n !== null))].sort(),
      lookups: list.length,
      wastefulLookups: wasteful.length,
      queries: queriesByWorkload.get(workload) ?? list.reduce((s, l) => s + l.queryIds.length, 0),
      wasted: wastedTotal,
      addedMsTotal,
      names: rows.slice(0, 20),
      fix: {
        ndots,
        saves,
        text: fixText(workload, ndots, maxInternalDots, trailingDot, fqdn),
        yaml: ndots === null ? null : ndotsYaml(ndots),
        trailingDot: [...trailingDot, ...fqdn],
      },
      example: { lookupId: worst.id, startMs: worst.startMs, endMs: worst.endMs, name: worst.name },
    });
  }
  out.sort((a, b) => b.wasted - a.wasted || a.workload.localeCompare(b.workload));
  return out;
}

function fixText(workload: string, ndots: number | null, maxInternalDots: number, trailingDot: string[], fqdn: string[]): string {
  const parts: string[] = [];
  if (ndots !== null) {
    const why =
      maxInternalDots < 0
        ? "it resolves no in-cluster names through the search path"
        : maxInternalDots === 0
          ? "its in-cluster names have no dots, so they still use the search path"
          : `its in-cluster names have at most ${maxInternalDots} dot${maxInternalDots === 1 ? "" : "s"}, so they still use the search path`;
    parts.push(`Set dnsConfig option ndots:${ndots} on ${workload}: names with ${ndots}+ dots are then asked as-is first; ${why}.`);
  }
  if (trailingDot.length) {
    parts.push(
      `${ndots === null ? "No ndots value fits both its external and in-cluster names; write" : "Also write"} ${list(trailingDot)} with a trailing dot, so the resolver skips the search domains.`,
    );
  } else if (ndots !== null) {
    parts.push("Or write the external names with a trailing dot (“api.example.com.”).");
  }
  if (fqdn.length) parts.push(`Use the full name of in-cluster services, ending in a dot: ${list(fqdn)}.`);
  return parts.join(" ");
}

const quoted = (xs: string[]) => xs.map((x) => `“${x}”`);
const list = (xs: string[]) => (xs.length <= 3 ? quoted(xs).join(", ") : `${quoted(xs.slice(0, 3)).join(", ")} and ${xs.length - 3} more`);

export function ndotsYaml(ndots: number): string {
  return ["spec:", "  template:", "    spec:", "      dnsConfig:", "        options:", "          - name: ndots", `            value: "${ndots}"`].join("\n");
}
