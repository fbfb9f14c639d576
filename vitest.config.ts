import path from "node:path";
import { defineConfig } from "vitest/config";

const alias = { "@": path.resolve(import.meta.dirname) };

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      // generous: CI shares 2 cores with PostgreSQL and builds
      { resolve: { alias }, test: { name: "unit", include: ["tests/unit/**/*.test.ts"], environment: "node", testTimeout: 30_000 } },
      {
        resolve: { alias },
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        // the integration suite's API and round-trip cases, and the layout's own tests, on a real
        // Citus cluster (coordinator + 2 workers) started once for the run by the globalSetup;
        // skipped with the reason when Citus is not installed (../shared/citus/build.sh)
        resolve: { alias },
        test: {
          name: "citus",
          // and the drops/policies, DNS and gRPC history files of the integration suite, run again on Citus
          include: ["tests/citus/**/*.test.ts", "tests/integration/drops-api.test.ts", "tests/integration/dns-api.test.ts", "tests/integration/grpc-flows.test.ts"],
          provide: { storeKind: "citus" },
          environment: "node",
          globalSetup: ["tests/fixtures/citus-cluster.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        resolve: { alias },
        test: {
          name: "e2e",
          include: ["tests/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
