import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Prisma's generated client and the pg driver stay plain Node modules on the server.
  // grpc-health-check reads its .proto files next to its own code: it must not be bundled.
  serverExternalPackages: ["@electric-sql/pglite", "@grpc/grpc-js", "grpc-health-check", "pg", "pg-copy-streams", "pino"],
  poweredByHeader: false,
  // The container image's build (scripts/build-standalone.mjs) asks for the standalone server; `npm
  // start` keeps the plain build, which `next start` serves.
  // Its root is the folder it builds in, wherever that sits (the test builds a copy inside test-output/).
  ...(process.env.FLOWLENS_BUILD_STANDALONE === "1"
    ? { output: "standalone", outputFileTracingRoot: process.cwd(), turbopack: { root: process.cwd() } }
    : {}),
  // the build checks the app's code; tests and benchmarks are checked by `npm run typecheck`
  typescript: { tsconfigPath: "tsconfig.next.json" },
};

export default nextConfig;
