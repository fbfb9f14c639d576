/**
 * DNS as Hubble sees it through the DNS proxy (allow-dns-egress has a DNS rule): an L7 REQUEST
 * when the pod asks, an L7 RESPONSE with rcode/ips/ttl/latency when CoreDNS answers.
 *
 * Pods use Kubernetes' resolv.conf (search <ns>.svc.cluster.local svc.cluster.local
 * cluster.local, options ndots:5), so a name with fewer than 5 dots is first tried with every
 * search suffix: `api.stripe.com` costs three NXDOMAINs before `api.stripe.com.` answers, while
 * a short in-cluster name (`backend`) resolves on the first try. glibc sends A and AAAA together
 * and moves to the next candidate when neither has an answer; a query that gets no answer is
 * re-sent after the 5 s resolver timeout.
 */
import { DnsTrouble } from "./demo-events";
import { EventType, FlowType, TrafficDirection, Verdict, type FlowSpec } from "./demo-flow-builder";
import type { Decision } from "./demo-policy-decisions";
import type { DemoRandom } from "./demo-random";
import { PODS, SERVICES, WORLD_SITES, type Peer, type WorldSite } from "./demo-topology";

export type QType = "A" | "AAAA";

export const RCODE = { noError: 0, servFail: 2, nxDomain: 3, refused: 5 } as const;

/** Hubble's names for rcodes in the Summary text. */
const RCODE_TEXT: Record<number, string> = { 0: "No Error", 2: "Server Failure", 3: "Non-Existent Domain", 5: "Refused" };

/** "no answer" TTL Hubble reports for negative and empty answers */
const NO_TTL = 4294967295;

const CLUSTER_IPS: Record<string, string> = {
  "frontend.shop.svc.cluster.local.": "10.96.183.20",
  "backend.shop.svc.cluster.local.": "10.96.142.17",
  "database.shop.svc.cluster.local.": "10.96.88.5",
  "kube-dns.kube-system.svc.cluster.local.": "10.96.0.10",
};

/** Zones CoreDNS refuses (a forward block restricted to other domains). */
const REFUSED_SUFFIX = ".corp.internal.";

export interface DnsAnswer {
  rcode: number;
  ips: string[];
  ttl: number;
  cnames: string[];
  latencyMs: number;
}

export interface DnsLookup {
  atMs: number;
  client: Peer;
  /** the name as the application asks for it ("backend", "api.stripe.com") */
  name: string;
  qtypes?: QType[];
  /** egress decision for the query (allow-dns-egress), reported as a policy verdict once */
  egress?: Decision;
  trouble?: DnsTrouble;
}

export interface DnsResult {
  flows: FlowSpec[];
  ips: string[];
  /** when the application got its answer (or gave up) */
  doneMs: number;
}

/** Candidate FQDNs in the order glibc tries them. */
export function searchCandidates(name: string, namespace: string): string[] {
  if (name.endsWith(".")) return [name];
  const search = [`${namespace}.svc.cluster.local`, "svc.cluster.local", "cluster.local"].map((s) => `${name}.${s}.`);
  const dots = name.split(".").length - 1;
  return dots >= 5 ? [`${name}.`, ...search] : [...search, `${name}.`];
}

function worldSite(fqdn: string): WorldSite | undefined {
  return Object.values(WORLD_SITES).find((s) => `${s.name}.` === fqdn);
}

export function answer(rand: DemoRandom, fqdn: string, qtype: QType, trouble: DnsTrouble | undefined): DnsAnswer {
  const fast = () => rand.between(1, 4);
  const empty = (rcode: number, latencyMs: number): DnsAnswer => ({ rcode, ips: [], ttl: NO_TTL, cnames: [], latencyMs });
  if (fqdn.endsWith(".cluster.local.")) {
    const ip = CLUSTER_IPS[fqdn];
    if (!ip) return empty(RCODE.nxDomain, fast());
    // IPv4-only cluster: AAAA is an empty NOERROR
    return qtype === "A" ? { rcode: 0, ips: [ip], ttl: 30, cnames: [], latencyMs: fast() } : empty(0, fast());
  }
  if (fqdn.endsWith(REFUSED_SUFFIX)) return empty(RCODE.refused, fast());
  if (trouble === DnsTrouble.servFail) return empty(RCODE.servFail, rand.between(200, 2000));
  const site = worldSite(fqdn);
  // upstream resolution: mostly 5–30 ms, sometimes a slow upstream
  const latencyMs = rand.chance(0.04) ? rand.between(200, 900) : rand.between(5, 30);
  if (!site) return empty(RCODE.nxDomain, latencyMs);
  if (qtype === "AAAA") return empty(0, latencyMs);
  const ips = rand.chance(0.5) ? site.ips : [rand.pick(site.ips)];
  return { rcode: 0, ips, ttl: rand.pick([60, 120, 300]), cnames: site.cnames ?? [], latencyMs };
}

function answerSummary(query: string, qtype: QType, a: DnsAnswer): string {
  const tail = `TTL: ${a.ttl} (Proxy ${query} ${qtype})`;
  if (a.rcode !== 0) return `DNS Answer RCode: ${RCODE_TEXT[a.rcode] ?? a.rcode} ${tail}`;
  return a.ips.length ? `DNS Answer "${a.ips.join(",")}" ${tail}` : `DNS Answer  ${tail}`;
}

export function dnsLookup(rand: DemoRandom, l: DnsLookup): DnsResult {
  const flows: FlowSpec[] = [];
  const client = l.client;
  const node = client.node!;
  const coredns = rand.pick(PODS.coredns);
  const qtypes = l.qtypes ?? ["A"];
  let t = l.atMs;
  let verdictSent = false;

  for (const fqdn of searchCandidates(l.name, client.endpoint.namespace ?? "default")) {
    let next = t;
    let found: string[] = [];
    for (const [qi, qtype] of qtypes.entries()) {
      const srcPort = rand.ephemeralPort();
      const l4 = { proto: "UDP" as const, srcPort, dstPort: 53 };
      const reply = { proto: "UDP" as const, srcPort: 53, dstPort: srcPort };
      // glibc sends A, then AAAA right after it
      const qAt = t + 0.01 + qi * 0.03 + rand.between(0, 0.02);
      if (!verdictSent && l.egress?.kind === "allow") {
        verdictSent = true;
        flows.push({
          atMs: qAt - 0.005,
          node,
          src: client,
          dst: coredns,
          l4,
          verdict: l.egress.redirect ? Verdict.REDIRECTED : Verdict.FORWARDED,
          eventType: EventType.policyVerdict,
          direction: TrafficDirection.EGRESS,
          isReply: false,
          matchType: l.egress.matchType,
          egressAllowedBy: l.egress.policies,
          dstService: SERVICES.kubeDns,
        });
      }
      const request = (atMs: number): FlowSpec => ({
        atMs,
        node,
        src: client,
        dst: coredns,
        l4,
        verdict: Verdict.FORWARDED,
        eventType: EventType.l7,
        flowType: FlowType.L7,
        direction: TrafficDirection.EGRESS,
        isReply: false,
        dstService: SERVICES.kubeDns,
        l7: { type: 1, record: { case: "dns", value: { query: fqdn, qtypes: [qtype], observationSource: "proxy" } } },
        summary: `DNS Query ${fqdn} ${qtype}`,
      });
      let sentAt = qAt;
      flows.push(request(sentAt));
      if (rand.chance(0.02)) {
        // lost on the way: the resolver asks again after its 5 s timeout
        sentAt = qAt + 5000;
        flows.push(request(sentAt));
      }
      const a = answer(rand, fqdn, qtype, l.trouble);
      const doneAt = sentAt + a.latencyMs;
      flows.push({
        atMs: doneAt,
        node,
        src: coredns,
        dst: client,
        l4: reply,
        verdict: Verdict.FORWARDED,
        eventType: EventType.l7,
        flowType: FlowType.L7,
        direction: TrafficDirection.EGRESS,
        isReply: true,
        srcService: SERVICES.kubeDns,
        l7: {
          type: 2,
          latencyNs: BigInt(Math.round(a.latencyMs * 1e6)),
          record: {
            case: "dns",
            value: {
              query: fqdn,
              ips: a.ips,
              ttl: a.ttl,
              cnames: a.cnames,
              observationSource: "proxy",
              rcode: a.rcode,
              qtypes: [qtype],
              rrtypes: [...a.cnames.map(() => "CNAME"), ...a.ips.map(() => qtype)],
            },
          },
        },
        summary: answerSummary(fqdn, qtype, a),
      });
      next = Math.max(next, doneAt);
      if (qtype === "A" && a.rcode === 0) found = a.ips;
      // an authoritative "no such name" or "no data" moves on; failures end the lookup
      if (a.rcode === RCODE.servFail || a.rcode === RCODE.refused) return { flows, ips: [], doneMs: next };
    }
    t = next;
    if (found.length > 0) return { flows, ips: found, doneMs: t };
  }
  return { flows, ips: [], doneMs: t };
}
