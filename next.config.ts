import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Prisma's generated client and the pg driver stay plain Node modules on the server.
  // grpc-health-check reads its .proto files next to its own code: it must not be bundled.
  serverExternalPackages: ["@electric-sql/pglite", "@grpc/grpc-js", "grpc-health-check", "pg", "pg-copy-streams", "pino"],
  poweredByHeader: false,
  // the build checks the app's code; tests and benchmarks are checked by `npm run typecheck`
  typescript: { tsconfigPath: "tsconfig.next.json" },
};

export default nextConfig;
