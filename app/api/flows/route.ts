import { parseFlowQuery } from "@/server/domain/flows/flow-query";
import { CSV_COLUMNS, csvLine, csvRow } from "@/server/domain/flows/flow-csv";
import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { auditExport, authorize, scoped } from "@/server/http/access";
import { errorLines, exportAbort, queryInputError, streamPages } from "@/server/http/stream-pages";
import { itemResponse, type FlowItem } from "@/server/domain/flows/flow-item";

export const dynamic = "force-dynamic";

export async function GET(request: Request): Promise<Response> {
  const parsed = parseFlowQuery(new URL(request.url).searchParams);
  if (!parsed.ok) return badRequest(parsed.error, parsed.parameter);
  const q = parsed.query;
  const access = await authorize(request, q.format === "json" ? "view" : "export");
  if (access instanceof Response) return access;
  const rt = access.rt;
  const query = { filter: scoped(q.filter, access), sinceNs: q.sinceNs, untilNs: q.untilNs, cursor: q.cursor, last: q.last };

  if (q.format === "json") {
    try {
      return Response.json(await rt.reader.list({ ...query, limit: q.limit, signal: request.signal }), { headers: noStore() });
    } catch (e) {
      return queryInputError(e) ?? unavailable(e, "reading flows failed");
    }
  }

  const csv = q.format === "csv";
  const line = csv ? (item: FlowItem) => csvLine(csvRow(item)) : (item: FlowItem) => JSON.stringify(itemResponse(item)) + "\n";
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const abort = exportAbort(request);
  return streamPages(rt.reader.listAll({ ...query, signal: abort.signal }), line, {
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
