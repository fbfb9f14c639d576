import { create, fromBinary, fromJsonString, toBinary, toJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { DropReason, FlowSchema, TCPSchema, Verdict } from "@/proto/gen/flow/flow_pb";
import { splitResponse, type FlowRow } from "@/server/flow-codec/split-flow";
import { rebuildResponseBytes, storedFlowOf } from "@/server/flow-codec/rebuild-flow";
import { recordedLines } from "../fixtures/recorded-flows";

function roundTrip(bytes: Buffer) {
  const split = splitResponse(bytes);
  if (split.kind !== "flow") throw new Error(`not a flow: ${split.kind}`);
  const row = split.row;
  const { flow, ctx } = storedFlowOf(row);
  const rebuilt = rebuildResponseBytes(flow, ctx);
  return { row, rebuilt: fromBinary(GetFlowsResponseSchema, rebuilt) };
}

describe("split and rebuild", () => {
  const lines = recordedLines();

  it("gives back every recorded flow exactly, in hubble's JSON form", () => {
    expect(lines.length).toBeGreaterThan(1900);
    for (const line of lines) {
      const msg = fromJsonString(GetFlowsResponseSchema, line);
      const { rebuilt } = roundTrip(Buffer.from(toBinary(GetFlowsResponseSchema, msg)));
      expect(toJson(GetFlowsResponseSchema, rebuilt, { useProtoFieldName: true })).toEqual(JSON.parse(line));
    }
  });

  it("derives a stable key from node + bytes when the agent sent no uuid", () => {
    const msg = fromJsonString(GetFlowsResponseSchema, lines[0]);
    const bytes = Buffer.from(toBinary(GetFlowsResponseSchema, msg));
    const a = roundTrip(bytes).row;
    const b = roundTrip(Buffer.from(bytes)).row;
    expect(a.keyDerived).toBe(true);
    expect(a.key.equals(b.key)).toBe(true);
    msg.nodeName = "other-node";
    const c = roundTrip(Buffer.from(toBinary(GetFlowsResponseSchema, msg))).row;
    expect(c.key.equals(a.key)).toBe(false);
  });

  it("uses the uuid as key and keeps non-canonical uuids verbatim", () => {
    const flow = create(FlowSchema, {
      time: { seconds: 1_700_000_000n, nanos: 123_456_789 },
      uuid: "0c6b1e4e-2f9c-4d4b-9a53-3c4f5b6a7d8e",
      verdict: Verdict.DROPPED,
      l4: { protocol: { case: "TCP", value: create(TCPSchema, { sourcePort: 1, destinationPort: 2 }) } },
    });
    const resp = create(GetFlowsResponseSchema, { responseTypes: { case: "flow", value: flow }, nodeName: "n1" });
    const { row, rebuilt } = roundTrip(Buffer.from(toBinary(GetFlowsResponseSchema, resp)));
    expect(row.keyDerived).toBe(false);
    expect(row.key.toString("hex")).toBe("0c6b1e4e2f9c4d4b9a533c4f5b6a7d8e");
    expect(rebuilt.responseTypes.value).toEqual(flow);

    flow.uuid = "NOT-A-UUID";
    const odd = roundTrip(Buffer.from(toBinary(GetFlowsResponseSchema, resp)));
    expect(odd.row.keyDerived).toBe(true);
    expect((odd.rebuilt.responseTypes.value as typeof flow).uuid).toBe("NOT-A-UUID");
  });

  it("keeps unknown enum values and unknown fields byte for byte", () => {
    const flow = create(FlowSchema, { time: { seconds: 5n, nanos: 1 }, verdict: 99 as Verdict, dropReasonDesc: 250 as DropReason, nodeName: "n" });
    const resp = create(GetFlowsResponseSchema, { responseTypes: { case: "flow", value: flow } });
    const unknownField = Buffer.from([0xc8, 0x3e, 0x05]); // field 1001 (varint 5): not in our schema
    const flowBytes = Buffer.concat([Buffer.from(toBinary(FlowSchema, flow)), unknownField]);
    const outer = Buffer.concat([Buffer.from([0x0a, flowBytes.length]), flowBytes]);
    void resp;
    const { row, rebuilt } = roundTrip(outer);
    expect(row.rest?.equals(unknownField)).toBe(true);
    const back = rebuilt.responseTypes.value as typeof flow;
    expect(back.verdict).toBe(99);
    expect(back.dropReasonDesc).toBe(250);
    const json = toJson(FlowSchema, back, { useProtoFieldName: true }) as Record<string, unknown>;
    expect(json.verdict).toBe(99);
    expect(json.drop_reason_desc).toBe(250);
  });

  it("calls truncated bytes malformed instead of storing garbage", () => {
    const msg = fromJsonString(GetFlowsResponseSchema, lines[0]);
    const bytes = Buffer.from(toBinary(GetFlowsResponseSchema, msg));
    const split = splitResponse(bytes.subarray(0, bytes.length - 7));
    expect(split.kind).toBe("malformed");
    expect(split.kind === "malformed" && split.error).toMatch(/past the end|truncated/);
  });
});
