/**
 * A stored flow as live viewers get it: the API item (hubble JSON) and its SSE frame, made once and
 * shared by every viewer whose filter it matches.
 *
 * A full protobuf decode + toJson costs tens of µs a flow, most of it in the context fields
 * (endpoints with their labels, IPs, policies) that repeat across a conversation. Those are decoded
 * once per context (row.ctxHash, the same split the store uses) and kept; per flow only the few
 * per-flow fields (time, uuid, L4, L7, summary, unknown fields) are decoded. The two JSON objects
 * are joined in field-number order, so the result equals toJson of the whole Flow, key order included
 * (tests/unit/live-flow.test.ts checks that on every recorded flow).
 */
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { FlowSchema } from "@/proto/gen/flow/flow_pb";
import type { FlowItem, FlowJson } from "@/server/domain/flow-item";
import { CONTEXT_FIELDS } from "@/server/flow-codec/flow-fields";
import { uuidText } from "@/server/flow-codec/rebuild-flow";
import type { FlowRow } from "@/server/flow-codec/split-flow";
import { WireCursor } from "@/server/flow-codec/wire";

export class LiveFlow {
  private bytes?: Buffer;

  constructor(
    readonly item: FlowItem,
    /** stored time (ns), what /api/flows `since`/`until` filter on */
    readonly ts: bigint,
    private readonly own?: Record<string, unknown>,
    private readonly ctx?: DecodedContext,
  ) {}

  /** `event: flow` with the item as data; serialised on first use only. */
  get frame(): Buffer {
    return (this.bytes ??= Buffer.from(`event: flow\ndata: ${this.json()}\n\n`, "utf8"));
  }

  /** JSON.stringify(item), with the context fields' text taken from the context's cache. */
  private json(): string {
    const { own, ctx, item } = this;
    if (!own || !ctx) return JSON.stringify(item);
    let flow = "";
    for (const k of JSON_KEY_ORDER) {
      const v = own[k];
      const text = v !== undefined ? JSON.stringify(v) : ctx.json[k] !== undefined ? ctx.text(k) : undefined;
      if (text !== undefined) flow += `${flow ? "," : "{"}${JSON.stringify(k)}:${text}`;
    }
    flow = flow ? `${flow}}` : "{}";
    let out = `{"key":${JSON.stringify(item.key)},"flow":${flow}`;
    if (item.node_name !== undefined) out += `,"node_name":${JSON.stringify(item.node_name)}`;
    if (item.time !== undefined) out += `,"time":${JSON.stringify(item.time)}`;
    return `${out}}`;
  }
}

/** A context's fields as JSON, and each field's JSON text once asked for. */
class DecodedContext {
  private readonly texts = new Map<string, string>();
  constructor(readonly json: Record<string, unknown>) {}
  text(k: string): string {
    let t = this.texts.get(k);
    if (t === undefined) this.texts.set(k, (t = JSON.stringify(this.json[k])));
    return t;
  }
}

/** protojson names of Flow's fields in field-number order, as toJson writes them. */
const JSON_KEY_ORDER: readonly string[] = [...FlowSchema.fields].sort((a, b) => a.number - b.number).map((f) => f.name);

function toFlowJson(bytes: Uint8Array): Record<string, unknown> {
  return toJson(FlowSchema, fromBinary(FlowSchema, bytes), { useProtoFieldName: true }) as Record<string, unknown>;
}

/** The Flow's bytes without its context fields (what differs between flows of one conversation). */
function perFlowBytes(flowBytes: Buffer): Buffer {
  const c = new WireCursor(flowBytes);
  const parts: Buffer[] = [];
  while (!c.done()) {
    c.field();
    if (!CONTEXT_FIELDS.has(c.fieldNo)) parts.push(c.fieldView());
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

export class LiveFlowConverter {
  private readonly contexts = new Map<string, DecodedContext>();

  /** @param maxContexts decoded contexts kept; the cache starts over when it is full */
  constructor(private readonly maxContexts = 20_000) {}

  convert(row: FlowRow): LiveFlow {
    const ctxKey = row.ctxHash.toString("latin1");
    let ctx = this.contexts.get(ctxKey);
    if (!ctx) {
      if (this.contexts.size >= this.maxContexts) this.contexts.clear();
      ctx = new DecodedContext(toFlowJson(row.ctxRaw));
      this.contexts.set(ctxKey, ctx);
    }
    const own = toFlowJson(perFlowBytes(row.flowBytes));
    const flow: Record<string, unknown> = {};
    for (const k of JSON_KEY_ORDER) {
      const v = own[k] ?? ctx.json[k];
      if (v !== undefined) flow[k] = v;
    }
    const json = flow as FlowJson;
    const item: FlowItem = { key: uuidText(row.key.toString("hex")), flow: json, node_name: row.nodeName || undefined, time: json.time };
    return new LiveFlow(item, row.ts, own, ctx);
  }
}

/** The plain way (whole Flow decoded); the reference the converter is tested against. */
export function liveItem(row: FlowRow): FlowItem {
  const flow = toFlowJson(row.flowBytes) as FlowJson;
  return { key: uuidText(row.key.toString("hex")), flow, node_name: row.nodeName || undefined, time: flow.time };
}
