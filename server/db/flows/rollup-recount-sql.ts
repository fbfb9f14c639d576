/**
 * Rollups recounted from raw flows (same rules as server/domain/flows/flow-rollup.ts and the backfill in
 * the flow_rollups migration): flows with ts >= $1, grouped per minute, context, L4 kind and port.
 */
import { DNS_RCODES, HTTP_CLASSES, LATENCY_BUCKETS } from "@/server/domain/flows/flow-rollup";

const count = (cond: string) => `count(*) FILTER (WHERE ${cond})::int`;
const httpClass = (i: number) =>
  i < HTTP_CLASSES - 1
    ? count(`f.l7_kind = 101 AND f.l7_type = 2 AND f.http_code BETWEEN ${(i + 1) * 100} AND ${(i + 1) * 100 + 99}`)
    : count("f.l7_kind = 101 AND f.l7_type = 2 AND (f.http_code IS NULL OR f.http_code < 100 OR f.http_code > 599)");
const rcode = (i: number) =>
  i < DNS_RCODES - 1
    ? count(`f.l7_kind = 100 AND f.l7_type = 2 AND f.dns_rcode = ${i}`)
    : count(`f.l7_kind = 100 AND f.l7_type = 2 AND (f.dns_rcode IS NULL OR f.dns_rcode > ${DNS_RCODES - 2})`);
const latency = (i: number) =>
  count(`f.l7_type = 2 AND f.latency_ns > 0 AND LEAST(${LATENCY_BUCKETS - 1}, GREATEST(0, floor(log(2, GREATEST(f.latency_ns / 1000.0, 1)))::int)) = ${i}`);
const list = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join(", ");

export const ROLLUP_RECOUNT_SQL = `SELECT (f.ts / 60000000000)::int, f.ctx_id, f.l4,
    CASE WHEN f.l4 IN (1, 2, 5) THEN CASE WHEN c.is_reply THEN coalesce(f.sport, 0) ELSE coalesce(f.dport, 0) END ELSE 0 END,
    count(*)::int, min(f.ts), max(f.ts),
    ${count("f.l7_kind = 101 AND f.l7_type = 1")}, ARRAY[${list(HTTP_CLASSES, httpClass)}],
    ${count("f.l7_kind = 100 AND f.l7_type = 1")}, ARRAY[${list(DNS_RCODES, rcode)}],
    ARRAY[${list(LATENCY_BUCKETS, latency)}]
  FROM flows f JOIN flow_contexts c ON c.id = f.ctx_id
  WHERE f.ts >= $1::bigint
  GROUP BY 1, 2, 3, 4`;
