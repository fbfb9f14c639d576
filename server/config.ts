/**
 * Environment configuration, validated once with zod. Names follow the hubble CLI for the Relay
 * (HUBBLE_SERVER, HUBBLE_TLS*) so an existing `hubble observe` setup carries over.
 */
import { z } from "zod";
import { citusModeOf, DEFAULT_SHARD_COUNT } from "./db/citus";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no", ""])
  .optional()
  .transform((v) => v === "true" || v === "1" || v === "yes");

const files = z
  .string()
  .optional()
  .transform((v) => (v ? v.split(/[,:\s]+/).filter(Boolean) : []));

export const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };

export function parseDurationMs(s: string): number | null {
  const parts = s.match(/\d+(?:\.\d+)?(?:ms|s|m|h|d|w)/g);
  if (!parts || parts.join("") !== s) return null;
  return parts.reduce((sum, p) => {
    const m = DURATION.exec(p)!;
    return sum + Number(m[1]) * UNIT_MS[m[2]];
  }, 0);
}

const retention = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v === "") return 7 * 86400e3;
    if (v === "off" || v === "0") return null;
    const ms = parseDurationMs(v);
    if (ms === null) {
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
    if (ms === null || ms < 1) {
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
    if (ms === null || ms < 2_000 || ms > 600_000) {
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
  return r.data;
}

/**
 * Every environment variable the configuration reads, with its default as text (undefined: none).
 * The deployment manifests are checked against this list (tests/unit/deploy-manifests.test.ts).
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
  FLOWLENS_CITUS: "auto",
  FLOWLENS_CITUS_SHARDS: String(DEFAULT_SHARD_COUNT),
  LOG_LEVEL: "info",
  PORT: "3000",
};

/** the schema itself, for checks that parse manifests' env blocks */
export const configSchema = schema;
