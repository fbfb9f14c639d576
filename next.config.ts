import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Prisma's generated client and the pg driver stay plain Node modules on the server.
  serverExternalPackages: ["@electric-sql/pglite", "@grpc/grpc-js", "pg", "pg-copy-streams", "pino"],
  poweredByHeader: false,
};

export default nextConfig;
