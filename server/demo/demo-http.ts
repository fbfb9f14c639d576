/**
 * HTTP as Hubble sees it when an L7 rule (frontend-to-backend has HTTP rules) sends the traffic
 * through Envoy: an L7 REQUEST flow when the request reaches the proxy and an L7 RESPONSE flow
 * with status code and latency when the answer goes back, both reported by the server's node on
 * ingress. Hubble logs the request headers on both.
 */
import { EventType, FlowType, TrafficDirection, Verdict, type FlowSpec } from "./demo-flow-builder";
import type { DemoRandom } from "./demo-random";
import type { Peer, ServiceInit } from "./demo-topology";

export interface HttpCall {
  /** when the request reaches the proxy */
  atMs: number;
  client: Peer;
  server: Peer;
  clientPort: number;
  serverPort: number;
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  code: number;
  latencyMs: number;
  /** authority the client used, e.g. "backend:8080" */
  authority: string;
  service?: ServiceInit;
  userAgent?: string;
  /** false: the client gave up, no response flow (rare) */
  answered?: boolean;
}

export function httpFlows(rand: DemoRandom, c: HttpCall): FlowSpec[] {
  const node = c.server.node!;
  const url = `http://${c.authority}${c.path}`;
  const headers = [
    { key: "Accept", value: "application/json" },
    ...(c.method === "POST" || c.method === "PUT"
      ? [
          { key: "Content-Length", value: String(rand.int(40, 900)) },
          { key: "Content-Type", value: "application/json" },
        ]
      : []),
    { key: "User-Agent", value: c.userAgent ?? "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)" },
    { key: "X-Request-Id", value: rand.uuid() },
  ];
  const http = { method: c.method, url, protocol: "HTTP/1.1", headers };
  const base = {
    node,
    verdict: Verdict.FORWARDED,
    eventType: EventType.l7,
    flowType: FlowType.L7,
    direction: TrafficDirection.INGRESS,
  };
  const flows: FlowSpec[] = [
    {
      ...base,
      atMs: c.atMs,
      src: c.client,
      dst: c.server,
      l4: { proto: "TCP", srcPort: c.clientPort, dstPort: c.serverPort },
      isReply: false,
      dstService: c.service,
      l7: { type: 1, record: { case: "http", value: { ...http, code: 0 } } },
      summary: `HTTP/1.1 ${c.method} ${url}`,
    },
  ];
  if (c.answered === false) return flows;
  flows.push({
    ...base,
    atMs: c.atMs + c.latencyMs,
    src: c.server,
    dst: c.client,
    l4: { proto: "TCP", srcPort: c.serverPort, dstPort: c.clientPort },
    isReply: true,
    srcService: c.service,
    l7: {
      type: 2,
      latencyNs: BigInt(Math.round(c.latencyMs * 1e6)),
      record: { case: "http", value: { ...http, code: c.code } },
    },
    summary: `HTTP/1.1 ${c.code} ${Math.round(c.latencyMs)}ms (${c.method} ${url})`,
  });
  return flows;
}
