import { z } from "zod";
import type { QuarantineItem } from "@/server/db/quarantine-repo";
import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { auditExport, authorize } from "@/server/http/access";
import { errorLines, exportAbort, streamPages } from "@/server/http/stream-pages";

export const dynamic = "force-dynamic";

const PARAMETERS = ["format", "limit", "cursor", "stage"] as const;
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
  stage: z.enum(["decode", "write"], { message: 'stage: expected "decode" or "write"' }).optional(),
});

/**
 * GET /api/quarantine: responses the ingest kept as bytes instead of storing them — malformed
 * (stage=decode) or refused by the store (stage=write) — newest first, with the error, the
 * original bytes (base64) and, when they decode, hubble's JSON form. format=jsonl streams them all.
 */
export async function GET(request: Request): Promise<Response> {
  const sp = new URL(request.url).searchParams;
  const raw: Record<string, string> = {};
  for (const [k, v] of sp) {
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
