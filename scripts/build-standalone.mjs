#!/usr/bin/env node
// `node scripts/build-standalone.mjs OUT`: the app folder of the container image. Runs `next build`
// with standalone output (only the packages the server traces, no dev dependencies) and adds
// what the server reads from its working directory at run time: the static assets, the migrations
// it applies at start and the recorded samples of the demo cluster. The Dockerfile runs it, and so
// does tests/e2e/standalone-image.test.ts, which then runs OUT read-only as a non-root user.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = process.argv[2] ? path.resolve(process.argv[2]) : null;
if (!out) {
  console.error("usage: node scripts/build-standalone.mjs OUT_DIR");
  process.exit(2);
}
process.chdir(root);

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, {
    stdio: "inherit",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", FLOWLENS_BUILD_STANDALONE: "1" },
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
if (!existsSync("generated/prisma/client.ts")) run(npm, ["exec", "--", "prisma", "generate"]);
run(process.execPath, ["node_modules/next/dist/bin/next", "build"]);

const standalone = path.join(".next", "standalone");
if (!existsSync(path.join(standalone, "server.js"))) {
  console.error(`${standalone}/server.js is missing: next.config.ts must set output "standalone" when FLOWLENS_BUILD_STANDALONE=1`);
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
cpSync(standalone, out, { recursive: true, verbatimSymlinks: true });
cpSync(path.join(".next", "static"), path.join(out, ".next", "static"), { recursive: true });
if (existsSync("public")) cpSync("public", path.join(out, "public"), { recursive: true });
// read from the working directory at run time (server/db/migrate.ts, server/demo/recorded-flows.ts)
cpSync(path.join("prisma", "migrations"), path.join(out, "prisma", "migrations"), { recursive: true });
cpSync("samples", path.join(out, "samples"), { recursive: true });
// the image's entry: the listening rule of `npm start` (bind-address.mjs), then server.js
mkdirSync(path.join(out, "scripts"), { recursive: true });
for (const f of ["image-start.mjs", "bind-address.mjs"]) cpSync(path.join("scripts", f), path.join(out, "scripts", f));
// a build's cache is not the image's: the server writes its own into a volume
rmSync(path.join(out, ".next", "cache"), { recursive: true, force: true });
console.log(`flowlens: standalone app in ${out} (run: cd ${out} && node scripts/image-start.mjs)`);
