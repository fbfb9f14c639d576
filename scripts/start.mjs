#!/usr/bin/env node
// `npm start`: one command from a fresh clone to a running Flowlens. Installs dependencies if they
// are missing, builds when the sources are newer than the last build, then runs `next start`.
// With no HUBBLE_SERVER it runs the built-in demo cluster; with no DATABASE_URL it keeps its data
// in embedded PostgreSQL (PGlite) under FLOWLENS_DATA_DIR (default ./.data).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bindAddress } from "./bind-address.mjs";

const bind = bindAddress(process.env);
if ("error" in bind) {
  console.error(`flowlens: ${bind.error}`);
  process.exit(2);
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const run = (cmd, args, env = process.env) => {
  const r = spawnSync(cmd, args, { stdio: "inherit", env });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

if (!existsSync("node_modules/.package-lock.json")) {
  console.log("flowlens: installing dependencies (npm ci)…");
  run(npm, ["ci", "--no-audit", "--no-fund"]);
}
if (!existsSync("generated/prisma/client.ts")) run(npm, ["exec", "--", "prisma", "generate"]);

function newest(p) {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  let t = s.mtimeMs;
  for (const e of readdirSync(p)) if (e !== "node_modules" && !e.startsWith(".")) t = Math.max(t, newest(path.join(p, e)));
  return t;
}
const sources = ["app", "server", "proto", "prisma", "generated", "instrumentation.ts", "next.config.ts", "package-lock.json", "tsconfig.json"];
const built = existsSync(".next/BUILD_ID") ? statSync(".next/BUILD_ID").mtimeMs : 0;
if (Math.max(...sources.map(newest)) > built) {
  console.log("flowlens: building (next build)…");
  run(npm, ["exec", "--", "next", "build"], { ...process.env, NEXT_TELEMETRY_DISABLED: "1" });
}

const port = process.env.PORT || "3000";
const env = {
  ...process.env,
  PORT: port,
  NEXT_TELEMETRY_DISABLED: "1",
  // our own SIGTERM handler drains the ingest and closes the store before exiting (server/runtime.ts)
  NEXT_MANUAL_SIG_HANDLE: "1",
  FLOWLENS_DATA_DIR: path.resolve(process.env.FLOWLENS_DATA_DIR || ".data"),
  // for the server's start log and the header (server/auth/auth-settings.ts)
  FLOWLENS_BIND: bind.host,
};
if (bind.warning) console.warn(`flowlens: WARNING ${bind.warning}`);
else if (bind.auth === "local") console.log(`flowlens: no sign-in configured: listening on ${bind.host} only (docs/security.md)`);
const child = spawn(process.execPath, [path.join("node_modules", "next", "dist", "bin", "next"), "start", "-p", port, "-H", bind.host], { stdio: "inherit", env });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));

// Tell the user where to look once the API answers.
const local = bind.host === "0.0.0.0" || bind.host === "::" ? "127.0.0.1" : bind.host.replace(/^\[?(.*?)\]?$/, (m, h) => (h.includes(":") ? `[${h}]` : h));
const url = `http://${bind.host === "127.0.0.1" ? "localhost" : local}:${port}`;
const probe = `http://${local}:${port}`;
const deadline = Date.now() + 120_000;
(async function announce() {
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const r = await fetch(`${probe}/api/status`);
      if (r.status === 401) {
        console.log(`\n  Flowlens is running: ${process.env.FLOWLENS_PUBLIC_URL || url}/flows (sign-in required)\n`);
        return;
      }
      if (r.ok) {
        const s = await r.json();
        const where = s.relay.state === "demo" || !process.env.HUBBLE_SERVER ? "the built-in demo cluster" : `Relay ${s.relay.address}`;
        const store = s.storage.kind === "embedded" ? `embedded PostgreSQL in ${env.FLOWLENS_DATA_DIR}` : "PostgreSQL (DATABASE_URL)";
        console.log(`\n  Flowlens is running: ${url}/flows\n  flows from ${where}, stored in ${store}\n`);
        return;
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
})();
