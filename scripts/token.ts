/**
 * npm run token -- create --role auditor --namespaces shop,payments [--name grafana] [--expires 90d]
 * npm run token -- list
 * npm run token -- revoke <id>
 *
 * Manages API tokens in the store Flowlens uses (DATABASE_URL, else the embedded store in
 * FLOWLENS_DATA_DIR). The token is printed once; only its sha256 is stored. The embedded store is one
 * process's at a time: stop Flowlens first, or use the admin page (/admin/tokens).
 */
import { parseArgs } from "node:util";
import { loadConfig } from "@/server/config";
import { openDatabase } from "@/server/db/connection";
import { authRepoFor } from "@/server/db/auth-repo";
import { applyMigrations } from "@/server/db/migrate";
import { parseTokenInput, splitNamespaces } from "@/server/domain/auth/token-input";

const USAGE = `usage:
  npm run token -- create --role viewer|auditor|admin --namespaces shop,payments|'*' [--name NAME] [--expires 90d]
  npm run token -- list
  npm run token -- revoke ID`;

function fail(message: string): never {
  console.error(`token: ${message}\n${USAGE}`);
  process.exit(2);
}

async function embeddedInUse(port: string): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/api/status`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { role: { type: "string" }, namespaces: { type: "string" }, name: { type: "string" }, expires: { type: "string" } },
  });
  const [command, arg] = positionals;
  if (!command || !["create", "list", "revoke"].includes(command)) fail(`unknown command ${JSON.stringify(command ?? "")}`);
  let input: ReturnType<typeof parseTokenInput> | undefined;
  if (command === "create") {
    input = parseTokenInput({
      name: values.name ?? `${values.role ?? "token"} ${values.namespaces ?? ""}`.trim(),
      role: values.role,
      namespaces: splitNamespaces(values.namespaces ?? ""),
      expires: values.expires,
    });
    if (!input.ok) fail(input.error.replace(/^(\w+):/, "--$1:"));
  }
  if (command === "revoke" && !/^[1-9]\d{0,8}$/.test(arg ?? "")) fail("revoke: give the token's id (see `npm run token -- list`)");

  const config = loadConfig();
  if (!config.DATABASE_URL && (await embeddedInUse(process.env.PORT || "3000"))) {
    fail(`Flowlens is running with its embedded store (${config.FLOWLENS_DATA_DIR}), which one process opens at a time: stop it first, or create the token on /admin/tokens`);
  }
  const db = await openDatabase({ url: config.DATABASE_URL, dataDir: config.FLOWLENS_DATA_DIR, apiPoolMax: 1, ingestPoolMax: 1 });
  try {
    await applyMigrations(db);
    const repo = authRepoFor(db);
    const actor = `cli:${process.env.USER ?? "unknown"}`;
    if (command === "create" && input?.ok) {
      const { name, role, namespaces, expires } = input.value;
      const { token, row } = await repo.createToken({ name, role, namespaces, createdBy: actor, expiresAt: expires === null ? null : new Date(Date.now() + expires) });
      await repo.audit(actor, "token-created", { tokenId: row.id, name, role, namespaces, expiresAt: row.expiresAt });
      console.log(`token ${row.id} "${row.name}": role ${row.role}, namespaces ${row.namespaces.join(",")}${row.expiresAt ? `, expires ${row.expiresAt}` : ""}`);
      console.log("send it as  Authorization: Bearer <token>  (shown only now; only its hash is stored):\n");
      console.log(token);
    } else if (command === "list") {
      for (const t of await repo.tokens()) {
        const state = t.revokedAt ? `revoked ${t.revokedAt}` : t.expiresAt && Date.parse(t.expiresAt) < Date.now() ? `expired ${t.expiresAt}` : "active";
        console.log(`${t.id}\t${t.name}\t${t.role}\t${t.namespaces.join(",")}\t${state}\tlast used ${t.lastUsedAt ?? "never"}`);
      }
    } else if (command === "revoke") {
      const ok = await repo.revokeToken(Number(arg));
      if (!ok) fail(`no token ${arg}, or it is already revoked`);
      await repo.audit(actor, "token-revoked", { tokenId: Number(arg) });
      console.log(`token ${arg} revoked`);
    }
  } finally {
    await db.close();
  }
}

main().catch((e) => {
  console.error(`token: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
