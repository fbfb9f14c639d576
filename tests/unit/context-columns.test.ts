/**
 * contextColumns remembers endpoint columns by the endpoint's bytes (a new context's main cost):
 * whatever order contexts come in, and however an endpoint is spelled (twice, merged), the columns
 * are those of the endpoint the full decode gives.
 */
import { createHash } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EndpointSchema, FlowSchema, type Endpoint } from "@/proto/gen/flow/flow_pb";
import { contextColumns, pgText } from "@/server/flow-codec/context-columns";
import { messageArb } from "../fixtures/proto-arbitrary";

const md5hex = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const expected = (ep: Endpoint | undefined) =>
  ep ? { hash: md5hex(toBinary(EndpointSchema, ep)), epId: ep.ID ? String(ep.ID) : null, labels: ep.labels.length, podName: ep.podName ? pgText(ep.podName) : null } : null;
const got = (c: ReturnType<typeof contextColumns>["src"]) => (c ? { hash: c.hash, epId: c.epId, labels: c.labels.length, podName: c.podName } : null);

describe("contextColumns", () => {
  it("gives each context its own endpoints' columns, repeated endpoints included", () => {
    const endpoint = messageArb(EndpointSchema);
    fc.assert(
      fc.property(fc.array(fc.option(endpoint, { nil: undefined }), { minLength: 1, maxLength: 4 }), fc.array(fc.tuple(fc.nat(3), fc.nat(3), fc.boolean()), { maxLength: 12 }), (eps, picks) => {
        for (const [s, d, twice] of picks) {
          const src = eps[s % eps.length];
          const dst = eps[d % eps.length];
          let raw = Buffer.from(toBinary(FlowSchema, create(FlowSchema, { source: src as never, destination: dst as never })));
          // the same field again: the decoder merges both into one endpoint
          if (twice && dst) raw = Buffer.concat([raw, Buffer.from(toBinary(FlowSchema, create(FlowSchema, { source: dst as never })))]);
          const f = fromBinary(FlowSchema, raw);
          const cols = contextColumns(raw);
          expect(got(cols.src)).toEqual(expected(f.source));
          expect(got(cols.dst)).toEqual(expected(f.destination));
        }
      }),
      { numRuns: 300 },
    );
  });
});
