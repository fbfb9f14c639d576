/**
 * Endpoints, policies, flow contexts and summaries: written once per distinct value and cached in
 * memory both ways (hash → id for the writer, id → context for readers). Rows are immutable, so
 * the caches never go stale; they are bounded and simply start over when full.
 */
import { contextColumns, pgText, type ContextColumns, type EndpointColumns, type PolicyColumns } from "@/server/flow-codec/context-columns";
import { BoundedMap } from "@/server/domain/shared/bounded-map";
import type { Database, Queryable } from "../connection";

const MAX_CACHE = 200_000;

export interface ContextRecord {
  id: number;
  raw: Buffer;
  nodeName: string;
  responseNodeName: string | null;
}

export interface NewContext {
  hash: Buffer;
  raw: Buffer;
  responseNodeName: string | null;
}

interface Row {
  id: number;
  hash: string;
}

export class DimensionRepo {
  private contextIds = new BoundedMap<string, number>(MAX_CACHE);
  private contextIdsByBuffer = new WeakMap<Buffer, number>();
  /** is_reply per context id, for rollups (set together with contextIds) */
  private replies = new BoundedMap<number, boolean | null>(MAX_CACHE);
  private endpointIds = new BoundedMap<string, number>(MAX_CACHE);
  private policyIds = new BoundedMap<string, number>(MAX_CACHE);
  private summaryIds = new BoundedMap<string, number>(MAX_CACHE);
  private contexts = new BoundedMap<number, ContextRecord>(MAX_CACHE);
  private summaries = new BoundedMap<number, string>(MAX_CACHE);

  constructor(private readonly db: Database) {}

  /** hash (binary) → id, or undefined when not yet known */
  cachedContextId(hash: Buffer): number | undefined {
    // by the Buffer itself first: the split hands every flow of a context the same one
    // (context-key.ts), which saves a string per flow and lookup; ids never change, so an entry
    // outliving a clear of contextIds is still right
    let id = this.contextIdsByBuffer.get(hash);
    if (id === undefined) {
      id = this.contextIds.get(hash.toString("latin1"));
      if (id !== undefined) this.contextIdsByBuffer.set(hash, id);
    }
    return id;
  }

  cachedSummaryId(text: string): number | undefined {
    return this.summaryIds.get(text);
  }

  /**
   * Inserts (or finds) contexts not yet cached and caches their ids. A context that does not decode
   * (a string that is not UTF-8, a field that does not parse) is left out: returns its hash (latin1)
   * → the reason, and the flows that carry it are quarantined by the caller.
   */
  async resolveContexts(fresh: NewContext[], q: Queryable = this.db): Promise<Map<string, string>> {
    const rejected = new Map<string, string>();
    if (fresh.length === 0) return rejected;
    const decoded: { c: NewContext; cols: ContextColumns }[] = [];
    for (const c of fresh) {
      try {
        decoded.push({ c, cols: contextColumns(c.raw) });
      } catch (e) {
        rejected.set(c.hash.toString("latin1"), `flow: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (decoded.length === 0) return rejected;
    const endpoints = new Map<string, EndpointColumns>();
    const policies = new Map<string, PolicyColumns>();
    for (const { cols } of decoded) {
      for (const e of [cols.src, cols.dst]) if (e) endpoints.set(e.hash, e);
      for (const p of [...cols.ingressAllowedBy, ...cols.egressAllowedBy, ...cols.ingressDeniedBy, ...cols.egressDeniedBy])
        policies.set(p.hash, p);
    }
    await this.upsertEndpoints([...endpoints.values()].filter((e) => !this.endpointIds.has(e.hash)), q);
    await this.upsertPolicies([...policies.values()].filter((p) => !this.policyIds.has(p.hash)), q);

    const ep = (e: EndpointColumns | null) => (e ? this.endpointIds.get(e.hash)! : null);
    const pol = (ps: PolicyColumns[]) => ps.map((p) => this.policyIds.get(p.hash)!);
    const records = decoded.map(({ c, cols }) => ({
      hash: c.hash.toString("hex"),
      raw: c.raw.toString("base64"),
      node_name: cols.nodeName,
      response_node_name: c.responseNodeName === null ? null : pgText(c.responseNodeName),
      verdict: cols.verdict,
      drop_reason: cols.dropReason,
      flow_type: cols.flowType,
      event_type: cols.eventType,
      event_sub_type: cols.eventSubType,
      direction: cols.direction,
      is_reply: cols.isReply,
      trace_point: cols.tracePoint,
      ip_version: cols.ipVersion,
      src_ip: cols.srcIp,
      dst_ip: cols.dstIp,
      src_endpoint_id: ep(cols.src),
      dst_endpoint_id: ep(cols.dst),
      src_names: cols.srcNames,
      dst_names: cols.dstNames,
      src_service: cols.srcService,
      dst_service: cols.dstService,
      ingress_allowed_by: pol(cols.ingressAllowedBy),
      egress_allowed_by: pol(cols.egressAllowedBy),
      ingress_denied_by: pol(cols.ingressDeniedBy),
      egress_denied_by: pol(cols.egressDeniedBy),
    }));
    const rows = await q.query<Row>(
      `INSERT INTO flow_contexts (hash, raw, node_name, response_node_name, verdict, drop_reason, flow_type,
         event_type, event_sub_type, direction, is_reply, trace_point, ip_version, src_ip, dst_ip,
         src_endpoint_id, dst_endpoint_id, src_names, dst_names, src_service, dst_service,
         ingress_allowed_by, egress_allowed_by, ingress_denied_by, egress_denied_by)
       SELECT decode(x.hash, 'hex'), decode(x.raw, 'base64'), x.node_name, x.response_node_name, x.verdict,
         x.drop_reason, x.flow_type, x.event_type, x.event_sub_type, x.direction, x.is_reply, x.trace_point,
         x.ip_version, x.src_ip::inet, x.dst_ip::inet, x.src_endpoint_id, x.dst_endpoint_id,
         ARRAY(SELECT json_array_elements_text(x.src_names)), ARRAY(SELECT json_array_elements_text(x.dst_names)),
         x.src_service, x.dst_service,
         ARRAY(SELECT json_array_elements_text(x.ingress_allowed_by)::int),
         ARRAY(SELECT json_array_elements_text(x.egress_allowed_by)::int),
         ARRAY(SELECT json_array_elements_text(x.ingress_denied_by)::int),
         ARRAY(SELECT json_array_elements_text(x.egress_denied_by)::int)
       FROM json_to_recordset($1::json) AS x(hash text, raw text, node_name text, response_node_name text,
         verdict int, drop_reason bigint, flow_type int, event_type int, event_sub_type int, direction int,
         is_reply boolean, trace_point int, ip_version int, src_ip text, dst_ip text, src_endpoint_id int,
         dst_endpoint_id int, src_names json, dst_names json, src_service text, dst_service text,
         ingress_allowed_by json, egress_allowed_by json, ingress_denied_by json, egress_denied_by json)
       ON CONFLICT (hash) DO UPDATE SET hash = EXCLUDED.hash
       RETURNING id, encode(hash, 'hex') AS hash`,
      [JSON.stringify(records)],
    );
    const replyByHash = new Map(decoded.map(({ c, cols }) => [c.hash.toString("hex"), cols.isReply]));
    for (const r of rows) {
      this.contextIds.set(Buffer.from(r.hash, "hex").toString("latin1"), r.id);
      this.replies.set(r.id, replyByHash.get(r.hash) ?? null);
    }
    return rejected;
  }

  /** is_reply of a context resolved by this process (every context a batch uses is) */
  contextIsReply(id: number): boolean | null {
    return this.replies.get(id) ?? null;
  }

  private async upsertEndpoints(list: EndpointColumns[], q: Queryable): Promise<void> {
    if (list.length === 0) return;
    const rows = await q.query<Row>(
      `INSERT INTO endpoints (hash, ep_id, identity, namespace, pod_name, labels, workloads, cluster)
       SELECT decode(x.hash, 'hex'), x."epId"::bigint, x.identity::bigint, x.namespace, x."podName",
         ARRAY(SELECT json_array_elements_text(x.labels)), ARRAY(SELECT json_array_elements_text(x.workloads)),
         x.cluster
       FROM json_to_recordset($1::json) AS x(hash text, "epId" text, identity text, namespace text,
         "podName" text, labels json, workloads json, cluster text)
       ON CONFLICT (hash) DO UPDATE SET hash = EXCLUDED.hash
       RETURNING id, encode(hash, 'hex') AS hash`,
      [JSON.stringify(list)],
    );
    for (const r of rows) this.endpointIds.set(r.hash, r.id);
  }

  private async upsertPolicies(list: PolicyColumns[], q: Queryable): Promise<void> {
    if (list.length === 0) return;
    const rows = await q.query<Row>(
      `INSERT INTO policies (hash, name, namespace, kind, revision, labels)
       SELECT decode(x.hash, 'hex'), x.name, x.namespace, x.kind, x.revision::numeric,
         ARRAY(SELECT json_array_elements_text(x.labels))
       FROM json_to_recordset($1::json) AS x(hash text, name text, namespace text, kind text, revision text,
         labels json)
       ON CONFLICT (hash) DO UPDATE SET hash = EXCLUDED.hash
       RETURNING id, encode(hash, 'hex') AS hash`,
      [JSON.stringify(list)],
    );
    for (const r of rows) this.policyIds.set(r.hash, r.id);
  }

  /** texts: text → md5 hex; caches their ids by text */
  async resolveSummaries(texts: Map<string, string>, q: Queryable = this.db): Promise<void> {
    if (texts.size === 0) return;
    const byHash = new Map([...texts].map(([text, hash]) => [hash, text]));
    const list = [...byHash].map(([hash, text]) => ({ hash, text: pgText(text) }));
    const rows = await q.query<Row>(
      `INSERT INTO summaries (hash, text)
       SELECT decode(x.hash, 'hex'), x.text FROM json_to_recordset($1::json) AS x(hash text, text text)
       ON CONFLICT (hash) DO UPDATE SET hash = EXCLUDED.hash
       RETURNING id, encode(hash, 'hex') AS hash`,
      [JSON.stringify(list)],
    );
    for (const r of rows) this.summaryIds.set(byHash.get(r.hash)!, r.id);
  }

  /** Contexts by id for readers (rebuilding flows); an API read (db.api), like the other lookups below. */
  async contextsById(ids: Iterable<number>, signal?: AbortSignal): Promise<Map<number, ContextRecord>> {
    const out = new Map<number, ContextRecord>();
    const missing: number[] = [];
    for (const id of ids) {
      const c = this.contexts.get(id);
      if (c) out.set(id, c);
      else missing.push(id);
    }
    if (missing.length) {
      const rows = await this.db.api.query<{ id: number; raw: Uint8Array; node_name: string | null; response_node_name: string | null }>(
        `SELECT id, raw, node_name, response_node_name FROM flow_contexts WHERE id = ANY($1::int[])`,
        [missing],
        { signal },
      );
      for (const r of rows) {
        const rec: ContextRecord = {
          id: r.id,
          raw: Buffer.from(r.raw),
          nodeName: r.node_name ?? "",
          responseNodeName: r.response_node_name,
        };
        this.contexts.set(r.id, rec);
        out.set(r.id, rec);
      }
    }
    return out;
  }

  async summariesById(ids: Iterable<number>, signal?: AbortSignal): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const missing: number[] = [];
    for (const id of ids) {
      const s = this.summaries.get(id);
      if (s !== undefined) out.set(id, s);
      else missing.push(id);
    }
    if (missing.length) {
      const rows = await this.db.api.query<{ id: number; text: string }>(
        `SELECT id, text FROM summaries WHERE id = ANY($1::int[])`,
        [missing],
        { signal },
      );
      for (const r of rows) {
        this.summaries.set(r.id, r.text);
        out.set(r.id, r.text);
      }
    }
    return out;
  }

  /** Every stored context with an id above `afterId` (for the decoded catalog). */
  async contextsAfter(afterId = 0): Promise<ContextRecord[]> {
    const rows = await this.db.api.query<{ id: number; raw: Uint8Array; node_name: string | null; response_node_name: string | null }>(
      `SELECT id, raw, node_name, response_node_name FROM flow_contexts WHERE id > $1 ORDER BY id`,
      [afterId],
    );
    return rows.map((r) => {
      const rec: ContextRecord = { id: r.id, raw: Buffer.from(r.raw), nodeName: r.node_name ?? "", responseNodeName: r.response_node_name };
      this.contexts.set(r.id, rec);
      return rec;
    });
  }
}

export type { ContextColumns };
