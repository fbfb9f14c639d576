/**
 * The clients of `npm run bench:load` and what it reads from /proc: SSE viewers that keep only
 * which flows they got (by index) and what was announced as skipped, /api/flows pollers, and the
 * CPU and RSS of the server's process tree.
 */
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import http from "node:http";
import { parseRfc3339Ns } from "@/server/domain/shared/time";
import { freePort, ROOT, type AppServer } from "../tests/e2e/app-server";
import { indexOfKey } from "./load-flows";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------- server process tree RSS ----------
export function treeRss(root: number, countRoot: boolean): number {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      (children.get(ppid) ?? children.set(ppid, []).get(ppid)!).push(Number(d));
    } catch {
      // gone
    }
  }
  let total = 0;
  const walk = (pid: number, isRoot: boolean) => {
    // scripts/start.mjs is a launcher: count the server under it
    if (!isRoot || countRoot) {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
        if (m) total += Number(m[1]) * 1024;
      } catch {
        // gone
      }
    }
    for (const c of children.get(pid) ?? []) walk(c, false);
  };
  walk(root, true);
  return total;
}

/** `next start` itself (no launcher) under the CPU profiler; the profile is written when it exits. */
export async function startProfiled(extra: Record<string, string>, dir: string): Promise<AppServer> {
  const port = await freePort();
  const env = { ...process.env, FLOWLENS_GRPC_ADDR: "127.0.0.1:0", ...extra, PORT: String(port), NEXT_TELEMETRY_DISABLED: "1", NEXT_MANUAL_SIG_HANDLE: "1" };
  const child = spawn(process.execPath, ["--cpu-prof", "--cpu-prof-dir", dir, "node_modules/next/dist/bin/next", "start", "-p", String(port)], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const base = `http://127.0.0.1:${port}`;
  for (const end = Date.now() + 120_000; ; ) {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`next start did not come up:\n${out.slice(-3000)}`);
    if (await fetch(`${base}/api/status`).then((r) => r.ok, () => false)) break;
    await sleep(300);
  }
  return {
    url: base,
    pid: child.pid!,
    logs: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once("exit", (code) => resolve(code));
        child.kill("SIGTERM");
      }),
    kill: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}

/** CPU seconds (user + system) used so far by a process and its descendants. */
export function treeCpu(root: number): number {
  let ticks = 0;
  const children = new Map<number, number[]>();
  const own = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      (children.get(Number(f[1])) ?? children.set(Number(f[1]), []).get(Number(f[1]))!).push(Number(d));
      own.set(Number(d), Number(f[11]) + Number(f[12]));
    } catch {
      // gone
    }
  }
  const walk = (pid: number) => {
    ticks += own.get(pid) ?? 0;
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return ticks / 100;
}

// ---------- SSE viewers ----------
const FLOW_PREFIX = Buffer.from('event: flow\ndata: {"key":"', "latin1");

export interface Span {
  count: number;
  reason: string;
  first: number;
  last: number;
}

export class Viewer {
  received = 0;
  outside = 0;
  duplicates = 0;
  readonly got: Uint8Array;
  readonly spans: Span[] = [];
  connected = false;
  closedAt?: number;
  closedEarly = false;
  private req?: http.ClientRequest;
  private res?: http.IncomingMessage;

  constructor(
    readonly query: string,
    readonly stalled: boolean,
    private readonly from: number,
    size: number,
    /** flow i was sent with time startNs + i × stepNs */
    private readonly time: { startNs: bigint; stepNs: bigint },
  ) {
    this.got = new Uint8Array(stalled ? 0 : size);
  }

  start(base: string): void {
    this.req = http.get(`${base}/api/live${this.query ? `?${this.query}` : ""}`, (res) => {
      this.res = res;
      res.on("close", () => (this.closedAt ??= Date.now()));
      res.on("error", () => (this.closedAt ??= Date.now()));
      if (this.stalled) {
        this.connected = true;
        res.pause(); // and never read: the server must bound what it holds for us
        return;
      }
      let buf: Buffer = Buffer.alloc(0);
      res.on("data", (chunk: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        let start = 0;
        for (;;) {
          const end = buf.indexOf("\n\n", start);
          if (end < 0) break;
          this.event(buf, start, end);
          start = end + 2;
        }
        buf = buf.subarray(start);
      });
    });
    this.req.on("error", () => (this.closedAt ??= Date.now()));
  }

  private event(buf: Buffer, start: number, end: number): void {
    // `event: flow\ndata: {"key":"<36 chars>"…`: only the key matters here
    if (end - start > FLOW_PREFIX.length + 36 && buf.compare(FLOW_PREFIX, 0, FLOW_PREFIX.length, start, start + FLOW_PREFIX.length) === 0) {
      const k = start + FLOW_PREFIX.length;
      const i = indexOfKey(buf.toString("latin1", k, k + 36));
      const j = i - this.from;
      if (j < 0 || j >= this.got.length) this.outside++;
      else if (this.got[j]) this.duplicates++;
      else (this.got[j] = 1), this.received++;
      return;
    }
    const text = buf.toString("utf8", start, end);
    if (text.startsWith(":")) {
      if (text.startsWith(": connected")) this.connected = true;
      return;
    }
    if (text.startsWith("event: skipped\n")) {
      const d = JSON.parse(text.slice(text.indexOf("data: ") + 6)) as { count: number; reason: string; first: string; last: string };
      const t = (s: string) => {
        const r = parseRfc3339Ns(s);
        if (!r.ok) throw new Error(`bad time in skipped: ${s}`);
        return Number((r.value - this.time.startNs) / this.time.stepNs);
      };
      this.spans.push({ count: d.count, reason: d.reason, first: t(d.first), last: t(d.last) });
    }
  }

  stop(): void {
    this.closedEarly = this.closedAt !== undefined;
    this.req?.destroy();
    this.res?.destroy();
  }
}

// ---------- pollers ----------
export async function poller(base: string, query: string, until: () => boolean, latencies: number[], errors: { n: number }): Promise<void> {
  while (!until()) {
    const t0 = performance.now();
    try {
      const res = await fetch(`${base}/api/flows?limit=100${query ? `&${query}` : ""}`);
      await res.arrayBuffer();
      if (res.ok) latencies.push(performance.now() - t0);
      else errors.n++;
    } catch {
      errors.n++;
    }
    await sleep(Math.max(0, 1000 - (performance.now() - t0)));
  }
}

export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

