/**
 * Split and rebuild, property-based: for any GetFlowsResponse generated from the schema (boundary
 * values in every field, unknown enum numbers, unknown fields at every level), a well-formed one
 * splits into a row that rebuilds to the same message (bytes equal after a decode/encode round
 * trip, unknown fields included) and the same hubble JSON; one that is not is called malformed.
 * The same through PostgreSQL and gRPC: tests/integration/ingest-fuzz.test.ts.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FlowSchema } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { responseJson } from "@/server/flow-codec/flow-json";
import { rebuildResponseBytes, storedFlowOf } from "@/server/flow-codec/rebuild-flow";
import { splitResponse } from "@/server/flow-codec/split-flow";
import { messageArb, textArb, timestampArb, unknownFieldsArb, unknownFields } from "../fixtures/proto-arbitrary";

const responseArb = fc.record({
  flow: messageArb(FlowSchema),
  time: fc.option(timestampArb, { nil: undefined }),
  nodeName: fc.option(textArb, { nil: undefined }),
  unknown: unknownFieldsArb,
});

const canonical = (b: Uint8Array) => Buffer.from(toBinary(GetFlowsResponseSchema, fromBinary(GetFlowsResponseSchema, b))).toString("hex");

describe("split/rebuild on generated responses", () => {
  it("gives back every well-formed response exactly and calls the rest malformed", () => {
    fc.assert(
      fc.property(responseArb, (g) => {
        const resp = create(GetFlowsResponseSchema, {
          responseTypes: { case: "flow", value: g.flow as never },
          ...(g.nodeName !== undefined ? { nodeName: g.nodeName } : {}),
          ...(g.time ? { time: g.time } : {}),
        });
        const extra = unknownFields(g.unknown, GetFlowsResponseSchema);
        if (extra.length) (resp as { $unknown?: unknown }).$unknown = extra;
        const bytes = Buffer.from(toBinary(GetFlowsResponseSchema, resp));
        let json: Record<string, unknown> | null = null;
        try {
          json = responseJson(fromBinary(GetFlowsResponseSchema, bytes));
        } catch {
          json = null;
        }
        const split = splitResponse(bytes);
        if (json === null) {
          expect(split.kind).toBe("malformed");
          return;
        }
        expect(split.kind === "malformed" ? split.error : split.kind).toBe("flow");
        if (split.kind !== "flow") return;
        const { flow, ctx } = storedFlowOf(split.row);
        const rebuilt = rebuildResponseBytes(flow, ctx);
        expect(canonical(rebuilt)).toBe(canonical(bytes));
        expect(responseJson(fromBinary(GetFlowsResponseSchema, rebuilt))).toEqual(json);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 200) },
    );
    // 200 generated responses take ~5 s alone; a busy shared machine has taken 32 s
  }, 120_000);
});
