/**
 * The live converter (context JSON decoded once per context, per-flow fields per flow) must give
 * exactly what decoding the whole Flow gives — same values, same key order — for every recorded
 * flow, for the builders' flows, and for arbitrary Flows with fields in any wire order and unknown
 * fields a newer agent might send.
 */
import { toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DropReason, FlowSchema, Verdict, type Flow } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { MalformedFlowError, splitFlow, splitResponse, type FlowRow } from "@/server/flow-codec/split-flow";
import { encodeLen, encodeTag, encodeVarint, WireCursor } from "@/server/flow-codec/wire";
import type { FlowItem } from "@/server/domain/flows/flow-item";
import { LiveFlowConverter, liveItem } from "@/server/live/live-flow";
import {
  buildFlow,
  dnsRequest,
  dnsResponse,
  drop,
  endpoint,
  httpRequest,
  httpResponse,
  responseOf,
  toItem,
  worldEndpoint,
} from "../fixtures/flow-builder";
import { recordedResponses } from "../fixtures/recorded-flows";

function rowOf(bytes: Uint8Array): FlowRow {
  const split = splitResponse(Buffer.from(bytes));
  if (split.kind !== "flow") throw new Error(split.kind);
  return split.row;
}

function expectSame(conv: LiveFlowConverter, row: FlowRow): void {
  let full: FlowItem;
  try {
    full = liveItem(row);
  } catch (e) {
    // what hubble's JSON cannot express (a time past year 9999, an Any of an unknown type) fails alike
    expect(() => conv.convert(row)).toThrow((e as Error).message);
    return;
  }
  const fast = conv.convert(row);
  // the text compares key order too: the SSE frame is what hubble's JSON would be
  const text = fast.frame.toString("utf8");
  if (text !== `event: flow\ndata: ${JSON.stringify(full)}\n\n`) expect(fast.item).toEqual(full);
  expect(text).toBe(`event: flow\ndata: ${JSON.stringify(full)}\n\n`);
  expect(fast.ts).toBe(row.ts);
}

/** The flow's top-level fields as separate wire records, to reorder and extend. */
function fieldsOf(flow: Flow): Buffer[] {
  const bytes = Buffer.from(toBinary(FlowSchema, flow));
  const c = new WireCursor(bytes);
  const out: Buffer[] = [];
  while (!c.done()) {
    c.field();
    out.push(Buffer.from(c.fieldView()));
  }
  return out;
}

describe("LiveFlowConverter", () => {
  it("equals the full decode on every recorded flow", () => {
    const conv = new LiveFlowConverter();
    const responses = recordedResponses();
    expect(responses.length).toBeGreaterThan(1900);
    for (const r of responses) expectSame(conv, rowOf(toBinary(GetFlowsResponseSchema, r)));
  });

  it("equals the full decode on built flows (uuid, policies, L7, drops), contexts shared or not", () => {
    const shop = endpoint({ ns: "shop", app: "web" });
    const flows = [
      buildFlow(),
      buildFlow({ source: shop, destination: worldEndpoint(), destinationNames: ["api.example.com"] }),
      dnsRequest("api.github.com."),
      dnsResponse("api.github.com.", { ips: ["140.82.112.5"] }),
      httpRequest("POST", "http://server:8080/cart"),
      httpResponse(503),
      drop({ reason: DropReason.POLICY_DENIED, deniedBy: ["shop/deny-all"] }, { source: shop }),
      buildFlow({ verdict: 77 as Verdict }),
    ];
    const conv = new LiveFlowConverter(3); // tiny cache: it starts over while converting
    for (let round = 0; round < 3; round++) {
      for (const f of flows) {
        const row = rowOf(toBinary(GetFlowsResponseSchema, responseOf(f)));
        expectSame(conv, row);
        if (round === 0) expect(conv.convert(row).item).toEqual(toItem(f));
      }
    }
  });

  it("equals the full decode for any field order and unknown fields (property)", () => {
    const base = [
      buildFlow({ source: endpoint({ ns: "a", app: "x" }) }),
      dnsResponse("example.com.", { rcode: 3 }),
      httpResponse(404),
      drop({ reason: DropReason.CT_MAP_INSERTION_FAILED }),
    ].map(fieldsOf);
    const unknownField = fc
      .tuple(fc.integer({ min: 42, max: 20_000 }), fc.oneof(fc.constant(0), fc.constant(2)), fc.uint8Array({ maxLength: 12 }), fc.nat())
      .map(([no, wire, payload, n]) => {
        const out: number[] = [];
        if (wire === 0) {
          encodeTag(out, no, 0);
          encodeVarint(out, n);
        } else encodeLen(out, no, payload);
        return Buffer.from(out);
      });
    // per-flow fields of every kind, repeated, with text that is not valid UTF-8
    const timestampField = fc.tuple(fc.bigInt({ min: 0n, max: 1n << 40n }), fc.integer({ min: 0, max: 999_999_999 })).map(([seconds, nanos]) => {
      const body: number[] = [];
      if (seconds) encodeTag(body, 1, 0), encodeVarint(body, seconds);
      if (nanos) encodeTag(body, 2, 0), encodeVarint(body, nanos);
      const out: number[] = [];
      encodeLen(out, 1, body);
      return Buffer.from(out);
    });
    const textField = fc.tuple(fc.constantFrom(34, 100000), fc.uint8Array({ maxLength: 40 })).map(([no, bytes]) => {
      const out: number[] = [];
      encodeLen(out, no, bytes);
      return Buffer.from(out);
    });
    const cookieField = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => {
      const out: number[] = [];
      encodeTag(out, 32, 0);
      encodeVarint(out, v);
      return Buffer.from(out);
    });
    const l4Field = fc.constantFrom(...base.map((fields) => fields.find((f) => f[0] === 0x32)!).filter(Boolean));
    const extraField = fc.oneof(unknownField, timestampField, textField, cookieField, l4Field);
    const conv = new LiveFlowConverter(2);
    fc.assert(
      fc.property(fc.nat({ max: base.length - 1 }), fc.array(fc.nat(), { maxLength: 40 }), fc.array(extraField, { maxLength: 5 }), (pick, order, extra) => {
        const fields = [...base[pick], ...extra];
        // a random permutation driven by `order`
        for (let i = fields.length - 1; i > 0; i--) {
          const j = (order[i % Math.max(1, order.length)] ?? 0) % (i + 1);
          [fields[i], fields[j]] = [fields[j], fields[i]];
        }
        const bytes = Buffer.concat(fields);
        let row;
        try {
          row = splitFlow(bytes, { nodeName: "kind-worker", time: null, rest: null, bytes });
        } catch (e) {
          if (e instanceof MalformedFlowError) return; // quarantined by the ingest: never reaches live
          throw e;
        }
        expectSame(conv, row);
      }),
      { numRuns: 500 },
    );
  });
});
