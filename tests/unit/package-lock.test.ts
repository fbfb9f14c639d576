import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";

// `npm ci` refuses a lock that lacks an optional dependency; this registry does not serve Next's
// darwin/win32 binaries, so `npm install` drops them. `npm run fix-lock` puts them back.
it("lists every optional platform package, so npm ci accepts the lock", () => {
  const lock = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../package-lock.json"), "utf8"));
  const missing: string[] = [];
  for (const [at, pkg] of Object.entries<{ optionalDependencies?: Record<string, string> }>(lock.packages)) {
    for (const name of Object.keys(pkg.optionalDependencies ?? {})) {
      if (!name.startsWith("@next/swc-")) continue;
      if (!lock.packages[`node_modules/${name}`] && !lock.packages[`${at}/node_modules/${name}`]) missing.push(name);
    }
  }
  expect(missing, "run `npm run fix-lock`").toEqual([]);
});
