/**
 * Ingest fuzz (property-based): GetFlowsResponse messages generated from the schema, with boundary
 * values in every scalar field, unknown enum numbers, unknown fields at every level, 10k-character
 * strings and 2,000-label lists, mixed with malformed ones (not UTF-8, truncated, a Timestamp
 * outside its range), go through the real gRPC path into real PostgreSQL. Then:
 * - every well-formed response is stored once and given back exactly: the same bytes after a
 *   decode/encode round trip (unknown fields included) and the same hubble JSON export;
 * - every malformed one is quarantined with its original bytes;
 * - nothing wedges: everything sent is accounted for within the time limit.
 * Well-formed means: protobuf-es decodes it (strict UTF-8) and it has a JSON form.
 * FUZZ_RUNS=n runs more cases (default 8, each on a fresh schema).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FlowSchema } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { responseJson } from "@/server/flow-codec/flow-json";
import { startRelayServer } from "@/server/demo/relay/relay-server";
import { messageArb, textArb, timestampArb } from "../fixtures/proto-arbitrary";
import { openTestStore } from "../fixtures/test-db";
import { startPipeline, waitFor } from "../fixtures/test-pipeline";

const RUNS = Number(process.env.FUZZ_RUNS ?? 8);

/** How a generated valid response is spoiled, if at all. */
type Spoil = "none" | "utf8" | "truncate" | "nanos";

const responseArb = fc
  .record({
    flow: messageArb(FlowSchema),
    time: fc.option(timestampArb, { nil: undefined }),
    nodeName: fc.option(textArb, { nil: undefined }),
    uuid: fc.constantFrom("canonical", "canonical", "canonical", "odd", "none"),
    spoil: fc.constantFrom<Spoil>("none", "none", "none", "none", "none", "none", "utf8", "truncate", "nanos"),
  });
type Generated = { flow: Record<string, unknown>; time?: { seconds: bigint; nanos: number }; nodeName?: string; uuid: string; spoil: Spoil };

let unique = 0;
/** Encodes a generated response; every flow is made distinct (a fresh uuid, or a distinct label) so none dedups. */
function encode(r: Generated): { bytes: Buffer; spoil: Spoil } {
  const n = ++unique;
  const flow = r.flow as ReturnType<typeof create<typeof FlowSchema>>;
  const hex = n.toString(16).padStart(12, "0");
  if (r.uuid === "canonical") flow.uuid = `${crypto.randomUUID().slice(0, 24)}${hex}`;
  else if (r.uuid === "odd") flow.uuid = `flow #${n}`;
  else {
    flow.uuid = "";
    flow.nodeLabels = [...flow.nodeLabels, `fuzz-unique=${n}`];
  }
  if (r.spoil === "utf8") flow.nodeName = `zz${hex}zz`;
  if (r.spoil === "nanos") flow.time = create(FlowSchema, { time: { seconds: 1n, nanos: 0 } }).time;
  const resp = create(GetFlowsResponseSchema, {
    responseTypes: { case: "flow", value: flow },
    ...(r.nodeName !== undefined ? { nodeName: r.nodeName } : {}),
    ...(r.time ? { time: r.time } : {}),
  });
  let bytes = Buffer.from(toBinary(GetFlowsResponseSchema, resp));
  if (r.spoil === "utf8") {
    const at = bytes.indexOf(`zz${hex}zz`);
    bytes[at + 2] = 0xff; // a lone continuation-less byte: not UTF-8
  } else if (r.spoil === "truncate") bytes = Buffer.from(bytes.subarray(0, readLen(bytes, 1).end - 1)); // the flow ends early
  else if (r.spoil === "nanos") {
    // nanos = 1e9 is outside the Timestamp's range: re-encode the flow's time by hand
    flow.time = undefined;
    const body = Buffer.from(toBinary(GetFlowsResponseSchema, resp));
    const badTime = Buffer.from([0x0a, 0x08, 0x08, 0x01, 0x10, 0x80, 0x94, 0xeb, 0xdc, 0x03]); // time {seconds:1, nanos:1e9}
    // the flow is field 1 of the response: splice the time in as the flow's first field
    const c = readLen(body, 1);
    const inner = Buffer.concat([badTime, body.subarray(c.start, c.end)]);
    bytes = Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner, body.subarray(c.end)]);
  }
  return { bytes, spoil: r.spoil };
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** the payload of the first length-delimited field 1 at the start of `buf` */
function readLen(buf: Buffer, fieldNo: number): { start: number; end: number } {
  if (buf[0] !== ((fieldNo << 3) | 2)) throw new Error("flow is not the first field");
  let len = 0;
  let shift = 0;
  let pos = 1;
  for (;;) {
    const b = buf[pos++];
    len |= (b & 0x7f) << shift;
    if (!(b & 0x80)) break;
    shift += 7;
  }
  return { start: pos, end: pos + len };
}

/** the oracle: does this library decode it and give it a JSON form? */
function wellFormed(bytes: Buffer): boolean {
  try {
    const m = fromBinary(GetFlowsResponseSchema, bytes);
    if (m.responseTypes.case !== "flow") return false;
    responseJson(m);
    return true;
  } catch {
    return false;
  }
}

const canonicalBytes = (b: Uint8Array) => Buffer.from(toBinary(GetFlowsResponseSchema, fromBinary(GetFlowsResponseSchema, b))).toString("base64");

/** a short account of how two multisets differ (fast-check's own report of a 2,000-label flow is megabytes) */
function differences(what: string, got: string[], want: string[]): string[] {
  const count = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  const g = count(got);
  const w = count(want);
  const out: string[] = [];
  for (const [x, n] of w) if ((g.get(x) ?? 0) < n) out.push(`${what}: missing ${x.slice(0, 160)}…`);
  for (const [x, n] of g) if ((w.get(x) ?? 0) < n) out.push(`${what}: unexpected ${x.slice(0, 160)}…`);
  return out.slice(0, 6);
}

describe("ingest fuzz through the real gRPC path", () => {
  it("stores every well-formed response exactly, quarantines every malformed one, and never wedges", async () => {
    const result = await fc.check(
      fc.asyncProperty(fc.array(responseArb, { minLength: 1, maxLength: 40 }), async (generated) => {
        const sent = generated.map(encode);
        const good = sent.filter((s) => wellFormed(s.bytes));
        const bad = sent.filter((s) => !wellFormed(s.bytes));
        // a spoiled one must be malformed by the oracle, or the generator is broken
        for (const s of sent) if (s.spoil !== "none") expect(wellFormed(s.bytes)).toBe(false);

        const store = await openTestStore("postgres");
        const relay = await startRelayServer({ ringSize: 10_000, announceNodes: false });
        const p = startPipeline(store.db, relay.address);
        try {
          await waitFor(() => p.ingest.state === "connected", "a connected stream");
          for (const s of sent) relay.publishRaw(s.bytes, "fuzz-node");
          await waitFor(() => p.ingest.received >= sent.length, `${sent.length} responses received`, 30_000);
          await p.ingest.flush();

          const stored: string[] = [];
          for await (const page of p.reader.allBytes({ filter: {} })) for (const r of page) stored.push(canonicalBytes(r.bytes));
          const exported: string[] = [];
          for await (const page of p.reader.allResponses({ filter: {} })) for (const r of page) exported.push(JSON.stringify(r));
          const q = await store.db.query<{ bytes: Uint8Array; error: string }>("SELECT bytes, error FROM quarantine");
          const quarantined = q.map((r) => Buffer.from(r.bytes).toString("base64"));
          const problems = [
            ...differences("stored bytes", stored, good.map((s) => canonicalBytes(s.bytes))),
            ...differences("exported JSON", exported, good.map((s) => JSON.stringify(responseJson(fromBinary(GetFlowsResponseSchema, s.bytes))))),
            ...differences("quarantined", quarantined, bad.map((s) => s.bytes.toString("base64"))),
          ];
          if (problems.length) {
            const errors = q.map((r) => r.error.slice(0, 200));
            throw new Error(`${sent.length} sent, ${good.length} well-formed, ${bad.length} malformed\n${problems.join("\n")}\nquarantine errors: ${errors.join(" | ")}`);
          }
        } finally {
          await p.stop();
          await relay.stop();
          await store.cleanup();
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    if (result.failed) {
      const why = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
      throw new Error(`failed with seed ${result.seed} (path ${result.counterexamplePath}): ${why.slice(0, 4000)}`);
    }
  });
});
