/**
 * /metrics names and the HTTP request metrics: default process metrics carry one `flowlens_`
 * prefix (not `flowlens_process_process_…`), every route of app/ has its own label, unknown paths
 * fold into "other", and a real Node HTTP server's answers (200, 503, 404) are counted by code.
 */
import { readdirSync, statSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ROUTES, installHttpMetrics, routeLabel, statusLabel } from "@/server/http-metrics";
import { metrics } from "@/server/metrics";

const APP = path.resolve(import.meta.dirname, "../../app");

/** URL paths of app/'s pages and route handlers ((group) folders do not show in the URL). */
function appRoutes(dir = APP, prefix = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (name.startsWith("_")) continue;
      out.push(...appRoutes(full, /^\(.*\)$/.test(name) ? prefix : `${prefix}/${name}`));
    } else if (name === "page.tsx" || name === "route.ts") out.push(prefix || "/");
  }
  return out;
}

describe("metrics names", () => {
  it("has no doubled prefix and keeps the default process metrics", async () => {
    const text = await metrics().registry.metrics();
    expect(text).not.toMatch(/flowlens_process_process_/);
    expect(text).toMatch(/^flowlens_process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^flowlens_nodejs_heap_size_used_bytes /m);
  });
});

describe("HTTP request metrics", () => {
  it("names every route the app serves", () => {
    expect([...appRoutes()].sort()).toEqual([...ROUTES].sort());
  });

  it("folds any other path into a bounded label set", () => {
    expect(routeLabel("/api/flows?since=1h")).toBe("/api/flows");
    expect(routeLabel("/drops/")).toBe("/drops");
    expect(routeLabel("/_next/static/chunks/x.js")).toBe("/_next");
    expect(routeLabel("/wp-login.php")).toBe("other");
    fc.assert(
      fc.property(fc.string(), (p) => {
        const l = routeLabel(p);
        expect(l === "other" || l === "/_next" || (ROUTES as readonly string[]).includes(l)).toBe(true);
      }),
    );
    expect(statusLabel(503)).toBe("503");
    expect(statusLabel(undefined)).toBe("0");
  });

  it("counts a real server's responses by route, method and code", async () => {
    installHttpMetrics();
    const server = http.createServer((req, res) => {
      res.statusCode = req.url?.startsWith("/api/status") ? 503 : req.url === "/flows" ? 200 : 404;
      res.end("x");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const before = await metrics().registry.getSingleMetricAsString("flowlens_http_requests_total");
    const count = (text: string, labels: string) => Number(new RegExp(`^flowlens_http_requests_total\\{${labels}\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
    for (const p of ["/flows", "/flows", "/api/status?x=1", "/nope"]) await (await fetch(`http://127.0.0.1:${port}${p}`)).text();
    await new Promise<void>((r) => server.close(() => r()));
    const after = await metrics().registry.getSingleMetricAsString("flowlens_http_requests_total");
    expect(count(after, 'route="/flows",method="GET",code="200"') - count(before, 'route="/flows",method="GET",code="200"')).toBe(2);
    expect(count(after, 'route="/api/status",method="GET",code="503"') - count(before, 'route="/api/status",method="GET",code="503"')).toBe(1);
    expect(count(after, 'route="other",method="GET",code="404"') - count(before, 'route="other",method="GET",code="404"')).toBe(1);
    const seconds = await metrics().registry.getSingleMetricAsString("flowlens_http_request_duration_seconds");
    expect(seconds).toMatch(/flowlens_http_request_duration_seconds_count\{route="\/flows",method="GET"\} [1-9]/);
  });
});
