/**
 * Pairs DNS responses with their requests. Pure: messages in (any order), queries out.
 *
 * Hubble gives no id linking a response to its request (the DNS message id is not exported), so a
 * response is matched on what both carry — client IP, server IP, query name (case-insensitive) and
 * qtypes — and then on time:
 * - when the response has latency_ns, the request sent closest to `response time − latency` wins;
 * - otherwise the earliest of the requests sent together with the latest one before the response
 *   (a resolver that re-sends after its timeout gets the answer to the re-send, while two
 *   pipelined identical queries are answered in order);
 * - the client port is preferred when it matches (glibc re-sends on the same socket, different
 *   lookups use different ports; node-local-dns over TCP uses one port for everything, so it can
 *   only break ties).
 * A request left without a response is UNANSWERED once `timeoutMs` has passed by `horizonMs` (the
 * end of the data that was read), else PENDING. A response whose request was not read (it was
 * before the range, or lost) still becomes a query, with `requestKey` null.
 */
import { normalize, qtypesKey } from "./dns-names";
import { rcodeName, statusOfRcode, type DnsMessage, type DnsQuery } from "./dns-types";

export interface PairingOptions {
  /** a request is unanswered when no response came within this long (glibc's default is 5 s) */
  timeoutMs?: number;
  /** end of the data read, ms since epoch; requests newer than horizon − timeout are PENDING */
  horizonMs: number;
  /** a response may carry a time slightly before its request (clocks of the observation points) */
  skewMs?: number;
  /** requests of the same query sent within this much of each other are one burst of sends */
  burstMs?: number;
  /** never pair across more than this */
  maxLatencyMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_SKEW_MS = 50;
const DEFAULT_BURST_MS = 500;
const DEFAULT_MAX_LATENCY_MS = 60_000;

/** Messages of one query identity, split by kind. */
interface Group {
  requests: DnsMessage[];
  responses: DnsMessage[];
}

/** What a request and its response share: client, server, name and qtypes. */
export function pairDnsKey(m: DnsMessage): string {
  return `${m.client.ip}\u0000${m.server.ip}\u0000${normalize(m.query)}\u0000${qtypesKey(m.qtypes)}`;
}

const byTime = (a: DnsMessage, b: DnsMessage) => a.tMs - b.tMs || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Picks the request a response answers from the unmatched candidates (sorted by time). */
function pick(response: DnsMessage, candidates: DnsMessage[], burstMs: number): DnsMessage | undefined {
  if (candidates.length === 0) return undefined;
  let pool = candidates;
  if (response.clientPort !== null && candidates.length > 1) {
    const samePort = candidates.filter((r) => r.clientPort === response.clientPort);
    if (samePort.length > 0) pool = samePort;
  }
  if (response.latencyNs !== null) {
    const expected = response.tMs - response.latencyNs / 1e6;
    let best = pool[0];
    for (const r of pool) if (Math.abs(r.tMs - expected) < Math.abs(best.tMs - expected)) best = r;
    return best;
  }
  const latest = pool[pool.length - 1].tMs;
  return pool.find((r) => r.tMs >= latest - burstMs);
}

export function pairDnsMessages(messages: readonly DnsMessage[], opts: PairingOptions): DnsQuery[] {
  return pairWithMessages(messages, opts).queries;
}

/** Queries, oldest first, with the request and the response each was built from (null when not seen). */
export interface PairedQueries {
  queries: DnsQuery[];
  requests: (DnsMessage | null)[];
  responses: (DnsMessage | null)[];
}

export function pairWithMessages(messages: readonly DnsMessage[], opts: PairingOptions): PairedQueries {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const skewMs = opts.skewMs ?? DEFAULT_SKEW_MS;
  const burstMs = opts.burstMs ?? DEFAULT_BURST_MS;
  const maxLatencyMs = opts.maxLatencyMs ?? DEFAULT_MAX_LATENCY_MS;
  // resolvers re-send after one timeout (glibc: `options timeout:5 attempts:2`)
  const retryWindowMs = 2 * timeoutMs;

  const groups = new Map<string, Group>();
  for (const m of messages) {
    const k = m.pairKey ?? pairDnsKey(m);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { requests: [], responses: [] }));
    (m.kind === "request" ? g.requests : g.responses).push(m);
  }

  const out: DnsQuery[] = [];
  const requests: (DnsMessage | null)[] = [];
  const responses: (DnsMessage | null)[] = [];
  for (const g of groups.values()) {
    if (g.requests.length > 1) g.requests.sort(byTime);
    if (g.responses.length > 1) g.responses.sort(byTime);
    const answer = new Map<DnsMessage, DnsMessage>();
    const open: DnsMessage[] = []; // unmatched requests, in time order
    let next = 0;
    for (const resp of g.responses) {
      // requests become candidates once they are (nearly) no later than the response
      while (next < g.requests.length && g.requests[next].tMs <= resp.tMs + skewMs) open.push(g.requests[next++]);
      // requests too old to be answered now stay unanswered (sorted, so drop from the front)
      while (open.length > 0 && open[0].tMs < resp.tMs - maxLatencyMs) open.shift();
      const req = pick(resp, open, burstMs);
      if (req) {
        answer.set(req, resp);
        open.splice(open.indexOf(req), 1);
      } else {
        out.push(loneResponse(resp));
        requests.push(null);
        responses.push(resp);
      }
    }

    let previous: DnsQuery | null = null;
    for (let i = 0; i < g.requests.length; i++) {
      const req = g.requests[i];
      const resp = answer.get(req);
      const later = g.requests[i + 1];
      const q = resp ? answered(req, resp) : unanswered(req, opts.horizonMs, timeoutMs);
      // a re-send: the same query again after this one went unanswered for a while
      if (!resp && later && later.tMs - req.tMs >= burstMs && later.tMs - req.tMs <= retryWindowMs) q.retried = true;
      if (previous && previous.retried && req.tMs - previous.tMs <= retryWindowMs) q.attempt = previous.attempt + 1;
      out.push(q);
      requests.push(req);
      responses.push(resp ?? null);
      previous = q;
    }
  }
  // sort an index so the message arrays follow the queries
  const order = Array.from({ length: out.length }, (_, i) => i);
  order.sort((a, b) => {
    const x = out[a];
    const y = out[b];
    return x.tMs - y.tMs || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
  });
  return { queries: order.map((i) => out[i]), requests: order.map((i) => requests[i]), responses: order.map((i) => responses[i]) };
}

/** One query object, built in one literal (hot path: no spreads, one shape for every query). */
function query(
  m: DnsMessage,
  requestKey: string | null,
  responseKey: string | null,
  tMs: number,
  endMs: number | null,
  latencyMs: number | null,
  rcode: number | null,
  status: DnsQuery["status"],
  matched: boolean,
): DnsQuery {
  return {
    id: requestKey ?? responseKey!,
    requestKey,
    responseKey,
    tMs,
    endMs,
    latencyMs,
    query: m.query,
    qtypes: m.qtypes,
    rcode,
    rcodeName: rcode === null ? null : rcodeName(rcode),
    status,
    client: m.client,
    server: m.server,
    clientPort: m.clientPort,
    node: m.node,
    retried: false,
    attempt: 0,
    matched,
  };
}

function latencyOf(resp: DnsMessage, reqMs: number | null): number | null {
  if (resp.latencyNs !== null && resp.latencyNs > 0) return resp.latencyNs / 1e6;
  return reqMs === null ? null : Math.max(0, resp.tMs - reqMs);
}

function answered(req: DnsMessage, resp: DnsMessage): DnsQuery {
  const rcode = resp.rcode ?? 0;
  return query(req, req.key, resp.key, req.tMs, resp.tMs, latencyOf(resp, req.tMs), rcode, statusOfRcode(rcode), req.matched || resp.matched);
}

function unanswered(req: DnsMessage, horizonMs: number, timeoutMs: number): DnsQuery {
  return query(req, req.key, null, req.tMs, null, null, null, horizonMs - req.tMs > timeoutMs ? "UNANSWERED" : "PENDING", req.matched);
}

function loneResponse(resp: DnsMessage): DnsQuery {
  const rcode = resp.rcode ?? 0;
  const latencyMs = latencyOf(resp, null);
  return query(resp, null, resp.key, resp.tMs - (latencyMs ?? 0), resp.tMs, latencyMs, rcode, statusOfRcode(rcode), resp.matched);
}
