/**
 * The vocabulary of the DNS view (/dns, /api/dns, /api/dns/summary). Pure types and the rcode /
 * status names; no I/O. A DNS *message* is one stored L7 flow (a REQUEST or a RESPONSE seen by the
 * Cilium DNS proxy); a *query* is a request paired with its response (dns-pairing.ts); a *lookup* is
 * what the application asked for, with every search-path expansion it cost (dns-search-path.ts).
 */

/** One side of a DNS exchange, as much as Hubble knew about it. */
export interface DnsPeer {
  ip: string;
  namespace: string;
  pod: string;
  /** "namespace/name" of the owning workload, else the app label, else the pod, else the IP */
  workload: string;
}

/** One stored DNS flow, reduced to what pairing and grouping need. */
export interface DnsMessage {
  /** storage key of the flow (its uuid, or the derived key) */
  key: string;
  /** ms since the epoch, µs precision */
  tMs: number;
  kind: "request" | "response";
  /** the name as sent, usually with a trailing dot */
  query: string;
  qtypes: string[];
  /** responses only; null on requests */
  rcode: number | null;
  /** Layer7.latency_ns of a response; null when absent or 0 */
  latencyNs: number | null;
  /** the pod (or host) that asked; the destination of a response */
  client: DnsPeer;
  /** the resolver that answered; the source of a response */
  server: DnsPeer;
  /** the client's L4 port (source of a request, destination of a response) */
  clientPort: number | null;
  node: string;
  /** whether this flow satisfied the hubble-style filter of the request */
  matched: boolean;
  /** pairDnsKey(this), when the reader computed it once for a cached message */
  pairKey?: string;
}

/**
 * How a query ended. NOERROR/NXDOMAIN/SERVFAIL/REFUSED are the rcodes worth their own colour;
 * OTHER is any other rcode (kept as a number in `rcode`); UNANSWERED = no response within the
 * timeout; PENDING = still within the timeout at the end of the data.
 */
export const DNS_STATUSES = ["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "OTHER", "UNANSWERED", "PENDING"] as const;
export type DnsStatus = (typeof DNS_STATUSES)[number];

/** RFC 1035/2136/6895 names; anything else is shown as its number. */
export const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
  6: "YXDOMAIN",
  7: "YXRRSET",
  8: "NXRRSET",
  9: "NOTAUTH",
  10: "NOTZONE",
};

/** The rcode's name, or its number as text when it has none (newer resolvers, EDNS extended codes). */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? String(rcode);
}

export function statusOfRcode(rcode: number): DnsStatus {
  switch (rcode) {
    case 0:
      return "NOERROR";
    case 2:
      return "SERVFAIL";
    case 3:
      return "NXDOMAIN";
    case 5:
      return "REFUSED";
    default:
      return "OTHER";
  }
}

/** Statuses that mean "the application did not get an answer". */
export function isFailure(s: DnsStatus): boolean {
  return s !== "NOERROR" && s !== "PENDING";
}

/** A request paired with its response (or lack of one). */
export interface DnsQuery {
  /** request key, or the response key when the request was not seen */
  id: string;
  requestKey: string | null;
  responseKey: string | null;
  /** when the request was sent (ms since epoch); for a lone response, its time minus the latency */
  tMs: number;
  /** when the response arrived; null when unanswered */
  endMs: number | null;
  latencyMs: number | null;
  query: string;
  qtypes: string[];
  rcode: number | null;
  /** rcode name, the number as text when unknown, null when unanswered */
  rcodeName: string | null;
  status: DnsStatus;
  client: DnsPeer;
  server: DnsPeer;
  clientPort: number | null;
  node: string;
  /** this request got no answer and the same query was sent again */
  retried: boolean;
  /** earlier unanswered sends of this same query that this one repeats */
  attempt: number;
  matched: boolean;
}

/** Where a search-path candidate came from (resolv.conf search list order, then the name itself). */
export type SearchStep = "namespace" | "svc" | "cluster" | "provider" | "absolute";

/** A name as the application asked for it, and what it cost to resolve through the search path. */
export interface DnsLookup {
  id: string;
  client: DnsPeer;
  /** the name the application used, without trailing dot ("api.stripe.com", "backend") */
  name: string;
  /** namespace of the first search domain (<ns>.svc.<zone>), when seen */
  searchNamespace: string | null;
  /** cluster domain, "cluster.local" unless the cluster uses another */
  zone: string;
  startMs: number;
  endMs: number;
  /** query ids in time order */
  queryIds: string[];
  /** for each of queryIds, the index of its try in `tries` */
  queryTries: number[];
  /** candidate names tried, in order, with how each ended */
  tries: { query: string; step: SearchStep; status: DnsStatus; count: number }[];
  /** the candidate that answered (NOERROR), null when none did */
  answeredBy: string | null;
  answeredStep: SearchStep | null;
  /** final outcome: NOERROR when answered, else the status of the last try */
  outcome: DnsStatus;
  /** queries spent on candidates that failed before the answer (or all failed search tries) */
  wasted: number;
  /** ms from the first query to the query that answered (or to the end, when none did) */
  addedMs: number;
}
