import { splitCursor } from "@/server/domain/flows/flow-cursor";
import { parseFlowQuery } from "@/server/domain/flows/flow-query";
import { CSV_COLUMNS, csvLine, csvRow } from "@/server/domain/flows/flow-csv";
import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { runtimeOrUnavailable } from "@/server/http/route-runtime";
import { errorLines, exportAbort, queryInputError, streamPages } from "@/server/http/stream-pages";
import { itemResponse, type FlowItem } from "@/server/domain/flows/flow-item";

export const dynamic = "force-dynamic";

export async function GET(request: Request): Promise<Response> {
  const parsed = parseFlowQuery(new URL(request.url).searchParams);
  if (!parsed.ok) return badRequest(parsed.error, parsed.parameter);
  const q = parsed.query;
  const rt = await runtimeOrUnavailable();
  if (rt instanceof Response) return rt;
  // With `last`, a cursor carries how many of the N newest are still to come (flow-cursor.ts);
  // an export may continue from such a cursor too.
  const counted = q.cursor === undefined ? undefined : splitCursor(q.cursor);
  const left = q.last !== undefined && counted?.left !== undefined ? Math.min(q.last, counted.left) : q.last;
  const base = { filter: q.filter, sinceNs: q.sinceNs, untilNs: q.untilNs, cursor: counted?.cursor };

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
    headers: noStore({
      "Content-Type": csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
      "Content-Disposition": `attachment; filename="flowlens-flows-${stamp}.${csv ? "csv" : "jsonl"}"`,
    }),
  });
}
