/**
 * Flows in hubble's JSON form (`hubble observe -o jsonpb`: protojson with proto field names), for
 * every reader: history, live, exports, quarantine. One place, because one case needs care: the
 * `extensions` field is a google.protobuf.Any whose type nobody here can know, and protojson
 * refuses to write an Any it cannot resolve. Such a field is written as {"@type", "value"} with
 * the value's bytes in base64 (what protojson itself does for bytes), instead of failing the flow.
 */
import { clone, toJson } from "@bufbuild/protobuf";
import { FlowSchema, type Flow } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema, type GetFlowsResponse } from "@/proto/gen/observer/observer_pb";

const OPTIONS = { useProtoFieldName: true } as const;

function unresolvedAny(flow: Flow): Record<string, unknown> | null {
  const x = flow.extensions;
  return x ? { "@type": x.typeUrl, value: Buffer.from(x.value).toString("base64") } : null;
}

export function flowJson(flow: Flow): Record<string, unknown> {
  try {
    return toJson(FlowSchema, flow, OPTIONS) as Record<string, unknown>;
  } catch (e) {
    const ext = unresolvedAny(flow);
    if (!ext) throw e;
    const bare = clone(FlowSchema, flow);
    bare.extensions = undefined;
    return { ...(toJson(FlowSchema, bare, OPTIONS) as Record<string, unknown>), extensions: ext };
  }
}

export function responseJson(resp: GetFlowsResponse): Record<string, unknown> {
  if (resp.responseTypes.case !== "flow") return toJson(GetFlowsResponseSchema, resp, OPTIONS) as Record<string, unknown>;
  try {
    return toJson(GetFlowsResponseSchema, resp, OPTIONS) as Record<string, unknown>;
  } catch (e) {
    const flow = resp.responseTypes.value;
    if (!flow.extensions) throw e;
    const bare = clone(GetFlowsResponseSchema, resp);
    (bare.responseTypes.value as Flow).extensions = undefined;
    return { ...(toJson(GetFlowsResponseSchema, bare, OPTIONS) as Record<string, unknown>), flow: flowJson(flow) };
  }
}
