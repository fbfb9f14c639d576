#!/usr/bin/env node
// npm run fix-lock — run after `npm install <pkg>`: this registry does not serve some of Next's
// platform binaries, so npm leaves them out of the lock and `npm ci` then refuses it.
// Adds lock entries for optional platform packages this registry does not serve (npm skips them on
// Linux by os/cpu without fetching, but `npm ci` wants every optional dependency listed).
import { readFileSync, writeFileSync } from "node:fs";
const file = process.argv[2] ?? "package-lock.json";
const lock = JSON.parse(readFileSync(file, "utf8"));
const platform = {
  "darwin-arm64": { os: ["darwin"], cpu: ["arm64"] },
  "darwin-x64": { os: ["darwin"], cpu: ["x64"] },
  "win32-arm64-msvc": { os: ["win32"], cpu: ["arm64"] },
  "win32-x64-msvc": { os: ["win32"], cpu: ["x64"] },
};
let added = 0;
for (const [path, pkg] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key] || lock.packages[`${path}/node_modules/${name}`]) continue;
    const m = /^@next\/swc-(.+)$/.exec(name);
    if (!m || !platform[m[1]]) continue;
    lock.packages[key] = { version, ...platform[m[1]], license: "MIT", optional: true, engines: { node: ">= 10" } };
    added++;
  }
}
writeFileSync(file, JSON.stringify(lock, null, 2) + "\n");
console.log(`added ${added} lock entries`);
