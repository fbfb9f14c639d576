/**
 * Who may use Flowlens, from the environment (validated with zod, messages name the variable):
 *
 *   nothing set              "local": no sign-in, and `npm start` listens on 127.0.0.1 only
 *   FLOWLENS_OIDC_ISSUER …   "on": sign-in with the identity provider, API tokens, roles and
 *                            namespace scope from FLOWLENS_AUTH_CONFIG
 *   FLOWLENS_AUTH=on         "on" without OIDC: API tokens only (created with `npm run token`)
 *   FLOWLENS_AUTH=off        "off": no sign-in on any address, a warning at every start
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { parseAccessConfig, type AccessConfig } from "@/server/domain/auth/access-config";

export type AuthMode = "local" | "off" | "on";

export interface OidcSettings {
  issuer: URL;
  clientId: string;
  clientSecret?: string;
  /** FLOWLENS_PUBLIC_URL/auth/callback */
  redirectUri: string;
  scopes: string;
}

export interface AuthSettings {
  mode: AuthMode;
  /** the address `npm start` bound to (FLOWLENS_BIND, set by scripts/start.mjs), for the header */
  bind?: string;
  publicUrl?: URL;
  oidc?: OidcSettings;
  access?: AccessConfig;
  /** cookies carry Secure (the public URL is https) */
  secureCookies: boolean;
}

const optionalText = z
  .string()
  .optional()
  .transform((v) => v?.trim() || undefined);

const url = (name: string) =>
  optionalText.refine((v) => v === undefined || /^https?:\/\/[^/\s]+/.test(v), { message: `${name}: expected an http(s):// URL` });

const schema = z.object({
  FLOWLENS_AUTH: z
    .enum(["on", "off", ""], { message: 'FLOWLENS_AUTH: expected "on", "off" or nothing' })
    .optional()
    .transform((v) => v || undefined),
  FLOWLENS_OIDC_ISSUER: url("FLOWLENS_OIDC_ISSUER"),
  FLOWLENS_OIDC_CLIENT_ID: optionalText,
  FLOWLENS_OIDC_CLIENT_SECRET: optionalText,
  FLOWLENS_OIDC_SCOPES: optionalText,
  FLOWLENS_PUBLIC_URL: url("FLOWLENS_PUBLIC_URL"),
  FLOWLENS_AUTH_CONFIG: optionalText,
  FLOWLENS_BIND: optionalText,
});

export class AuthSettingsError extends Error {}

/** Reads and checks the settings; throws AuthSettingsError naming what is missing or wrong. */
export function loadAuthSettings(env: Record<string, string | undefined> = process.env, readFile = (p: string) => readFileSync(p, "utf8")): AuthSettings {
  const r = schema.safeParse(env);
  if (!r.success) throw new AuthSettingsError(`invalid configuration:\n  ${r.error.issues.map((i) => i.message).join("\n  ")}`);
  const e = r.data;
  const problems: string[] = [];
  const mode: AuthMode = e.FLOWLENS_AUTH === "off" ? "off" : e.FLOWLENS_AUTH === "on" || e.FLOWLENS_OIDC_ISSUER ? "on" : "local";
  if (mode === "off" && e.FLOWLENS_OIDC_ISSUER) problems.push("FLOWLENS_AUTH: is off but FLOWLENS_OIDC_ISSUER is set; unset one of them");
  const publicUrl = e.FLOWLENS_PUBLIC_URL ? new URL(e.FLOWLENS_PUBLIC_URL) : undefined;
  let oidc: OidcSettings | undefined;
  if (mode === "on" && e.FLOWLENS_OIDC_ISSUER) {
    if (!e.FLOWLENS_OIDC_CLIENT_ID) problems.push("FLOWLENS_OIDC_CLIENT_ID: required with FLOWLENS_OIDC_ISSUER");
    if (!publicUrl) problems.push("FLOWLENS_PUBLIC_URL: required with FLOWLENS_OIDC_ISSUER (the redirect URL is <FLOWLENS_PUBLIC_URL>/auth/callback)");
    if (!e.FLOWLENS_AUTH_CONFIG) problems.push("FLOWLENS_AUTH_CONFIG: required with FLOWLENS_OIDC_ISSUER (which groups get which role and namespaces)");
    if (e.FLOWLENS_OIDC_CLIENT_ID && publicUrl) {
      oidc = {
        issuer: new URL(e.FLOWLENS_OIDC_ISSUER),
        clientId: e.FLOWLENS_OIDC_CLIENT_ID,
        clientSecret: e.FLOWLENS_OIDC_CLIENT_SECRET,
        redirectUri: new URL("/auth/callback", publicUrl).toString(),
        scopes: e.FLOWLENS_OIDC_SCOPES ?? "openid profile email groups",
      };
    }
  }
  let access: AccessConfig | undefined;
  if (e.FLOWLENS_AUTH_CONFIG) {
    let text: string | undefined;
    try {
      text = readFile(e.FLOWLENS_AUTH_CONFIG);
    } catch (err) {
      problems.push(`FLOWLENS_AUTH_CONFIG: cannot read ${e.FLOWLENS_AUTH_CONFIG}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (text !== undefined) {
      try {
        access = parseAccessConfig(text, `FLOWLENS_AUTH_CONFIG (${e.FLOWLENS_AUTH_CONFIG})`);
      } catch (err) {
        problems.push(err instanceof Error ? err.message : String(err));
      }
    }
  }
  if (problems.length) throw new AuthSettingsError(`invalid configuration:\n  ${problems.join("\n  ")}`);
  return { mode, bind: e.FLOWLENS_BIND, publicUrl, oidc, access, secureCookies: publicUrl?.protocol === "https:" };
}

const KEY = Symbol.for("flowlens.auth-settings");
type Holder = { [KEY]?: { env: string; settings: AuthSettings } };
const ENV_KEYS = ["FLOWLENS_AUTH", "FLOWLENS_OIDC_ISSUER", "FLOWLENS_OIDC_CLIENT_ID", "FLOWLENS_OIDC_CLIENT_SECRET", "FLOWLENS_OIDC_SCOPES", "FLOWLENS_PUBLIC_URL", "FLOWLENS_AUTH_CONFIG", "FLOWLENS_BIND"];

/** The process's settings, read once (again only when the environment changes: tests). */
export function authSettings(): AuthSettings {
  const g = globalThis as typeof globalThis & Holder;
  const env = JSON.stringify(ENV_KEYS.map((k) => process.env[k] ?? ""));
  if (g[KEY]?.env !== env) g[KEY] = { env, settings: loadAuthSettings() };
  return g[KEY].settings;
}

/** One line for the start log (and the warning when auth is off). */
export function describeAuth(s: AuthSettings): { level: "info" | "warn"; message: string } {
  if (s.mode === "off") return { level: "warn", message: `FLOWLENS_AUTH=off: anyone who can reach ${s.bind ?? "this server"} sees every flow, without signing in` };
  if (s.mode === "local") return { level: "info", message: `no sign-in configured: listening on ${s.bind ?? "127.0.0.1"} only (set FLOWLENS_OIDC_ISSUER, or FLOWLENS_AUTH=off, to listen elsewhere; docs/security.md)` };
  return { level: "info", message: s.oidc ? `sign-in with ${s.oidc.issuer.href}; API tokens accepted` : "FLOWLENS_AUTH=on: API tokens only (no OIDC issuer configured)" };
}
