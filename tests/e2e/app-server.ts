/**
 * End-to-end harness: runs the product exactly as the README says (`npm start`, i.e.
 * scripts/start.mjs) on a free port with a fresh embedded store and the built-in demo cluster,
 * and drives Debian's Chromium with playwright-core (nothing downloads a browser).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const OUTPUT = path.join(ROOT, "test-output", "e2e");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

export interface AppServer {
  url: string;
  /** process id of scripts/start.mjs (the server runs under it) */
  pid: number;
  logs: () => string;
  /** SIGTERM; resolves with the exit code */
  stop(): Promise<number | null>;
  /** SIGKILL to the whole process group (npm start and the Next server it runs): a crash */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** an existing embedded store to open (kept afterwards); default a fresh one, removed on stop */
  dataDir?: string;
  /** the port to listen on (default a free one): for a public URL known before the start */
  port?: number;
}

export async function startApp(extraEnv: Record<string, string> = {}, opts: StartOptions = {}): Promise<AppServer> {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), "flowlens-e2e-"));
  const removeData = () => {
    if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  // FLOWLENS_GRPC_ADDR: a free port, never the fixed 4246 (tests run in parallel); /api/status tells which
  const env: Record<string, string | undefined> = { ...process.env, PORT: String(port), FLOWLENS_DATA_DIR: dataDir, LOG_LEVEL: "warn", FLOWLENS_GRPC_ADDR: "127.0.0.1:0", ...extraEnv };
  // the embedded store and the demo cluster, unless the caller names a database or a Relay
  if (!("DATABASE_URL" in extraEnv)) delete env.DATABASE_URL;
  if (!("HUBBLE_SERVER" in extraEnv)) delete env.HUBBLE_SERVER;
  delete env.NODE_ENV;
  delete env.VITEST;
  let out = "";
  // its own process group, so a crash can take npm start and the Next server down together
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, "scripts/start.mjs")], {
    cwd: ROOT,
    env: env as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 540_000; // includes a `next build` on a fresh checkout
  for (;;) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${out.slice(-4000)}`);
    if (Date.now() > deadline) throw new Error(`npm start did not answer on ${url}:\n${out.slice(-4000)}`);
    try {
      const r = await fetch(`${url}/api/status`);
      // 401: up, with sign-in required
      if (r.ok || r.status === 401) break;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    url,
    pid: child.pid!,
    logs: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once("exit", (code) => {
          removeData();
          resolve(code);
        });
        child.kill("SIGTERM");
      }),
    kill: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        process.kill(-child.pid!, "SIGKILL");
      }),
  };
}

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(OUTPUT, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export async function waitForJson<T>(url: string, ok: (v: T) => boolean, what: string, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) {
        const v = (await r.json()) as T;
        if (ok(v)) return v;
      }
    } catch {
      // retry
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface ChromiumApp {
  /** the app's base URL */
  url: string;
  page: Page;
}

/**
 * For a test file: `npm start` (or the Flowlens at FLOWLENS_E2E_URL), Chromium and one page of the
 * given size before the tests, then `ready()` (waiting for the demo data a file needs); after
 * them the browser closes and the app must stop cleanly (exit code 0 on SIGTERM).
 */
export function useChromiumApp(viewport: { width: number; height: number }, ready?: () => Promise<void>): ChromiumApp {
  const ui = {} as ChromiumApp;
  let app: AppServer | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (process.env.FLOWLENS_E2E_URL) ui.url = process.env.FLOWLENS_E2E_URL;
    else {
      app = await startApp();
      ui.url = app.url;
    }
    browser = await launchBrowser();
    ui.page = await browser.newPage({ viewport });
    await ready?.();
  });
  afterAll(async () => {
    await browser?.close();
    if (app) expect(await app.stop()).toBe(0);
  });
  return ui;
}
