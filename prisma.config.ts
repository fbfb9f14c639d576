import "dotenv/config";
import { fileURLToPath } from "node:url";
import { defineConfig } from "prisma/config";

// Offline: the stock CLI would download the Rust schema-engine; use the wasm-backed stand-in instead.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(
  new URL("./scripts/schema-engine-shim.mjs", import.meta.url),
);

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  // not env("DATABASE_URL"): that throws when unset and breaks `prisma generate`
  datasource: { url: process.env.DATABASE_URL },
});
