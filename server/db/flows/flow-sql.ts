/**
 * Splits a FlowFilterSpec into the part that depends only on a flow's context (endpoints, verdict,
 * IPs, names, node… — evaluated in memory on each distinct context with the same matcher the live
 * stream uses, so stored and live results agree) and the per-flow part (ports, protocol, L7 fields,
 * uuid), compiled here to SQL over the flows columns.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { FlowSchema } from "@/proto/gen/flow/flow_pb";
import type { FlowFilterSpec } from "@/server/domain/flows/flow-filter-spec";
import { HTTP_URL_PATH_PATTERN } from "@/server/domain/flows/flow-match";

export { FLOW_LEVEL_KEYS, hasConditions, splitSpec } from "@/server/domain/flows/flow-filter-spec";

const L4_PORTED = "f.l4 IN (1, 2, 5)"; // TCP, UDP, SCTP
const PROTOCOLS: Record<string, string> = {
  tcp: "f.l4 = 1",
  udp: "f.l4 = 2",
  icmpv4: "f.l4 = 3",
  icmpv6: "f.l4 = 4",
  icmp: "f.l4 IN (3, 4)",
  sctp: "f.l4 = 5",
  dns: "f.l7_kind = 100",
  http: "f.l7_kind = 101",
  kafka: "f.l7_kind = 102",
};
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
/** A SQL string literal (standard_conforming_strings, on by default since PostgreSQL 9.1 and in PGlite). */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
/**
 * The path of a URL, like Go's url.Parse(u).Path that hubble's http-path filter matches: the
 * matcher's own pattern, so the in-memory filter (live) and SQL (history) cannot cut paths differently.
 */
export const HTTP_PATH_SQL = `substring(f.http_url from ${sqlString(HTTP_URL_PATH_PATTERN)})`;

export class SqlParams {
  readonly values: unknown[] = [];
  add(v: unknown, cast = ""): string {
    this.values.push(v);
    return `$${this.values.length}${cast}`;
  }
}

/** SQL conditions (ANDed) for the per-flow part of a filter. */
export function flowConditions(spec: FlowFilterSpec, p: SqlParams): string[] {
  const out: string[] = [];
  if (spec.port?.length) {
    const ports = p.add(spec.port, "::int[]");
    out.push(`(${L4_PORTED} AND (f.sport = ANY(${ports}) OR f.dport = ANY(${ports})))`);
  }
  if (spec.fromPort?.length) out.push(`(${L4_PORTED} AND f.sport = ANY(${p.add(spec.fromPort, "::int[]")}))`);
  if (spec.toPort?.length) out.push(`(${L4_PORTED} AND f.dport = ANY(${p.add(spec.toPort, "::int[]")}))`);
  if (spec.protocol?.length) {
    const parts = spec.protocol.map((x) => PROTOCOLS[x.toLowerCase()]).filter(Boolean);
    out.push(parts.length ? `(${parts.join(" OR ")})` : "false");
  }
  if (spec.httpStatus?.length) {
    out.push(`(${spec.httpStatus.map((s) => `f.http_code BETWEEN ${p.add(s.min, "::int")} AND ${p.add(s.max, "::int")}`).join(" OR ")})`);
  }
  if (spec.httpMethod?.length) out.push(`upper(f.http_method) = ANY(${p.add(spec.httpMethod.map((m) => m.toUpperCase()), "::text[]")})`);
  if (spec.httpPath?.length) {
    out.push(`(${spec.httpPath.map((re) => `${HTTP_PATH_SQL} ~ ${p.add(re, "::text")}`).join(" OR ")})`);
  }
  if (spec.dnsQuery?.length) {
    out.push(`(f.l7_kind = 100 AND (${spec.dnsQuery.map((re) => `coalesce(f.dns_query, '') ~ ${p.add(re, "::text")}`).join(" OR ")}))`);
  }
  if (spec.tcpFlags?.length) {
    out.push(`(f.l4 = 1 AND f.tcp_flags IS NOT NULL AND (${spec.tcpFlags.map((m) => `(f.tcp_flags & ${p.add(m, "::int")}) = ${p.add(m, "::int")}`).join(" OR ")}))`);
  }
  if (spec.traceId?.length) {
    // trace_context (field 30) is kept in `rest` as the bytes the agent sent; TraceContext and
    // TraceParent have one field each, so a trace id has exactly one encoding
    out.push(`(${spec.traceId.map((id) => `position(${p.add(traceContextBytes(id), "::bytea")} in coalesce(f.rest, ''::bytea)) > 0`).join(" OR ")})`);
  }
  if (spec.uuid?.length) {
    const ids = spec.uuid.filter((u) => UUID.test(u));
    out.push(ids.length ? `f.key = ANY(${p.add(ids, "::uuid[]")})` : "false");
  }
  return out;
}

/** The encoded Flow field trace_context {parent {trace_id}} as it appears in the wire bytes. */
export function traceContextBytes(traceId: string): Buffer {
  return Buffer.from(toBinary(FlowSchema, create(FlowSchema, { traceContext: { parent: { traceId } } })));
}
