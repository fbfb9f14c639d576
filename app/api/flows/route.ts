import { splitCursor } from "@/server/domain/flow-cursor";
import { parseFlowQuery } from "@/server/domain/flow-query";
import { CSV_COLUMNS, csvLine, csvRow } from "@/server/domain/flow-csv";
import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { auditExport, authorize, scoped } from "@/server/http/access";
import { errorLines, exportAbort, queryInputError, streamPages } from "@/server/http/stream-pages";
import { itemResponse, type FlowItem } from "@/server/domain/flow-item";

export const dynamic = "force-dynamic";

export async function GET(request: Request): Promise<Response> {
  const parsed = parseFlowQuery(new URL(request.url).searchParams);
  if (!parsed.ok) return badRequest(parsed.error, parsed.parameter);
  const q = parsed.query;
  const access = await authorize(request, q.format === "json" ? "view" : "export");
  if (access instanceof Response) return access;
  const rt = access.rt;
  // With `last`, a cursor carries how many of the N newest are still to come (flow-cursor.ts);
  // an export may continue from such a cursor too.
  const counted = q.cursor === undefined ? undefined : splitCursor(q.cursor);
  const left = q.last !== undefined && counted?.left !== undefined ? Math.min(q.last, counted.left) : q.last;
  const base = { filter: scoped(q.filter, access), sinceNs: q.sinceNs, untilNs: q.untilNs, cursor: counted?.cursor };

  if (q.format === "json") {
    if (left === 0) return Response.json({ flows: [], next: null }, { headers: noStore() });
    const limit = left !== undefined ? Math.min(q.limit, left) : q.limit;
    try {
      const page = await rt.reader.page({ ...base, limit, signal: request.signal });
      const rest = left === undefined ? undefined : left - page.items.length;
      const next = page.next === null || rest === 0 ? null : rest === undefined ? page.next : `${page.next}.${rest}`;
      return Response.json({ flows: page.items, next }, { headers: noStore() });
    } catch (e) {
      return queryInputError(e) ?? unavailable(e, "reading flows failed");
    }
  }

  const csv = q.format === "csv";
  const line = csv ? (item: FlowItem) => csvLine(csvRow(item)) : (item: FlowItem) => JSON.stringify(itemResponse(item)) + "\n";
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const abort = exportAbort(request);
  return streamPages(rt.reader.all({ ...base, signal: abort.signal }, left ?? Number.POSITIVE_INFINITY), line, {
    header: csv ? csvLine(CSV_COLUMNS) : undefined,
    failure: "reading flows failed",
    errorLine: csv ? errorLines.csv : errorLines.jsonl,
    abort,
    onEnd: auditExport(access, `flows ${q.format}`, new URL(request.url).search),
    headers: noStore({
      "Content-Type": csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
      "Content-Disposition": `attachment; filename="flowlens-flows-${stamp}.${csv ? "csv" : "jsonl"}"`,
    }),
  });
}
