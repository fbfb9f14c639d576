# syntax=docker/dockerfile:1
# Flowlens image: Next.js standalone server, migrations applied at start, non-root, read-only root
# filesystem. Build:  docker build -t flowlens:0.1.0 .   (or podman: npm run image:check)
# Run (demo cluster, embedded store, no sign-in: FLOWLENS_AUTH=off, or it exits with code 2):
#   docker run -p 3000:3000 -e FLOWLENS_AUTH=off -v flowlens-data:/data flowlens:0.1.0
# Kubernetes: deploy/ and docs/deploy.md.
ARG NODE_IMAGE=node:20-bookworm-slim

# --- dependencies: every package (the build needs the dev ones); postinstall generates the Prisma client
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund

# --- build: `next build` with standalone output, assembled into /out by the same script the
# tests run (tests/e2e/standalone-image.test.ts)
FROM deps AS build
COPY . .
RUN node scripts/build-standalone.mjs /out

# --- runtime: the standalone server and only the packages it traces (no dev dependencies, no npm
# install), owned by root and not writable by the user that runs it
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1 \
    NEXT_MANUAL_SIG_HANDLE=1 \
    PORT=3000 \
    HOSTNAME=0.0.0.0 \
    FLOWLENS_DATA_DIR=/data
WORKDIR /app
RUN groupadd --system --gid 10001 flowlens \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin flowlens
COPY --from=build /out /app
# the only places it writes (with a read-only root filesystem these become volumes)
RUN mkdir -p /data /app/.next/cache && chown 10001:10001 /data /app/.next/cache
USER 10001:10001
# HTTP (pages, API, /metrics) and the Observer gRPC API (FLOWLENS_GRPC_ADDR)
EXPOSE 3000 4246
# the embedded store, used when DATABASE_URL is unset; with a read-only root filesystem mount a
# volume here, an emptyDir on /tmp, and one on /app/.next/cache
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# the listening rule of `npm start` (no sign-in → loopback only unless FLOWLENS_AUTH=off), then server.js
CMD ["node", "scripts/image-start.mjs"]
