import { z } from "zod";
import type { QuarantineItem } from "@/server/db/quarantine-repo";
import { noStore, unavailable } from "@/server/http/responses";
import { auditExport, authorize } from "@/server/http/access";
import { errorLines, exportAbort, streamPages } from "@/server/http/stream-pages";
import { idPageFields, parseIdPageParams } from "@/server/http/id-page-params";

export const dynamic = "force-dynamic";

const schema = z.object({
  ...idPageFields,
  stage: z.enum(["decode", "write"], { message: 'stage: expected "decode" or "write"' }).optional(),
});

/**
 * GET /api/quarantine: responses the ingest kept as bytes instead of storing them — malformed
 * (stage=decode) or refused by the store (stage=write) — newest first, with the error, the
 * original bytes (base64) and, when they decode, hubble's JSON form. format=jsonl streams them all.
 */
export async function GET(request: Request): Promise<Response> {
  const q = parseIdPageParams(request, schema);
  if (q instanceof Response) return q;
  // raw responses of any namespace: admins only
  const access = await authorize(request, "admin");
  if (access instanceof Response) return access;
  const rt = access.rt;
  if (q.format === "jsonl") {
    const abort = exportAbort(request);
    return streamPages(rt.quarantine.all({ beforeId: q.cursor, stage: q.stage, signal: abort.signal }), (i: QuarantineItem) => JSON.stringify(i) + "\n", {
      failure: "reading the quarantine failed",
      errorLine: errorLines.jsonl,
      abort,
      onEnd: auditExport(access, "quarantine jsonl", new URL(request.url).search),
      headers: noStore({
        "Content-Type": "application/x-ndjson; charset=utf-8",
        "Content-Disposition": `attachment; filename="flowlens-quarantine-${new Date().toISOString().replace(/[:.]/g, "-")}.jsonl"`,
      }),
    });
  }
  try {
    const page = await rt.quarantine.page({ beforeId: q.cursor, stage: q.stage, limit: q.limit, signal: request.signal });
    return Response.json({ items: page.items, next: page.next }, { headers: noStore() });
  } catch (e) {
    rt.health.failed(e);
    return unavailable(e, "reading the quarantine failed");
  }
}
