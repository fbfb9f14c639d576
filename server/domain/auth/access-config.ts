/**
 * FLOWLENS_AUTH_CONFIG: one YAML file mapping the identity provider's groups (or any claim) to a
 * role and the namespaces it may see. Validated with zod; every message names the key.
 *
 *   groupsClaim: groups          # the ID token claim holding the groups (default "groups")
 *   session: 12h                 # how long a sign-in lasts (default 12h)
 *   rules:
 *     - group: platform          # a value of the groups claim …
 *       role: admin
 *       namespaces: ["*"]
 *     - claim: email             # … or any claim equal to a value
 *       equals: audit@example.com
 *       role: auditor
 *       namespaces: [shop, "team-*"]
 *
 *   certificates:                # gRPC clients with an mTLS client certificate (optional)
 *     - commonName: hubble-ops   # the certificate's subject CN (the TLS layer has verified it)
 *       role: viewer
 *       namespaces: [shop]
 *
 * Every rule that matches grants its role on its namespaces; a user no rule matches cannot sign in.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { parseDurationMs } from "../shared/time";
import { NAMESPACE_PATTERN } from "./namespace-scope";
import { ROLES, type Grant } from "./roles";

const namespaces = z
  .array(
    z.string().regex(NAMESPACE_PATTERN, 'expected a namespace name or a pattern with "*" (e.g. shop, team-*, *)'),
    { message: "expected a list of namespaces" },
  )
  .min(1, "expected at least one namespace (or \"*\")");

const rule = z
  .object({
    group: z.string().min(1, "expected a group name").optional(),
    claim: z.string().min(1, "expected a claim name").optional(),
    equals: z.union([z.string(), z.number(), z.boolean()]).optional(),
    role: z.enum(ROLES, { message: `expected one of ${ROLES.join(", ")}` }),
    namespaces,
  })
  .strict()
  .superRefine((r, ctx) => {
    if ((r.group === undefined) === (r.claim === undefined)) {
      ctx.addIssue({ code: "custom", message: "give either group or claim (with equals)", path: ["group"] });
    }
    if (r.claim !== undefined && r.equals === undefined) ctx.addIssue({ code: "custom", message: "claim needs equals", path: ["equals"] });
    if (r.group !== undefined && r.equals !== undefined) ctx.addIssue({ code: "custom", message: "equals goes with claim, not group", path: ["equals"] });
  });

const schema = z
  .object({
    groupsClaim: z.string().min(1, "expected a claim name").default("groups"),
    session: z
      .string()
      .default("12h")
      .transform((v, ctx) => {
        const ms = parseDurationMs(v);
        if (ms === undefined || ms < 60_000) {
          ctx.addIssue({ code: "custom", message: `"${v}" is not a duration of at least 1m like 12h or 30m` });
          return z.NEVER;
        }
        return ms;
      }),
    rules: z.array(rule, { message: "expected a list of rules" }).min(1, "expected at least one rule"),
    certificates: z
      .array(
        z
          .object({
            commonName: z.string().min(1, "expected the certificate subject's CN"),
            role: z.enum(ROLES, { message: `expected one of ${ROLES.join(", ")}` }),
            namespaces,
          })
          .strict(),
        { message: "expected a list of certificate rules" },
      )
      .default([]),
  })
  .strict();

export type AccessConfig = z.output<typeof schema>;

export class AccessConfigError extends Error {}

/** Parses the file's text; throws AccessConfigError with one line per problem, each naming its key. */
export function parseAccessConfig(text: string, source = "FLOWLENS_AUTH_CONFIG"): AccessConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new AccessConfigError(`${source}: not valid YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  const r = schema.safeParse(doc ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(top level)"}: ${i.message}`);
    throw new AccessConfigError(`${source}: invalid:\n  ${lines.join("\n  ")}`);
  }
  return r.data;
}

/** The grants of a verified mTLS client certificate, by its subject's common name. */
export function grantsForCertificate(config: AccessConfig, commonName: string): Grant[] {
  return config.certificates.filter((c) => c.commonName === commonName).map((c) => ({ role: c.role, namespaces: c.namespaces }));
}

/** The grants a signed-in user's claims earn. Empty: no rule matches (sign-in refused). */
export function grantsFor(config: AccessConfig, claims: Record<string, unknown>): Grant[] {
  const raw = claims[config.groupsClaim];
  const groups = new Set(Array.isArray(raw) ? raw.map(String) : typeof raw === "string" ? [raw] : []);
  const out: Grant[] = [];
  for (const r of config.rules) {
    const hit =
      r.group !== undefined
        ? groups.has(r.group)
        : (() => {
            const v = claims[r.claim!];
            return Array.isArray(v) ? v.some((x) => x === r.equals) : v === r.equals;
          })();
    if (hit) out.push({ role: r.role, namespaces: r.namespaces });
  }
  return out;
}
