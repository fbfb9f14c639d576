/**
 * Agent events as stored (agent_events): the policy changes and agent starts /policies turns into
 * moments. Low volume; written one small batch at a time, redeliveries ignored by (ts, hash).
 */
import { createHash } from "node:crypto";
import type { AgentEventKind, AgentPolicyEvent } from "@/server/domain/policies/policy-moments";
import type { Database } from "./connection";

export interface AgentEventRow {
  ts: bigint;
  nodeName: string | null;
  /** AgentEventType number */
  type: number;
  revision: bigint | null;
  policy: string | null;
  labels: string[];
  raw: Uint8Array;
}

/** AgentEventType numbers (hubble-api.md) of the events moments use */
export const AGENT_STARTED = 2;
export const POLICY_UPDATED = 3;
export const POLICY_DELETED = 4;

const KINDS: Record<number, AgentEventKind> = { [AGENT_STARTED]: "agent-started", [POLICY_UPDATED]: "policy-updated", [POLICY_DELETED]: "policy-deleted" };

export class AgentEventsRepo {
  constructor(private readonly db: Database) {}

  /** stores events not stored yet; returns how many were new */
  async add(rows: AgentEventRow[]): Promise<number> {
    if (!rows.length) return 0;
    const values: unknown[] = [];
    const tuples = rows.map((r, i) => {
      values.push(r.ts.toString(), createHash("md5").update(r.raw).digest(), r.nodeName, r.type, r.revision?.toString() ?? null, r.policy, r.labels, Buffer.from(r.raw));
      const b = i * 8;
      return `($${b + 1}::bigint, $${b + 2}::bytea, $${b + 3}, $${b + 4}::int, $${b + 5}::numeric, $${b + 6}, $${b + 7}::text[], $${b + 8}::bytea)`;
    });
    const res = await this.db.query<{ id: number }>(
      `INSERT INTO agent_events (ts, hash, node_name, type, revision, policy, labels, raw) VALUES ${tuples.join(", ")}
       ON CONFLICT (ts, hash) DO NOTHING RETURNING id`,
      values,
    );
    return res.length;
  }

  /** newest stored event time (ns): where a resume starts */
  /** the newest stored event's time (of one node's events, when given) */
  async newestNs(nodeName?: string): Promise<bigint | null> {
    const r =
      nodeName === undefined
        ? await this.db.query<{ ts: string | null }>("SELECT max(ts)::text AS ts FROM agent_events")
        : await this.db.query<{ ts: string | null }>("SELECT max(ts)::text AS ts FROM agent_events WHERE node_name = $1", [nodeName]);
    return r[0]?.ts ? BigInt(r[0].ts) : null;
  }

  async count(): Promise<number> {
    const r = await this.db.query<{ n: number }>("SELECT count(*)::int AS n FROM agent_events");
    return r[0]?.n ?? 0;
  }

  /** policy updates/deletions and agent starts in [since, until), oldest first */
  async policyEvents(sinceNs?: bigint, untilNs?: bigint, signal?: AbortSignal): Promise<AgentPolicyEvent[]> {
    const where = [`type = ANY($1::int[])`];
    const params: unknown[] = [Object.keys(KINDS).map(Number)];
    if (sinceNs !== undefined) where.push(`ts >= $${params.push(sinceNs.toString())}::bigint`);
    if (untilNs !== undefined) where.push(`ts < $${params.push(untilNs.toString())}::bigint`);
    const rows = await this.db.api.query<{ ts: string; node_name: string | null; type: number; revision: string | null; policy: string | null }>(
      `SELECT ts::text, node_name, type, revision::text, policy FROM agent_events WHERE ${where.join(" AND ")} ORDER BY ts, id`,
      params,
      { signal },
    );
    return rows.map((r) => {
      const e: AgentPolicyEvent = { node: r.node_name ?? "", timeNs: BigInt(r.ts), kind: KINDS[r.type] };
      if (r.revision !== null) e.revision = BigInt(r.revision);
      if (r.policy) e.policy = r.policy;
      return e;
    });
  }
}
