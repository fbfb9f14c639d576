/** The binary COPY encoder against the format written out by hand with Buffer's writers. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CopyBinaryWriter } from "@/server/db/flows/copy-binary";

type Cell = ["int8", bigint | null] | ["int4", number | null] | ["int2", number | null] | ["bool", boolean | null] | ["raw", Uint8Array | null] | ["text", string | null];

const cell: fc.Arbitrary<Cell> = fc.oneof(
  fc.option(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { nil: null }).map((v): Cell => ["int8", v]),
  fc.option(fc.integer(), { nil: null }).map((v): Cell => ["int4", v]),
  fc.option(fc.integer({ min: -32768, max: 32767 }), { nil: null }).map((v): Cell => ["int2", v]),
  fc.option(fc.boolean(), { nil: null }).map((v): Cell => ["bool", v]),
  fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }).map((v): Cell => ["raw", v]),
  fc.option(fc.string({ unit: "grapheme", maxLength: 20 }), { nil: null }).map((v): Cell => ["text", v]),
);

function reference(rows: Cell[][]): Buffer {
  const parts: Buffer[] = [Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), Buffer.alloc(8)];
  const int = (bytes: number, v: number) => {
    const b = Buffer.alloc(bytes);
    if (bytes === 2) b.writeInt16BE(v);
    else b.writeInt32BE(v);
    return b;
  };
  for (const row of rows) {
    parts.push(int(2, row.length));
    for (const [type, v] of row) {
      if (v === null) {
        parts.push(int(4, -1));
        continue;
      }
      if (type === "int8") {
        const b = Buffer.alloc(8);
        b.writeBigInt64BE(v as bigint);
        parts.push(int(4, 8), b);
      } else if (type === "int4") parts.push(int(4, 4), int(4, v as number));
      else if (type === "int2") parts.push(int(4, 2), int(2, v as number));
      else if (type === "bool") parts.push(int(4, 1), Buffer.from([v ? 1 : 0]));
      else {
        const b = type === "text" ? Buffer.from(v as string, "utf8") : Buffer.from(v as Uint8Array);
        parts.push(int(4, b.length), b);
      }
    }
  }
  parts.push(int(2, -1));
  return Buffer.concat(parts);
}

describe("CopyBinaryWriter", () => {
  it("writes what the format says, growing past its first size", () => {
    fc.assert(
      fc.property(fc.array(fc.array(cell, { maxLength: 12 }), { maxLength: 30 }), fc.constantFrom(16, 1024), (rows, size) => {
        const w = new CopyBinaryWriter(size);
        for (const row of rows) {
          w.row(row.length);
          for (const [type, v] of row) (w[type] as (x: unknown) => void)(v);
        }
        expect(w.finish().equals(reference(rows))).toBe(true);
      }),
    );
  });

  it("refuses values its column cannot hold", () => {
    const w = new CopyBinaryWriter();
    expect(() => w.int4(2 ** 31)).toThrow(RangeError);
    expect(() => w.int2(-32769)).toThrow(RangeError);
    expect(() => w.int8(2n ** 63n)).toThrow(RangeError);
  });
});
