/**
 * Values written into SQL text (COPY has no parameters) read back exactly as the same values bound
 * as parameters, on the real PostgreSQL: quotes, backslashes, any Unicode, bytes, arrays, signs.
 */
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineParams } from "@/server/db/sql-literal";
import { PG_BASE_URL } from "@/tests/fixtures/test-db";

let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString: PG_BASE_URL });
  await client.connect();
});
afterAll(async () => {
  await client.end();
});

async function same(sql: string, values: unknown[]): Promise<void> {
  const bound = await client.query({ text: sql, values, rowMode: "array" });
  const inlined = await client.query({ text: inlineParams(sql, values), rowMode: "array" });
  expect(inlined.rows).toEqual(bound.rows);
}

const text = fc.string({ unit: "grapheme", maxLength: 40 }).filter((s) => !s.includes("\0"));

describe("inlineParams", () => {
  it("strings, numbers, bigints, bytes and arrays read back as bound", async () => {
    await fc.assert(
      fc.asyncProperty(
        text,
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.uint8Array({ maxLength: 40 }),
        fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 8 }),
        fc.array(text, { maxLength: 5 }),
        async (s, n, big, bytes, ints, texts) => {
          await same("SELECT $1::text, $2::int, $3::bigint, $4::bytea, $5::int[], $6::text[], 1 - $2::int, $1::text ~ '$1'", [
            s,
            n,
            big.toString(),
            Buffer.from(bytes),
            ints,
            texts,
          ]);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("leaves placeholders inside quoted text alone and refuses a missing value", async () => {
    await same(`SELECT '$1' || $1::text, "x"."$2" FROM (SELECT 1 AS "$2") AS "x"`, ["a'b\\c"]);
    expect(() => inlineParams("SELECT $2::int", [1])).toThrow(/\$2 has no value/);
    expect(() => inlineParams("SELECT 'oops", [])).toThrow(/unterminated/);
  });
});
