import { z } from "zod";
import type { AuditEntry } from "@/server/db/auth-repo";
import { authRepoFor } from "@/server/db/auth-repo";
import { auditExport, authorize } from "@/server/http/access";
import { noStore, unavailable } from "@/server/http/responses";
import { errorLines, exportAbort, streamPages } from "@/server/http/stream-pages";
import { idPageFields, parseIdPageParams } from "@/server/http/id-page-params";

export const dynamic = "force-dynamic";

const schema = z.object({
  ...idPageFields,
  action: z
    .enum(["sign-in", "sign-in-failed", "sign-out", "token-use", "token-created", "token-revoked", "export"], { message: "action: not an audit action" })
    .optional(),
});

/** GET /api/audit (admin): the audit log newest first; format=jsonl exports all of it (itself recorded). */
export async function GET(request: Request): Promise<Response> {
  const q = parseIdPageParams(request, schema);
  if (q instanceof Response) return q;
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
