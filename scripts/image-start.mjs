// The container image's entry (Dockerfile CMD): the same listening rule as `npm start`
// (scripts/bind-address.mjs, docs/security.md) before Next's standalone server starts. The image
// listens on HOSTNAME (0.0.0.0 in a pod); without sign-in configured that is refused unless
// FLOWLENS_AUTH=off says so on purpose, and then warned about at every start.
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bindAddress } from "./bind-address.mjs";

const bind = bindAddress({ ...process.env, HOST: process.env.HOST ?? process.env.HOSTNAME });
if ("error" in bind) {
  console.error(`flowlens: ${bind.error}`);
  process.exit(2);
}
process.env.HOSTNAME = bind.host;
process.env.FLOWLENS_BIND = bind.host;
if (bind.warning) console.warn(`flowlens: WARNING ${bind.warning}`);
else if (bind.auth === "local") console.log(`flowlens: no sign-in configured: listening on ${bind.host} only (docs/security.md)`);
await import(pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "server.js")).href);
