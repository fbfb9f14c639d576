/**
 * HTTP request metrics for every page and API route, taken from Node's own `http.server.*`
 * diagnostics channels: Next.js has no hook that sees a response's status for pages and route
 * handlers alike, and wrapping each route would miss the pages and the 500s Next answers itself.
 * Paths are folded into a fixed set of route names so a scanner probing random URLs cannot grow
 * the label set.
 */
import dc from "node:diagnostics_channel";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Counter, Histogram } from "prom-client";
import { metrics } from "./metrics";

/** Every route the app serves (a unit test checks this against app/). */
export const ROUTES = [
  "/",
  "/flows",
  "/map",
  "/drops",
  "/policies",
  "/dns",
  "/metrics",
  "/api/flows",
  "/api/live",
  "/api/graph",
  "/api/drops",
  "/api/policies",
  "/api/policies/diff",
  "/api/policies/suggest",
  "/api/status",
  "/api/status/events",
  "/api/quarantine",
  "/api/healthz",
  "/api/readyz",
  "/api/dns",
  "/api/dns/summary",
] as const;

const KNOWN = new Set<string>(ROUTES);

/** The route label of a request path: a known route, "/_next" for Next's assets, else "other". */
export function routeLabel(url: string | undefined): string {
  const path = (url ?? "").split("?")[0].replace(/\/+$/, "") || "/";
  if (KNOWN.has(path)) return path;
  if (path.startsWith("/_next/")) return "/_next";
  return "other";
}

/** Status code as a label: the exact code (a bounded set), 0 when the connection ended without one. */
export function statusLabel(code: number | undefined): string {
  return Number.isInteger(code) && code! >= 100 && code! <= 599 ? String(code) : "0";
}

interface HttpMetrics {
  requests: Counter<"route" | "method" | "code">;
  seconds: Histogram<"route" | "method">;
}

const KEY = Symbol.for("flowlens.http-metrics");
type G = typeof globalThis & { [KEY]?: HttpMetrics };

function httpMetrics(): HttpMetrics {
  const g = globalThis as G;
  if (!g[KEY]) {
    const registers = [metrics().registry];
    g[KEY] = {
      requests: new Counter({
        name: "flowlens_http_requests_total",
        help: "HTTP requests answered, by route, method and status code (5xx: code=~\"5..\")",
        labelNames: ["route", "method", "code"],
        registers,
      }),
      seconds: new Histogram({
        name: "flowlens_http_request_duration_seconds",
        help: "Time from request to the end of the response (streams and SSE: until they end)",
        labelNames: ["route", "method"],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers,
      }),
    };
  }
  return g[KEY];
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Counts one finished response (exported for tests). */
export function recordResponse(req: Pick<IncomingMessage, "method" | "url">, res: Pick<ServerResponse, "statusCode">, seconds?: number): void {
  const m = httpMetrics();
  const route = routeLabel(req.url);
  const method = METHODS.has(req.method ?? "") ? req.method! : "other";
  m.requests.inc({ route, method, code: statusLabel(res.statusCode) });
  if (seconds !== undefined) m.seconds.observe({ route, method }, seconds);
}

/** Subscribes once per process; requests served by this process's HTTP server are counted from then on. */
export function installHttpMetrics(): void {
  const FLAG = Symbol.for("flowlens.http-metrics.installed");
  const g = globalThis as typeof globalThis & { [FLAG]?: boolean };
  if (g[FLAG]) return;
  g[FLAG] = true;
  httpMetrics();
  const started = new WeakMap<object, bigint>();
  dc.subscribe("http.server.request.start", (msg) => {
    const { request } = msg as { request: IncomingMessage };
    started.set(request, process.hrtime.bigint());
  });
  dc.subscribe("http.server.response.finish", (msg) => {
    const { request, response } = msg as { request: IncomingMessage; response: ServerResponse };
    const t0 = started.get(request);
    recordResponse(request, response, t0 === undefined ? undefined : Number(process.hrtime.bigint() - t0) / 1e9);
  });
}
