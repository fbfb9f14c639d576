/**
 * A stored flow as live viewers get it: the API item (hubble JSON) and its SSE frame, made once and
 * shared by every viewer whose filter it matches.
 *
 * A full protobuf decode + toJson costs tens of µs a flow: the context fields (endpoints with their
 * labels, IPs, policies) that repeat across a conversation, and creating a whole Flow message even
 * for a few fields. So the context is decoded once per context (row.ctxHash, the same split the
 * store uses) and kept, and each per-flow field (time, L4, L7, uuid, summary) is decoded on its own
 * with its own message type; anything rarer goes through a Flow decode of the per-flow bytes. The
 * JSON objects are joined in field-number order, so the result equals toJson of the whole Flow, key
 * order included (tests/unit/live-flow.test.ts checks that on recorded, built and arbitrary flows).
 */
import { fromBinary, ScalarType, toJson, type DescField } from "@bufbuild/protobuf";
import { flowJson } from "@/server/flow-codec/flow-json";
import { FlowSchema } from "@/proto/gen/flow/flow_pb";
import type { FlowItem, FlowJson } from "@/server/domain/flows/flow-item";
import { CONTEXT_FIELDS } from "@/server/flow-codec/flow-fields";
import { uuidText } from "@/server/flow-codec/rebuild-flow";
import type { FlowRow } from "@/server/flow-codec/split-flow";
import { WIRE_LEN, WireCursor } from "@/server/flow-codec/wire";

/** protojson names of Flow's fields in field-number order, as toJson writes them. */
const JSON_KEY_ORDER: readonly string[] = [...FlowSchema.fields].sort((a, b) => a.number - b.number).map((f) => f.name);
const FIELDS = new Map<number, DescField>(FlowSchema.fields.map((f) => [f.number, f]));
const JSON_OPTIONS = { useProtoFieldName: true } as const;
const utf8 = new TextDecoder(); // as protobuf-es decodes strings: invalid sequences become U+FFFD

/** A context's fields as JSON, and each field's JSON text once asked for. */
export class DecodedContext {
  private readonly texts = new Map<string, string>();
  constructor(
    /** unique per decoded context in this process, for caches keyed by context */
    readonly id: number,
    readonly json: Record<string, unknown>,
  ) {}

  text(k: string): string {
    let t = this.texts.get(k);
    if (t === undefined) this.texts.set(k, (t = JSON.stringify(this.json[k])));
    return t;
  }
}

export class LiveFlow {
  private bytes?: Buffer;

  constructor(
    readonly item: FlowItem,
    /** stored time (ns), what /api/flows `since`/`until` filter on */
    readonly ts: bigint,
    /** the flow's decoded context, shared by the flows of one conversation */
    readonly ctx: DecodedContext,
    private readonly own: Record<string, unknown>,
  ) {}

  /** `event: flow` with the item as data; serialised on first use only. */
  get frame(): Buffer {
    return (this.bytes ??= Buffer.from(`event: flow\ndata: ${this.json()}\n\n`, "utf8"));
  }

  /** JSON.stringify(item), with the context fields' text taken from the context's cache. */
  private json(): string {
    const { own, ctx, item } = this;
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

/** The one JSON form of a Flow (flow-codec/flow-json.ts: an Any nobody can resolve is kept as bytes). */
function toFlowJson(bytes: Uint8Array): Record<string, unknown> {
  return flowJson(fromBinary(FlowSchema, bytes));
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

/**
 * toJson of the per-flow fields, each decoded with its own type: a singular message field with
 * its message type, a string as text. A field seen twice (merged or overwritten on the wire), an
 * Any, or any other kind of field: the whole per-flow part decoded as a Flow.
 */
function perFlowJson(flowBytes: Buffer): Record<string, unknown> {
  const c = new WireCursor(flowBytes);
  const fields: [DescField, Buffer][] = [];
  while (!c.done()) {
    c.field();
    const no = c.fieldNo;
    if (CONTEXT_FIELDS.has(no)) continue;
    const f = FIELDS.get(no);
    if (!f) continue; // unknown to us: toJson leaves it out too
    const plain =
      c.wireType === WIRE_LEN &&
      ((f.fieldKind === "message" && f.message.typeName !== "google.protobuf.Any") || (f.fieldKind === "scalar" && f.scalar === ScalarType.STRING));
    if (!plain || fields.some(([g]) => g === f)) return toFlowJson(perFlowBytes(flowBytes));
    fields.push([f, c.valueView()]);
  }
  const out: Record<string, unknown> = {};
  for (const [f, value] of fields) {
    if (f.fieldKind === "message") out[f.name] = toJson(f.message, fromBinary(f.message, value), JSON_OPTIONS);
    else {
      const text = utf8.decode(value);
      if (text !== "") out[f.name] = text; // an empty string is the default: toJson omits it
    }
  }
  return out;
}

export class LiveFlowConverter {
  private readonly contexts = new Map<string, DecodedContext>();
  private nextId = 0;

  /** @param maxContexts decoded contexts kept; the cache starts over when it is full */
  constructor(private readonly maxContexts = 20_000) {}

  /** Throws what toJson throws for a flow hubble's JSON cannot express (e.g. a time past 9999). */
  convert(row: FlowRow): LiveFlow {
    const ctxKey = row.ctxHash.toString("latin1");
    let ctx = this.contexts.get(ctxKey);
    if (!ctx) {
      if (this.contexts.size >= this.maxContexts) this.contexts.clear();
      ctx = new DecodedContext(this.nextId++, toFlowJson(row.ctxRaw));
      this.contexts.set(ctxKey, ctx);
    }
    const own = perFlowJson(row.flowBytes);
    const flow: Record<string, unknown> = {};
    for (const k of JSON_KEY_ORDER) {
      const v = own[k] ?? ctx.json[k];
      if (v !== undefined) flow[k] = v;
    }
    const json = flow as FlowJson;
    const item: FlowItem = { key: uuidText(row.key.toString("hex")), flow: json, node_name: row.nodeName || undefined, time: json.time };
    return new LiveFlow(item, row.ts, ctx, own);
  }
}

/** The plain way (whole Flow decoded); the reference the converter is tested against. */
export function liveItem(row: FlowRow): FlowItem {
  const flow = toFlowJson(row.flowBytes) as FlowJson;
  return { key: uuidText(row.key.toString("hex")), flow, node_name: row.nodeName || undefined, time: flow.time };
}
