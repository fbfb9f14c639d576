import { DropsRepo } from "@/server/db/drops/drops-repo";
import type { PairedStream } from "@/server/domain/connections/denied-packets";
import { GROUP_COLUMNS, RAW_COLUMNS, groupCsvRow, groupJsonl, itemTimeNs, rawCsvRow, rawJsonl, type ExportStamp } from "@/server/domain/drops/drop-export";
import { sortGroups } from "@/server/domain/drops/drop-group";
import { groupFlowsParams } from "@/server/domain/drops/drop-links";
import { oneOf, parseCount, parseSort, parseWithOwn } from "@/server/domain/drops/drop-params";
import { dropWhy } from "@/server/domain/drops/drop-why";
import { csvLine } from "@/server/domain/flows/flow-csv";
import type { FlowItem } from "@/server/domain/flows/flow-item";
import { flowQueryToSearchParams } from "@/server/domain/flows/flow-query";
import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { auditExport, authorize, scoped, type Access } from "@/server/http/access";
import { errorLines, exportAbort, inPages, queryInputError, streamPages } from "@/server/http/stream-pages";

export const dynamic = "force-dynamic";

const OWN = ["sort", "order", "rows", "buckets"] as const;
const DEFAULT_GROUPS = 500;

/**
 * GET /api/drops: dropped and AUDIT flows grouped (the /api/flows filter set, verdict defaults to
 * DROPPED+AUDIT), with WHO/WHAT/WHEN/WHERE/WHY, a link query per group and a timeline per reason.
 * format=csv|jsonl streams an audit export: rows=grouped (default) or rows=raw (every denied flow).
 */
export async function GET(request: Request): Promise<Response> {
  const now = new Date();
  const { flow, own, explicitLimit } = parseWithOwn(new URL(request.url).searchParams, OWN, now);
  if (!flow.ok) return badRequest(flow.error, flow.parameter);
  const q = flow.query;
  if (q.cursor !== undefined) return badRequest("cursor: /api/drops is not paged; narrow the filter or use format=jsonl", "cursor");
  if (q.filter.verdict?.some((v) => v !== 2 && v !== 4)) {
    return badRequest("verdict: /api/drops shows DROPPED and AUDIT flows only; use /api/flows for other verdicts", "verdict");
  }
  const sort = parseSort(own);
  if (!sort.ok) return badRequest(sort.error, sort.parameter);
  const rowsKind = oneOf(own, "rows", ["grouped", "raw"] as const, "grouped");
  if (!rowsKind.ok) return badRequest(rowsKind.error, rowsKind.parameter);
  const buckets = parseCount(own, "buckets", 1, 500, 60);
  if (!buckets.ok) return badRequest(buckets.error, buckets.parameter);
  if (rowsKind.value === "raw" && q.format === "json") return badRequest("rows: rows=raw is for format=csv or jsonl; /api/flows lists raw flows", "rows");

  const access = await authorize(request, q.format === "json" ? "view" : "export");
  if (access instanceof Response) return access;
  const rt = access.rt;
  const filter = scoped(DropsRepo.dropFilter(q.filter), access);
  const effective = flowQueryToSearchParams({ filter, sinceNs: q.sinceNs, untilNs: q.untilNs, limit: 100, format: "json" });
  const stamp: ExportStamp = { exportedAt: now.toISOString(), filter: effective.toString() };
  const repo = rt.repos.drops;
  const range = { filter, sinceNs: q.sinceNs, untilNs: q.untilNs };

  if (rowsKind.value === "raw") {
    const abort = exportAbort(request);
    let pairing: PairedStream | null;
    try {
      pairing = await repo.pairing({ ...range, signal: abort.signal });
    } catch (e) {
      return queryInputError(e) ?? unavailable(e, "reading drops failed");
    }
    return rawExport(rt.reader.all({ ...range, signal: abort.signal }, q.last ?? Number.POSITIVE_INFINITY), q.format === "csv", stamp, pairing, abort, auditExport(access, `drops raw ${q.format}`, stamp.filter));
  }

  let result;
  try {
    result = await repo.grouped({ ...range, signal: request.signal }, buckets.value);
  } catch (e) {
    return queryInputError(e) ?? unavailable(e, "reading drops failed");
  }
  const sorted = sortGroups(result.groups, sort.by, sort.dir);
  const limit = explicitLimit ? q.limit : q.format === "json" ? DEFAULT_GROUPS : Number.POSITIVE_INFINITY;
  const shown = sorted.slice(0, limit);

  if (q.format === "json") {
    return Response.json(
      {
        filter: stamp.filter,
        total: result.total,
        groupCount: result.groups.length,
        groups: shown.map((g) => ({ ...g, why: dropWhy(g), flows: groupFlowsParams(g).toString() })),
        timeline: result.timeline,
      },
      { headers: noStore() },
    );
  }
  const csv = q.format === "csv";
  const line = csv ? (g: (typeof shown)[number]) => csvLine(groupCsvRow(g, stamp)) : (g: (typeof shown)[number]) => JSON.stringify(groupJsonl(g, stamp)) + "\n";
  return streamPages(inPages(shown), line, {
    header: csv ? csvLine(GROUP_COLUMNS) : undefined,
    headers: headers(csv, "grouped", stamp),
    failure: "reading drops failed",
    errorLine: csv ? errorLines.csv : errorLines.jsonl,
    onEnd: auditExport(access, `drops grouped ${q.format}`, stamp.filter),
  });
}

function filename(kind: string, csv: boolean, stamp: ExportStamp): string {
  return `flowlens-drops-${kind}-${stamp.exportedAt.replace(/[:.]/g, "-")}.${csv ? "csv" : "jsonl"}`;
}

function headers(csv: boolean, kind: string, stamp: ExportStamp): Record<string, string> {
  return noStore({
    "Content-Type": csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
    "Content-Disposition": `attachment; filename="${filename(kind, csv, stamp)}"`,
    // the same stamp every row carries, for tools that only look at headers
    "X-Flowlens-Exported-At": stamp.exportedAt,
    "X-Flowlens-Filter": stamp.filter,
  });
}

/**
 * Streams every denied flow page by page (the store is read as the client reads), newest first;
 * each row says whether it is the counted report of its packet.
 */
function rawExport(
  pages: AsyncGenerator<FlowItem[]>,
  csv: boolean,
  stamp: ExportStamp,
  pairing: PairedStream | null,
  abort: AbortController,
  onEnd: (rows: number, outcome: string) => void,
): Promise<Response> {
  const paired = (i: FlowItem) => pairing?.paired(i.flow, itemTimeNs(i)) ?? false;
  const line = csv ? (i: FlowItem) => csvLine(rawCsvRow(i, stamp, paired(i))) : (i: FlowItem) => JSON.stringify(rawJsonl(i, stamp, paired(i))) + "\n";
  return streamPages(pages, line, {
    header: csv ? csvLine(RAW_COLUMNS) : undefined,
    headers: headers(csv, "raw", stamp),
    failure: "reading drops failed",
    errorLine: csv ? errorLines.csv : errorLines.jsonl,
    abort,
    onEnd,
  });
}
