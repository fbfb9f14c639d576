/**
 * The conversations the demo cluster is made of. Each scenario starts at a given time and returns
 * every flow the agents report for it; the policy in force at that time decides what is dropped.
 * The story: users hit the ingress, the frontend calls the backend (HTTP, L7-visible), the backend
 * queries Postgres and calls api.stripe.com; kubelet probes pods, Prometheus tries to scrape the
 * backend, cilium-health checks the nodes; and some things the policies forbid keep being tried.
 */
import { answer } from "./demo-dns";
import { dnsLookup, type QType } from "./demo-dns";
import type { DnsTrouble } from "./demo-events";
import { EventType, TraceObservationPoint, TrafficDirection, Verdict, type FlowSpec } from "./demo-flow-builder";
import { httpFlows } from "./demo-http";
import type { PolicyState } from "./demo-policies";
import type { PolicyDecider } from "./demo-policy-decisions";
import type { DemoRandom } from "./demo-random";
import { datapathDrop, DropReason, tcpConnection, type TcpConnection } from "./demo-tcp";
import {
  healthPeer,
  hostPeer,
  KUBE_APISERVER,
  NODE_LIST,
  PODS,
  remoteNodePeer,
  SERVICES,
  STALE_POD,
  UPSTREAM_DNS,
  WORLD_CLIENTS,
  WORLD_SITES,
  worldClient,
  worldPeer,
  type Peer,
} from "./demo-topology";

export interface ScenarioCtx {
  rand: DemoRandom;
  decider: PolicyDecider;
  policyAt(ms: number): PolicyState;
  dnsTrouble(ms: number): DnsTrouble | undefined;
}

export type Scenario = (ctx: ScenarioCtx, atMs: number) => FlowSpec[];

/** A TCP connection with the policy decisions of the moment filled in. */
function connect(ctx: ScenarioCtx, c: Omit<TcpConnection, "egress" | "ingress">) {
  const state = ctx.policyAt(c.atMs);
  return tcpConnection(ctx.rand, {
    ...c,
    egress: ctx.decider.egress(c.client, c.server, c.serverPort, "TCP", state),
    ingress: ctx.decider.ingress(c.client, c.server, c.serverPort, state),
  });
}

function lookup(ctx: ScenarioCtx, client: Peer, name: string, atMs: number, qtypes?: QType[]) {
  const state = ctx.policyAt(atMs);
  const coredns = PODS.coredns[0];
  return dnsLookup(ctx.rand, {
    atMs,
    client,
    name,
    qtypes: qtypes ?? (ctx.rand.chance(0.5) ? ["A", "AAAA"] : ["A"]),
    egress: ctx.decider.egress(client, coredns, 53, "UDP", state),
    trouble: ctx.dnsTrouble(atMs),
  });
}

interface DbResult {
  flows: FlowSpec[];
  ok: boolean;
  doneMs: number;
}

/** A query from the backend's connection pool; a new connection now and then (pool churn). */
function queryDatabase(ctx: ScenarioCtx, backend: Peer, atMs: number): DbResult {
  const db = PODS.database[0];
  const state = ctx.policyAt(atMs);
  const denied = ctx.decider.ingress(backend, db, 5432, state)?.kind === "deny";
  if (!denied && !ctx.rand.chance(0.08)) return { flows: [], ok: true, doneMs: atMs + ctx.rand.between(0.4, 12) };
  // without backend-to-db the pool's connections are gone: some queries open a new one (and are
  // dropped), the rest wait in the pool's queue until connectionTimeoutMillis
  if (denied && !ctx.rand.chance(0.4)) return { flows: [], ok: false, doneMs: atMs + 2000 };
  const conn = connect(ctx, {
    atMs,
    client: backend,
    server: db,
    serverPort: 5432,
    service: SERVICES.database,
    serverMs: ctx.rand.between(0.4, 12),
    retries: 1,
    close: false,
  });
  // node-postgres' connectionTimeoutMillis
  return conn.established ? { flows: conn.flows, ok: true, doneMs: conn.responseMs } : { flows: conn.flows, ok: false, doneMs: atMs + 2000 };
}

const ENDPOINTS = [
  { method: "GET", path: "/api/products", db: true, w: 35 },
  { method: "GET", path: "/api/products/{id}", db: true, w: 15 },
  { method: "GET", path: "/api/cart", db: true, w: 18 },
  { method: "POST", path: "/api/cart", db: true, w: 12 },
  { method: "GET", path: "/healthz", db: false, w: 10 },
] as const;

/** frontend → backend HTTP call, with whatever the backend needs to answer it. */
export const apiCall: Scenario = (ctx, atMs) => {
  const { rand } = ctx;
  const fe = rand.pick(PODS.frontend);
  const be = rand.pick(PODS.backend);
  const flows: FlowSpec[] = [];
  let t = atMs;
  if (rand.chance(0.06)) {
    const dns = lookup(ctx, fe, "backend", t);
    flows.push(...dns.flows);
    t = dns.doneMs + 0.2;
  }
  const ep = rand.weighted(ENDPOINTS.map((e) => [e, e.w] as const));
  const path = ep.path.replace("{id}", String(rand.int(1, 240)));
  // handler time before any database work
  let latency = rand.between(0.8, 6);
  let code = 200;
  if (ep.db) {
    const db = queryDatabase(ctx, be, t + 1 + latency);
    flows.push(...db.flows);
    latency = db.doneMs - (t + 1) + rand.between(0.3, 4);
    if (!db.ok) code = 503;
  }
  if (code === 200 && rand.chance(0.04)) code = rand.chance(0.6) ? 500 : 503;
  if (code === 200 && ep.method === "POST") code = 201;
  if (rand.chance(0.03)) latency += rand.between(150, 900); // GC pause / slow query

  let clientPort = rand.ephemeralPort();
  let reqAt = t + 1;
  if (rand.chance(0.22)) {
    // a new keep-alive connection (otherwise an idle pooled one is reused: no new TCP flags)
    const conn = connect(ctx, { atMs: t, client: fe, server: be, serverPort: 8080, service: SERVICES.backend, serverMs: latency, close: false });
    flows.push(...conn.flows);
    if (!conn.established) return flows;
    clientPort = conn.clientPort;
    reqAt = conn.requestMs + 0.05;
  }
  flows.push(
    ...httpFlows(rand, {
      atMs: reqAt,
      client: fe,
      server: be,
      clientPort,
      serverPort: 8080,
      method: ep.method,
      path,
      code,
      latencyMs: latency,
      authority: "backend:8080",
      service: SERVICES.backend,
    }),
  );
  return flows;
};

/** A user on the internet → ingress-nginx → frontend, which then calls the backend. */
export const userRequest: Scenario = (ctx, atMs) => {
  const { rand } = ctx;
  const ingress = PODS.ingress[0];
  const fe = rand.pick(PODS.frontend);
  const flows: FlowSpec[] = [];
  let t = atMs;
  if (rand.chance(0.5)) {
    const c = connect(ctx, { atMs: t, client: worldClient(rand.pick(WORLD_CLIENTS)), server: ingress, serverPort: 443, rttMs: rand.between(8, 60) });
    flows.push(...c.flows);
    t = c.requestMs;
  }
  if (rand.chance(0.15)) {
    const c = connect(ctx, { atMs: t + 0.3, client: ingress, server: fe, serverPort: 8080, service: SERVICES.frontend, close: false });
    flows.push(...c.flows);
    if (!c.established) return flows;
    t = c.requestMs;
  }
  const calls = rand.int(1, 2);
  for (let i = 0; i < calls; i++) flows.push(...apiCall(ctx, t + 0.5 + i * rand.between(0.5, 3)));
  return flows;
};

/** In-cluster names resolve on the first search-path candidate. */
export const dnsInCluster: Scenario = (ctx, atMs) => {
  const { rand } = ctx;
  const [client, name] = rand.chance(0.5) ? [rand.pick(PODS.frontend), "backend"] : [rand.pick(PODS.backend), "database"];
  return lookup(ctx, client, name, atMs).flows;
};

/** backend → api.stripe.com: ndots:5 search-path burst, then HTTPS allowed by toFQDNs. */
export const stripeCall: Scenario = (ctx, atMs) => {
  const { rand } = ctx;
  const be = rand.pick(PODS.backend);
  const flows: FlowSpec[] = [];
  let ip = rand.pick(WORLD_SITES.stripe.ips);
  let t = atMs;
  if (rand.chance(0.7)) {
    const dns = lookup(ctx, be, "api.stripe.com", t);
    flows.push(...dns.flows);
    if (dns.ips.length === 0) return flows; // SERVFAIL: the payment call fails before connecting
    ip = dns.ips[0];
    t = dns.doneMs + 0.3;
  }
  const c = connect(ctx, {
    atMs: t,
    client: be,
    server: worldPeer(WORLD_SITES.stripe, ip),
    serverPort: 443,
    rttMs: rand.between(20, 45),
    serverMs: rand.between(80, 400),
  });
  return flows.concat(c.flows);
};

/** Egress to a name no rule allows: POLICY_DENIED at the backend's egress. */
export const blockedEgress: Scenario = (ctx, atMs) => {
  const { rand } = ctx;
  const be = rand.pick(PODS.backend);
  const dns = lookup(ctx, be, "pypi.org", atMs, ["A"]);
  const ip = dns.ips[0] ?? WORLD_SITES.pypi.ips[0];
  const c = connect(ctx, { atMs: dns.doneMs + 0.2, client: be, server: worldPeer(WORLD_SITES.pypi, ip), serverPort: 443 });
  return dns.flows.concat(c.flows);
};

/** The frontend's analytics beacon hits the explicit deny rule: POLICY_DENY (181). */
export const deniedAnalytics: Scenario = (ctx, atMs) => {
  const { rand } = ctx;
  const fe = rand.pick(PODS.frontend);
  const dns = lookup(ctx, fe, "www.google-analytics.com", atMs, ["A"]);
  const ip = dns.ips[0] ?? WORLD_SITES.analytics.ips[0];
  const c = connect(ctx, { atMs: dns.doneMs + 0.2, client: fe, server: worldPeer(WORLD_SITES.analytics, ip), serverPort: 443, retries: 1 });
  return dns.flows.concat(c.flows);
};

/** A misconfigured frontend talking to Postgres directly: dropped at the database's ingress. */
export const frontendToDatabase: Scenario = (ctx, atMs) => {
  const fe = ctx.rand.pick(PODS.frontend);
  return connect(ctx, { atMs, client: fe, server: PODS.database[0], serverPort: 5432, service: SERVICES.database, retries: 1 }).flows;
};

/** Prometheus scrapes backend:9090 — dropped unless allow-metrics-scrape is in force. */
export const metricsScrape: Scenario = (ctx, atMs) => {
  const be = ctx.rand.pick(PODS.backend);
  return connect(ctx, { atMs, client: PODS.prometheus[0], server: be, serverPort: 9090, retries: 1, serverMs: ctx.rand.between(2, 15) }).flows;
};

const PROBES: { pods: Peer[]; port: number }[] = [
  { pods: PODS.frontend, port: 8080 },
  { pods: PODS.backend, port: 8080 },
  { pods: PODS.database, port: 5432 },
  { pods: PODS.coredns, port: 8181 },
];

/** kubelet readiness/liveness probes: reserved:host → pod, always allowed. */
export const kubeletProbe: Scenario = (ctx, atMs) => {
  const probe = ctx.rand.pick(PROBES);
  const pod = ctx.rand.pick(probe.pods);
  return connect(ctx, { atMs, client: hostPeer(pod.node!), server: pod, serverPort: probe.port, serverMs: ctx.rand.between(0.2, 2) }).flows;
};

/** cilium-health: ICMP echo between nodes' health endpoints (reserved:health / remote-node). */
export const healthCheck: Scenario = (ctx, atMs) => {
  const { rand } = ctx;
  const from = rand.pick(NODE_LIST);
  const to = rand.pick(NODE_LIST.filter((n) => n !== from));
  const src = healthPeer(from);
  const dst = healthPeer(to);
  const remoteSrc = remoteNodePeer(from, from.healthIp);
  const remoteDst = remoteNodePeer(to, to.healthIp);
  const rtt = rand.between(0.15, 0.6);
  const base = { verdict: Verdict.FORWARDED, eventType: EventType.trace };
  const vxlan = { index: 6, name: "cilium_vxlan" };
  const lxcHealth = { index: 10, name: "lxc_health" };
  return [
    { ...base, atMs, node: from, src, dst: remoteDst, l4: { proto: "ICMPv4", type: 8 }, subType: 4, point: TraceObservationPoint.TO_OVERLAY, iface: vxlan, direction: TrafficDirection.EGRESS, isReply: false },
    { ...base, atMs: atMs + rtt / 2, node: to, src: remoteSrc, dst, l4: { proto: "ICMPv4", type: 8 }, subType: 0, point: TraceObservationPoint.TO_ENDPOINT, iface: lxcHealth, direction: TrafficDirection.INGRESS, isReply: false },
    { ...base, atMs: atMs + rtt / 2 + 0.03, node: to, src: dst, dst: remoteSrc, l4: { proto: "ICMPv4", type: 0 }, subType: 4, point: TraceObservationPoint.TO_OVERLAY, iface: vxlan, direction: TrafficDirection.INGRESS, isReply: true },
    { ...base, atMs: atMs + rtt, node: from, src: remoteDst, dst: src, l4: { proto: "ICMPv4", type: 0 }, subType: 0, point: TraceObservationPoint.TO_ENDPOINT, iface: lxcHealth, direction: TrafficDirection.EGRESS, isReply: true },
  ] satisfies FlowSpec[];
};

/** CoreDNS re-establishing its watch on the API server (reserved:kube-apiserver). */
export const apiserverWatch: Scenario = (ctx, atMs) =>
  connect(ctx, { atMs, client: ctx.rand.pick(PODS.coredns), server: KUBE_APISERVER, serverPort: 6443, close: false, serverMs: ctx.rand.between(1, 20) }).flows;

/** CoreDNS forwarding an external name to the upstream resolver (plain UDP, no proxy). */
export const corednsUpstream: Scenario = (ctx, atMs) => {
  const { rand } = ctx;
  const coredns = rand.pick(PODS.coredns);
  const node = coredns.node!;
  const port = rand.ephemeralPort();
  const a = answer(rand, "api.stripe.com.", "A", ctx.dnsTrouble(atMs));
  const base = { verdict: Verdict.FORWARDED, eventType: EventType.trace, node };
  return [
    { ...base, atMs, src: coredns, dst: UPSTREAM_DNS, l4: { proto: "UDP", srcPort: port, dstPort: 53 }, subType: 3, point: TraceObservationPoint.TO_STACK, direction: TrafficDirection.EGRESS, isReply: false },
    { ...base, atMs: atMs + a.latencyMs, src: UPSTREAM_DNS, dst: coredns, l4: { proto: "UDP", srcPort: 53, dstPort: port }, subType: 0, point: TraceObservationPoint.TO_ENDPOINT, direction: TrafficDirection.EGRESS, isReply: true },
  ] satisfies FlowSpec[];
};

/** Drops that are not about policy, including a reason number this project does not know. */
export const datapathTrouble: Scenario = (ctx, atMs) => {
  const { rand } = ctx;
  const fe = rand.pick(PODS.frontend);
  const be = rand.pick(PODS.backend);
  const syn = (dstPort: number) => ({ proto: "TCP" as const, srcPort: rand.ephemeralPort(), dstPort, flags: { SYN: true } });
  const kind = rand.weighted([
    ["ct-full", 4],
    ["stale-ip", 4],
    ["unknown", 2],
  ] as const);
  switch (kind) {
    case "ct-full":
      return [
        datapathDrop(
          { atMs, node: fe.node!, src: fe, dst: be, l4: syn(8080), direction: TrafficDirection.EGRESS, isReply: false, dstService: SERVICES.backend },
          DropReason.CT_MAP_INSERTION_FAILED,
          { name: "bpf_lxc.c", line: 1254 },
        ),
      ];
    case "stale-ip": {
      return [
        datapathDrop(
          { atMs, node: fe.node!, src: fe, dst: STALE_POD, l4: syn(8080), direction: TrafficDirection.EGRESS, isReply: false },
          DropReason.STALE_OR_UNROUTABLE_IP,
          { name: "bpf_lxc.c", line: 1611 },
        ),
      ];
    }
    case "unknown":
      // a reason newer than our proto: must travel (and be stored) as the number 250
      return [
        datapathDrop(
          { atMs, node: be.node!, src: be, dst: PODS.database[0], l4: syn(5432), direction: TrafficDirection.EGRESS, isReply: false },
          250,
          { name: "bpf_host.c", line: 1389 },
        ),
      ];
  }
};

/** A lookup in a zone CoreDNS refuses, after the search-path NXDOMAINs. */
export const dnsRefused: Scenario = (ctx, atMs) => lookup(ctx, ctx.rand.pick(PODS.backend), "legacy-billing.corp.internal", atMs, ["A"]).flows;

/** [scenario, relative frequency]: mostly app traffic, a little of everything else. */
export const SCENARIOS: readonly (readonly [Scenario, number])[] = [
  [apiCall, 30],
  [userRequest, 12],
  [dnsInCluster, 10],
  [kubeletProbe, 10],
  [stripeCall, 5],
  [metricsScrape, 2.5],
  [healthCheck, 3],
  [corednsUpstream, 3],
  [apiserverWatch, 1],
  [blockedEgress, 1.2],
  [deniedAnalytics, 1.2],
  [frontendToDatabase, 1],
  [datapathTrouble, 0.8],
  [dnsRefused, 0.6],
];
