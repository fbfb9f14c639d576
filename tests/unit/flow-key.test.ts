/**
 * The split's hand-written fast paths (docs/adr/0013) against the definitions they replace,
 * property-based: the stored keys (uuid bytes, derived md5, context md5) and the context bytes must
 * be the very bytes the plain code gave, whatever the input and in whatever order inputs repeat.
 * (Split/rebuild as a whole: flow-codec.test.ts, flow-codec-fuzz.test.ts.)
 */
import { isUtf8 } from "node:buffer";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ContextKeys } from "@/server/flow-codec/context-key";
import { derivedKey, uuidKey } from "@/server/flow-codec/flow-key";
import { canonicalTimestamp, decodeTimestamp, encodeTimestamp, readTimestamp } from "@/server/flow-codec/timestamp";
import { LastBytes, utf8Text } from "@/server/flow-codec/wire";
import { textArb } from "../fixtures/proto-arbitrary";

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const md5 = (...parts: Uint8Array[]) => createHash("md5").update(Buffer.concat(parts)).digest();
const hexChar = fc.constantFrom(..."0123456789abcdefABCDEF-g\u00e9".split(""));
/** uuid-shaped text with the odd wrong character, and anything else */
const uuidLike = fc.oneof(
  fc.uuid(),
  fc.array(hexChar, { minLength: 36, maxLength: 36 }).map((cs) => cs.join("")),
  fc.uuid().chain((u) => fc.tuple(fc.nat(35), hexChar).map(([i, ch]) => u.slice(0, i) + ch + u.slice(i + 1))),
  textArb,
);

describe("flow keys", () => {
  it("uuidKey reads canonical uuids as the hex of their digits, and nothing else", () => {
    fc.assert(
      fc.property(uuidLike, fc.nat(3), (s, pad) => {
        const bytes = Buffer.concat([Buffer.alloc(pad, 0x61), Buffer.from(s, "utf8"), Buffer.alloc(pad, 0x2d)]);
        const got = uuidKey(bytes, pad, bytes.length - pad);
        // the former code: the field as text, tested, its digits as hex
        const text = bytes.subarray(pad, bytes.length - pad).toString("utf8");
        if (CANONICAL_UUID.test(text)) expect(got?.toString("hex")).toBe(Buffer.from(text.replaceAll("-", ""), "hex").toString("hex"));
        else expect(got).toBeNull();
      }),
      { numRuns: 3000 },
    );
  });

  it("derivedKey is md5(node, 0xff, flow bytes)", () => {
    fc.assert(
      fc.property(textArb, fc.uint8Array({ maxLength: 3000 }), (node, flow) => {
        expect(derivedKey(node, flow).equals(md5(Buffer.from(node, "utf8"), Buffer.from([0xff]), flow))).toBe(true);
      }),
    );
  });

  it("context bytes and hash are the concatenation and its md5, for repeated and colliding contexts alike", () => {
    // a small pool, so the same contexts come back (hits) and different ones share lengths
    const part = fc.constantFrom(...["", "a", "ab", "ba", "\u00ff", "abcd", "abce", "x".repeat(1000)].map((s) => Buffer.from(s, "latin1")));
    const marker = fc.option(fc.constantFrom("", "n1", "n2", "\u0000", "é", "\ud800"), { nil: null });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.array(part, { maxLength: 5 }), marker), { minLength: 1, maxLength: 40 }), (flows) => {
        const keys = new ContextKeys();
        for (const [parts, node] of flows) {
          keys.begin();
          // each part inside a larger buffer, as a field lies inside its flow
          for (const p of parts) keys.add(Buffer.concat([Buffer.from("zz"), p, Buffer.from("z")]), 2, 2 + p.length);
          const got = keys.finish(node);
          const raw = Buffer.concat(parts);
          const tail = node === null ? Buffer.from("\u0000same", "utf8") : Buffer.from(node, "utf8");
          expect(got.raw.equals(raw)).toBe(true);
          expect(got.hash.equals(md5(raw, Buffer.from([0xff]), tail))).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("Timestamp fast path", () => {
  it("agrees with the general decode wherever it answers, and answers for ordinary times", () => {
    const canonical = fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map((ns) => Uint8Array.from(encodeTimestamp(ns)));
    // canonical bytes with one byte changed, appended or dropped; and random bytes with the right first tag
    const edited = fc.tuple(canonical, fc.nat(20), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "append", "drop")).map(([b, i, v, how]) => {
      const out = Array.from(b);
      if (how === "append") out.push(v);
      else if (how === "drop") out.splice(i % (out.length || 1), 1);
      else if (out.length) out[i % out.length] = v;
      return Uint8Array.from(out);
    });
    const random = fc.uint8Array({ maxLength: 14 }).map((b) => Uint8Array.from([0x08, ...b]));
    fc.assert(
      fc.property(fc.oneof(canonical, edited, random), (b) => {
        const fast = canonicalTimestamp(b, 0, b.length);
        if (fast !== null) expect(fast).toEqual(decodeTimestamp(b, 0, b.length));
      }),
      { numRuns: 5000 },
    );
    const now = Uint8Array.from(encodeTimestamp(1_800_000_000_123_456_789n));
    expect(canonicalTimestamp(now, 0, now.length)).toEqual({ ns: 1_800_000_000_123_456_789n, invalid: null, exact: true });
  });
});

describe("memos of the last value read", () => {
  it("readTimestamp gives what a fresh read gives, in any order of repeats", () => {
    const ts = fc.oneof(
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((ns) => Uint8Array.from(encodeTimestamp(ns))),
      fc.uint8Array({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(fc.array(ts, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(5), { maxLength: 20 }), (pool, order) => {
        for (const i of order) {
          const b = pool[i % pool.length];
          const got = readTimestamp(b, 0, b.length);
          readTimestamp(Uint8Array.of(0x08, 0x01), 0, 2); // another value read in between
          const fresh = readTimestamp(Buffer.concat([Buffer.from([9]), b]), 1, b.length + 1);
          expect(got).toEqual(fresh);
        }
      }),
    );
  });

  it("the last node name kept (LastBytes + utf8Text) decodes as toString does, strict or not", () => {
    const bytes = fc.oneof(
      textArb.map((s) => Buffer.from(s, "utf8")),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    );
    fc.assert(
      fc.property(fc.array(bytes, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(4), { maxLength: 15 }), (pool, order) => {
        const lenient = new LastBytes(utf8Text(false), 256);
        const strict = new LastBytes(utf8Text(true), 256);
        for (const i of order) {
          const b = pool[i % pool.length];
          expect(lenient.get(b, 0, b.length)).toBe(b.toString("utf8"));
          expect(strict.get(b, 0, b.length)).toBe(isUtf8(b) ? b.toString("utf8") : null);
        }
      }),
    );
  });
});
