/**
 * Environment configuration, validated once with zod. Names follow the hubble CLI for the Relay
 * (HUBBLE_SERVER, HUBBLE_TLS*) so an existing `hubble observe` setup carries over.
 */
import { z } from "zod";
import { citusModeOf, DEFAULT_SHARD_COUNT } from "./db/citus";
import { parseDurationMs } from "./domain/shared/time";

export { parseDurationMs };

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no", ""])
  .optional()
  .transform((v) => v === "true" || v === "1" || v === "yes");

const files = z
  .string()
  .optional()
  .transform((v) => (v ? v.split(/[,:\s]+/).filter(Boolean) : []));

const retention = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v === "") return 7 * 86400e3;
    if (v === "off" || v === "0") return null;
    const ms = parseDurationMs(v);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: `"${v}" is not a duration like 7d, 36h or "off"` });
      return z.NEVER;
    }
    return ms;
  });

const queryTimeout = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v === "") return 30_000;
    if (v === "off" || v === "0") return null;
    const ms = parseDurationMs(v);
    if (ms === undefined || ms < 1) {
      ctx.addIssue({ code: "custom", message: `"${v}" is not a duration like 30s, 2m or "off"` });
      return z.NEVER;
    }
    return Math.round(ms);
  });

const leaseTtl = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v === "") return 6_000;
    const ms = parseDurationMs(v);
    if (ms === undefined || ms < 2_000 || ms > 600_000) {
      ctx.addIssue({ code: "custom", message: `"${v}" is not a duration between 2s and 10m like 6s` });
      return z.NEVER;
    }
    return Math.round(ms);
  });

const address = (what: string) =>
  z
    .string()
    .optional()
    .transform((v) => v?.trim() || undefined)
    .refine((v) => v === undefined || /^(unix:\S+|\[[0-9a-fA-F:.]+\]:\d{1,5}|[^\s:/\[\]]+:\d{1,5})$/.test(v), {
      message: `expected host:port (e.g. ${what}), [ipv6]:port or unix:///path`,
    });

const schema = z.object({
  HUBBLE_SERVER: address("localhost:4245"),
  /**
   * per-node ingest: the Peer service listing the nodes (Cilium's hubble-peer service,
   * hubble-peer.kube-system.svc:443); default HUBBLE_SERVER
   */
  HUBBLE_PEER_SERVER: address("hubble-peer.kube-system.svc:443"),
  /** what this process does: all (one process), web (pages, API, SSE, gRPC re-serve) or ingest */
  FLOWLENS_ROLE: z.enum(["all", "ingest", "web"]).default("all"),
  /** relay: one GetFlows stream from HUBBLE_SERVER; per-node: one stream per agent (Peer service) */
  FLOWLENS_INGEST: z.enum(["relay", "per-node"]).default("relay"),
  /** PostgreSQL: an ingest lease not renewed for this long is taken over by another replica */
  FLOWLENS_LEASE_TTL: leaseTtl,
  /** this replica's name in the lease table; default hostname-pid-random (HOSTNAME is the pod's name) */
  FLOWLENS_INSTANCE: z
    .string()
    .optional()
    .transform((v) => v?.trim() || undefined)
    .refine((v) => v === undefined || /^[\x21-\x7e]{1,200}$/.test(v), { message: "expected up to 200 printable characters without spaces" }),
  /** port of an agent's Hubble server when a Peer notification names only its IP */
  FLOWLENS_AGENT_PORT: z.coerce.number().int().min(1).max(65535).default(4244),
  HUBBLE_TLS: bool,
  HUBBLE_TLS_ALLOW_INSECURE: bool,
  HUBBLE_TLS_CA_CERT_FILES: files,
  HUBBLE_TLS_CLIENT_CERT_FILE: z.string().optional(),
  HUBBLE_TLS_CLIENT_KEY_FILE: z.string().optional(),
  HUBBLE_TLS_SERVER_NAME: z.string().optional(),
  DATABASE_URL: z
    .string()
    .optional()
    .transform((v) => v?.trim() || undefined)
    .refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), { message: "expected a postgresql:// URL" }),
  FLOWLENS_DATA_DIR: z.string().default(".data"),
  FLOWLENS_RETENTION: retention,
  /** statement timeout of every API query (PostgreSQL), ms; null = off */
  FLOWLENS_QUERY_TIMEOUT: queryTimeout,
  /** PostgreSQL connections for API reads (bounded, under the query timeout) */
  FLOWLENS_API_POOL: z.coerce.number().int().min(1).max(1000).default(8),
  /** PostgreSQL connections for the ingest (COPY, upserts, retention): readers never take these */
  FLOWLENS_INGEST_POOL: z.coerce.number().int().min(1).max(1000).default(4),
  /** how far back to ask the Relay for on a first start with an empty store */
  FLOWLENS_INITIAL_HISTORY: z.coerce.number().int().min(0).default(100_000),
  FLOWLENS_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(5000),
  FLOWLENS_FLUSH_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  FLOWLENS_QUEUE_MAX: z.coerce.number().int().min(100).default(50_000),
  /** flows per second turned into JSON for /api/live streams, all of them together */
  FLOWLENS_LIVE_RATE: z.coerce.number().int().min(0).default(20_000),
  /** MiB of flows one /api/live stream may have waiting before its flows are skipped */
  FLOWLENS_LIVE_QUEUE_MB: z.coerce.number().int().min(1).max(1024).default(8),
  /** where the Observer gRPC API listens (host:port, port 0 = any free one); "off" = not served */
  FLOWLENS_GRPC_ADDR: z
    .string()
    .optional()
    .transform((v) => v?.trim() || "127.0.0.1:4246")
    .refine((v) => v === "off" || /^(\[[0-9a-fA-F:.]+\]|[^\s:/\[\]]+):\d{1,5}$/.test(v), {
      message: 'expected host:port (e.g. 127.0.0.1:4246, 0.0.0.0:4246, [::]:4246) or "off"',
    }),
  FLOWLENS_GRPC_TLS_CERT_FILE: z.string().optional(),
  FLOWLENS_GRPC_TLS_KEY_FILE: z.string().optional(),
  /** CA bundle(s) client certificates must be signed by: set = mTLS, client certificates required */
  FLOWLENS_GRPC_TLS_CLIENT_CA_FILES: files,
  /** MiB of new flows one gRPC follow stream may have waiting before its flows are dropped (and counted) */
  FLOWLENS_GRPC_FOLLOW_QUEUE_MB: z.coerce.number().int().min(1).max(4096).default(64),
  /** Citus layout of the tables (server/db/citus.ts): auto = when the database has the citus extension */
  FLOWLENS_CITUS: z
    .enum(["auto", "1", "0", "true", "false", "yes", "no", "on", "off", ""])
    .optional()
    .transform((v) => citusModeOf(v)),
  /** shards of the flows table on Citus (set once: when the table is distributed) */
  FLOWLENS_CITUS_SHARDS: z.coerce.number().int().min(1).max(64_000).default(DEFAULT_SHARD_COUNT),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** HTTP port; Next.js's server reads it itself, this checks it and gives the default */
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
});

export type Config = z.output<typeof schema>;

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const r = schema.safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  if (r.data.FLOWLENS_ROLE === "ingest" && !r.data.DATABASE_URL) {
    throw new ConfigError("invalid configuration: FLOWLENS_ROLE=ingest needs DATABASE_URL (the embedded store serves one process: use FLOWLENS_ROLE=all)");
  }
  if (r.data.FLOWLENS_ROLE === "web" && !r.data.DATABASE_URL) {
    throw new ConfigError("invalid configuration: FLOWLENS_ROLE=web needs DATABASE_URL (the embedded store serves one process: use FLOWLENS_ROLE=all)");
  }
  if (r.data.HUBBLE_TLS_CLIENT_CERT_FILE && !r.data.HUBBLE_TLS_CLIENT_KEY_FILE) {
    throw new ConfigError("invalid configuration: HUBBLE_TLS_CLIENT_CERT_FILE is set but HUBBLE_TLS_CLIENT_KEY_FILE is not");
  }
  const g = r.data;
  if (!!g.FLOWLENS_GRPC_TLS_CERT_FILE !== !!g.FLOWLENS_GRPC_TLS_KEY_FILE) {
    throw new ConfigError("invalid configuration: FLOWLENS_GRPC_TLS_CERT_FILE and FLOWLENS_GRPC_TLS_KEY_FILE go together");
  }
  if (g.FLOWLENS_GRPC_TLS_CLIENT_CA_FILES.length > 0 && !g.FLOWLENS_GRPC_TLS_CERT_FILE) {
    throw new ConfigError("invalid configuration: FLOWLENS_GRPC_TLS_CLIENT_CA_FILES needs FLOWLENS_GRPC_TLS_CERT_FILE and FLOWLENS_GRPC_TLS_KEY_FILE (mTLS is TLS with client certificates)");
  }
  return g;
}

/**
 * Every environment variable the configuration reads, with its default as text (undefined: none).
 * The deployment manifests are checked against the schema (knownVariables below, tests/integration/deploy-manifests.test.ts).
 */
export const CONFIG_VARIABLES: Readonly<Record<string, string | undefined>> = {
  HUBBLE_SERVER: undefined,
  HUBBLE_PEER_SERVER: undefined,
  HUBBLE_TLS: "false",
  HUBBLE_TLS_ALLOW_INSECURE: "false",
  HUBBLE_TLS_CA_CERT_FILES: undefined,
  HUBBLE_TLS_CLIENT_CERT_FILE: undefined,
  HUBBLE_TLS_CLIENT_KEY_FILE: undefined,
  HUBBLE_TLS_SERVER_NAME: undefined,
  DATABASE_URL: undefined,
  FLOWLENS_ROLE: "all",
  FLOWLENS_INGEST: "relay",
  FLOWLENS_LEASE_TTL: "6s",
  FLOWLENS_INSTANCE: undefined,
  FLOWLENS_AGENT_PORT: "4244",
  FLOWLENS_DATA_DIR: ".data",
  FLOWLENS_RETENTION: "7d",
  FLOWLENS_QUERY_TIMEOUT: "30s",
  FLOWLENS_API_POOL: "8",
  FLOWLENS_INGEST_POOL: "4",
  FLOWLENS_INITIAL_HISTORY: "100000",
  FLOWLENS_BATCH_SIZE: "5000",
  FLOWLENS_FLUSH_MS: "250",
  FLOWLENS_QUEUE_MAX: "50000",
  FLOWLENS_LIVE_RATE: "20000",
  FLOWLENS_LIVE_QUEUE_MB: "8",
  FLOWLENS_GRPC_ADDR: "127.0.0.1:4246",
  FLOWLENS_GRPC_TLS_CERT_FILE: undefined,
  FLOWLENS_GRPC_TLS_KEY_FILE: undefined,
  FLOWLENS_GRPC_TLS_CLIENT_CA_FILES: undefined,
  FLOWLENS_GRPC_FOLLOW_QUEUE_MB: "64",
  FLOWLENS_CITUS: "auto",
  FLOWLENS_CITUS_SHARDS: String(DEFAULT_SHARD_COUNT),
  LOG_LEVEL: "info",
  PORT: "3000",
};

/** the schema itself, for checks that parse manifests' env blocks */
export const configSchema = schema;

/**
 * Every environment variable Flowlens knows: the schema's, and those read before or beside it (by
 * Next.js's server, Node, the demo cluster). The manifests in deploy/ may set only these
 * (tests/integration/deploy-manifests.test.ts), so a renamed variable cannot leave them stale.
 */
export const OTHER_VARIABLES: Readonly<Record<string, string>> = {
  HOSTNAME: "address the standalone server (container image) listens on; the image sets 0.0.0.0",
  NODE_ENV: "production in the image",
  NEXT_TELEMETRY_DISABLED: "the image and npm start turn Next.js telemetry off",
  NEXT_MANUAL_SIG_HANDLE: "SIGTERM is ours: drain the ingest and close the store (server/runtime.ts)",
  FLOWLENS_SAMPLE_DIR: "recorded flows the demo cluster mixes in (default samples/hubble-otel)",
  // sign-in (server/auth/auth-settings.ts reads and checks these; docs/security.md)
  HOST: "address npm start listens on (loopback only without sign-in: scripts/bind-address.mjs)",
  FLOWLENS_AUTH: "on | off (sign-in on without an issuer = API tokens only; off = no sign-in on purpose, warned)",
  FLOWLENS_OIDC_ISSUER: "OIDC issuer URL",
  FLOWLENS_OIDC_CLIENT_ID: "OIDC client id",
  FLOWLENS_OIDC_CLIENT_SECRET: "OIDC client secret",
  FLOWLENS_OIDC_SCOPES: "OIDC scopes to ask for",
  FLOWLENS_PUBLIC_URL: "the URL people open (the redirect URL is derived from it)",
  FLOWLENS_AUTH_CONFIG: "YAML file: groups/claims → role and namespaces",
  FLOWLENS_BIND: "set by npm start and the image's entry: the address listened on, for the log and header",
};

export function knownVariables(): string[] {
  return [...Object.keys(schema.shape), ...Object.keys(OTHER_VARIABLES)];
}
