/**
 * The flows of `npm run bench:load`, shared by its relay (which sends them) and the bench (which
 * works out what each viewer's filter matched). Flow i is template i % TEMPLATES (bench-flows.ts:
 * ~600 conversations in 12 namespaces, 10 % DNS, 8 % HTTP, 3 % drops) with its own time and uuid,
 * so the relay sends pre-encoded bytes plus two fields (cheap at 10k/s) and the bench knows every
 * flow from its index: the uuid carries the index, the time is START + i × step.
 */
import { clone, toBinary, toJson } from "@bufbuild/protobuf";
import { FlowSchema, type Flow } from "@/proto/gen/flow/flow_pb";
import type { FlowItem, FlowJson } from "@/server/domain/flows/flow-item";
import { encodeLen, encodeTag, encodeVarint, WIRE_LEN } from "@/server/flow-codec/wire";
import { benchFlows } from "./bench-flows";

export const TEMPLATES = 20_000;
const UUID_PREFIX = "10ad0000-0000-4000-8000-";
const FLOW_TIME = 1;
const FLOW_UUID = 34;
const RESP_FLOW = 1;
const RESP_NODE_NAME = 1000;
const RESP_TIME = 1001;

export function uuidOf(i: number): string {
  return UUID_PREFIX + i.toString(16).padStart(12, "0");
}

/** The index in a key the server sent (the uuid), or -1 when it is not one of ours. */
export function indexOfKey(key: string): number {
  return key.startsWith(UUID_PREFIX) ? parseInt(key.slice(UUID_PREFIX.length), 16) : -1;
}

export interface Template {
  flow: Flow;
  nodeName: string;
  /** the Flow's bytes without time and uuid */
  bytes: Buffer;
}

export function templates(): Template[] {
  const out: Template[] = [];
  for (const r of benchFlows(TEMPLATES, 0n)) {
    const flow = clone(FlowSchema, r.responseTypes.value as Flow);
    flow.time = undefined;
    flow.uuid = "";
    out.push({ flow, nodeName: r.nodeName, bytes: Buffer.from(toBinary(FlowSchema, flow)) });
  }
  return out;
}

/** What the filters of the bench look at: the template as the API shows it (time and uuid aside). */
export function templateItem(t: Template, i: number): FlowItem {
  const flow = toJson(FlowSchema, t.flow, { useProtoFieldName: true }) as FlowJson;
  return { key: uuidOf(i), flow: { ...flow, uuid: uuidOf(i) }, node_name: t.nodeName };
}

function timestamp(out: number[], fieldNo: number, ns: bigint): void {
  const body: number[] = [];
  const seconds = ns / 1_000_000_000n;
  const nanos = Number(ns % 1_000_000_000n);
  if (seconds) encodeTag(body, 1, 0), encodeVarint(body, seconds);
  if (nanos) encodeTag(body, 2, 0), encodeVarint(body, nanos);
  encodeLen(out, fieldNo, body);
}

/** GetFlowsResponse bytes of flow i at `timeNs`. */
export function responseBytes(t: Template, i: number, timeNs: bigint): Buffer {
  const tail: number[] = [];
  timestamp(tail, FLOW_TIME, timeNs);
  encodeLen(tail, FLOW_UUID, Buffer.from(uuidOf(i), "utf8"));
  const flowLen = t.bytes.length + tail.length;
  const head: number[] = [];
  encodeTag(head, RESP_FLOW, WIRE_LEN);
  encodeVarint(head, flowLen);
  const after: number[] = [];
  encodeLen(after, RESP_NODE_NAME, Buffer.from(t.nodeName, "utf8"));
  timestamp(after, RESP_TIME, timeNs);
  return Buffer.concat([Buffer.from(head), t.bytes, Buffer.from(tail), Buffer.from(after)]);
}
