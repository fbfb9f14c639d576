import { z } from "zod";
import type { AuditEntry } from "@/server/db/auth-repo";
import { authRepoFor } from "@/server/db/auth-repo";
import { auditExport, authorize } from "@/server/http/access";
import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { errorLines, exportAbort, streamPages } from "@/server/http/stream-pages";

export const dynamic = "force-dynamic";

const PARAMETERS = ["format", "limit", "cursor", "action"] as const;
const schema = z.object({
  format: z.enum(["json", "jsonl"], { message: 'format: expected "json" or "jsonl"' }).default("json"),
  limit: z.coerce
    .number({ message: "limit: expected a whole number from 1 to 1000" })
    .int("limit: expected a whole number from 1 to 1000")
    .min(1, "limit: expected a whole number from 1 to 1000")
    .max(1000, "limit: expected a whole number from 1 to 1000")
    .default(100),
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,18}$/, "cursor: not a cursor returned by this API")
    .transform((v) => BigInt(v))
    .refine((v) => v <= 2n ** 63n - 1n, "cursor: not a cursor returned by this API")
    .optional(),
  action: z
    .enum(["sign-in", "sign-in-failed", "sign-out", "token-use", "token-created", "token-revoked", "export"], { message: "action: not an audit action" })
    .optional(),
});

/** GET /api/audit (admin): the audit log newest first; format=jsonl exports all of it (itself recorded). */
export async function GET(request: Request): Promise<Response> {
  const raw: Record<string, string> = {};
  for (const [k, v] of new URL(request.url).searchParams) {
    if (k === "_") continue;
    if (!(PARAMETERS as readonly string[]).includes(k)) return badRequest(`${k}: unknown parameter; valid: ${PARAMETERS.join(", ")}`, k);
    if (k in raw) return badRequest(`${k}: give it once`, k);
    raw[k] = v;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const parameter = String(issue.path[0] ?? "format");
    return badRequest(issue.message.startsWith(`${parameter}:`) ? issue.message : `${parameter}: ${issue.message}`, parameter);
  }
  const q = parsed.data;
  const access = await authorize(request, "admin");
  if (access instanceof Response) return access;
  const repo = authRepoFor(access.rt.db);
  if (q.format === "jsonl") {
    const abort = exportAbort(request);
    return streamPages(repo.auditAll({ action: q.action, signal: abort.signal }), (e: AuditEntry) => JSON.stringify(e) + "\n", {
      failure: "reading the audit log failed",
      errorLine: errorLines.jsonl,
      abort,
      onEnd: auditExport(access, "audit jsonl", new URL(request.url).search),
      headers: noStore({
        "Content-Type": "application/x-ndjson; charset=utf-8",
        "Content-Disposition": `attachment; filename="flowlens-audit-${new Date().toISOString().replace(/[:.]/g, "-")}.jsonl"`,
      }),
    });
  }
  try {
    return Response.json(await repo.auditPage({ beforeId: q.cursor, limit: q.limit, action: q.action, signal: request.signal }), { headers: noStore() });
  } catch (e) {
    return unavailable(e, "reading the audit log failed");
  }
}
