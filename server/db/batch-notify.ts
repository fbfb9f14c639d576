/**
 * Committed batches announced to the other processes of one deployment with PostgreSQL's
 * LISTEN/NOTIFY (docs/adr/0011-roles-leases-fanout.md). The NOTIFY is sent inside the batch's
 * transaction, so it is delivered exactly when (and only if) the flows are visible. The payload
 * names the batch's time range; readers fetch the rows themselves (a payload holds < 8,000 bytes).
 */
import type { Queryable } from "./connection";

export interface BatchNotice {
  /** the writing process (FLOWLENS_INSTANCE): a process skips its own batches, which it published in-process */
  origin: string;
  /** oldest and newest flow time (ns) in the batch */
  minTs: bigint;
  maxTs: bigint;
  count: number;
  /** the writer's pending rollup rows were upserted with this batch */
  rollupsFlushed: boolean;
}

/** One channel per schema: tests and deployments sharing a database do not hear each other. */
export function batchChannel(schema: string | null): string {
  return `flowlens_batches${schema ? `_${schema}` : ""}`.slice(0, 63);
}

export async function notifyBatch(tx: Queryable, channel: string, n: BatchNotice): Promise<void> {
  const payload = JSON.stringify({ o: n.origin, a: n.minTs.toString(), b: n.maxTs.toString(), n: n.count, r: n.rollupsFlushed ? 1 : 0 });
  await tx.query("SELECT pg_notify($1, $2)", [channel, payload]);
}

export function parseBatchNotice(payload: string): BatchNotice | null {
  try {
    const j = JSON.parse(payload) as { o?: unknown; a?: unknown; b?: unknown; n?: unknown; r?: unknown };
    if (typeof j.o !== "string" || typeof j.a !== "string" || typeof j.b !== "string" || typeof j.n !== "number") return null;
    if (!/^-?\d{1,20}$/.test(j.a) || !/^-?\d{1,20}$/.test(j.b)) return null;
    return { origin: j.o, minTs: BigInt(j.a), maxTs: BigInt(j.b), count: j.n, rollupsFlushed: j.r === 1 };
  } catch {
    return null;
  }
}
