/**
 * Rebuilds the exact GetFlowsResponse a stored flow came from: the context's original bytes, the
 * per-flow columns re-encoded, and the leftover bytes. Field order may differ from the wire; the
 * message is the same.
 */
import type { FlowRow } from "./split-flow";
import { responseBytes, uuidText, type StoredContext, type StoredFlow } from "./response-writer";

export type { StoredContext, StoredFlow };

export function rebuildResponseBytes(f: StoredFlow, ctx: StoredContext): Buffer {
  return responseBytes(f, ctx);
}

/** What the store keeps of a split flow, without a round trip through the database (tests, benches). */
export function storedFlowOf(row: FlowRow): { flow: StoredFlow; ctx: StoredContext } {
  return {
    flow: {
      ts: row.ts,
      key: row.key.toString("hex"),
      keyDerived: row.keyDerived,
      l4: row.l4,
      sport: row.sport,
      dport: row.dport,
      tcpFlags: row.tcpFlags,
      summary: row.summary ? row.summary.toString("utf8") : null,
      l7: row.l7,
      rest: row.rest,
      respTs: row.respTs,
      tsSynthetic: row.tsSynthetic,
      respRest: row.respRest,
    },
    ctx: { raw: row.ctxRaw, responseNodeName: row.responseNodeName, nodeName: row.nodeName },
  };
}

export { uuidText };
