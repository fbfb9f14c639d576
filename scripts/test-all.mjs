#!/usr/bin/env node
// `npm test`: every test (unit, integration on the machine's PostgreSQL and on embedded PGlite, the
// citus project on a Citus cluster it starts when Citus is installed (else skipped, saying why),
// end to end in Chromium). Installs what is missing first, then prints one closing line
// "Tests: N passed, N failed".
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { stdio: "inherit", ...opts });

if (!existsSync("node_modules/.package-lock.json")) {
  if (run("npm", ["ci", "--no-audit", "--no-fund"]).status !== 0) process.exit(1);
}
if (!existsSync("generated/prisma/client.ts")) run("npm", ["exec", "--", "prisma", "generate"]);

const canConnect = (port) =>
  new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => (s.destroy(), resolve(true)));
    s.on("error", () => resolve(false));
  });
if (!process.env.TEST_DATABASE_URL && !(await canConnect(5432))) {
  console.log("PostgreSQL is not running on 127.0.0.1:5432; trying to start it…");
  const versions = existsSync("/etc/postgresql") ? spawnSync("ls", ["/etc/postgresql"]).stdout.toString().trim().split(/\s+/) : [];
  for (const v of versions) run("pg_ctlcluster", ["--skip-systemctl-redirect", v, "main", "start"]);
  if (!(await canConnect(5432))) {
    console.error("PostgreSQL is needed for the tests (127.0.0.1:5432, trust auth, database test), or set TEST_DATABASE_URL.");
    process.exit(1);
  }
}
const chromium = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
if (!existsSync(chromium)) {
  if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
    console.log("Installing Debian's chromium for the browser tests…");
    run("apt-get", ["update", "-qq"]);
    run("apt-get", ["install", "-y", "-qq", "chromium"], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  }
  if (!existsSync(chromium)) {
    console.error(`Chromium is needed for the browser tests: apt-get install -y chromium (or set CHROMIUM_PATH).`);
    process.exit(1);
  }
}

console.log("Type-checking (tsc --noEmit)…");
const typecheck = run(process.execPath, ["node_modules/typescript/bin/tsc", "--noEmit", "-p", "."]);
if (typecheck.status !== 0) console.error("Type errors above: they count as one failed test.");

mkdirSync("test-output", { recursive: true });
const report = "test-output/vitest-report.json";
const r = run(process.execPath, ["node_modules/vitest/vitest.mjs", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)]);
let passed = 0;
let failed = 0;
try {
  const j = JSON.parse(readFileSync(report, "utf8"));
  passed = j.numPassedTests;
  failed = j.numFailedTests + (j.numRuntimeErrorTestSuites ?? 0);
} catch {
  failed = Math.max(failed, 1);
}
if (typecheck.status !== 0) failed += 1;
console.log(`\nTests: ${passed} passed, ${failed} failed`);
process.exit(r.status === 0 && failed === 0 && passed > 0 ? 0 : 1);
