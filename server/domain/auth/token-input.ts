/** What creating an API token takes, from the admin page (JSON) and `npm run token -- create` alike. */
import { z } from "zod";
import { parseDurationMs } from "../shared/time";
import { NAMESPACE_PATTERN } from "./namespace-scope";
import { ROLES } from "./roles";

export const tokenInput = z
  .object({
    name: z
      .string({ message: "name: expected text" })
      .trim()
      .min(1, "name: give the token a name (who or what uses it)")
      .max(100, "name: at most 100 characters"),
    role: z.enum(ROLES, { message: `role: expected one of ${ROLES.join(", ")}` }),
    namespaces: z
      .array(z.string().trim().regex(NAMESPACE_PATTERN, 'namespaces: expected namespace names or patterns with "*" (shop, team-*, *)'), {
        message: "namespaces: expected a list",
      })
      .min(1, 'namespaces: give at least one namespace, or "*"'),
    /** e.g. 90d; absent = does not expire */
    expires: z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v === "" || v === "never") return null;
        const ms = parseDurationMs(v);
        if (ms === undefined || ms <= 0) {
          ctx.addIssue({ code: "custom", message: `expires: "${v}" is not a duration like 90d or 12h (or "never")` });
          return z.NEVER;
        }
        return ms;
      }),
  })
  .strict();

export type TokenInput = z.output<typeof tokenInput>;

/** `shop,payments` → ["shop", "payments"] */
export function splitNamespaces(v: string): string[] {
  return v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

export function parseTokenInput(raw: unknown): { ok: true; value: TokenInput } | { ok: false; error: string; parameter: string } {
  const r = tokenInput.safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  const parameter = String(issue.path[0] ?? "name");
  return { ok: false, error: issue.message.startsWith(`${parameter}:`) ? issue.message : `${parameter}: ${issue.message}`, parameter };
}
