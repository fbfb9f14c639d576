/**
 * Query parameters written into the SQL text, for the statements that take none (COPY (<select>)
 * TO STDOUT). Only the value types our queries bind: strings, numbers, bigints, booleans, bytes
 * and arrays of them. Each literal is parenthesised, so the cast the placeholder carried
 * (`$3::int[]`) applies to it whole and a sign cannot join a neighbouring `-` into a comment.
 * tests/integration/sql-literal.test.ts checks on PostgreSQL that every value reads back the same
 * inlined as bound.
 */
import { sqlString } from "./flows/flow-sql";

export function sqlLiteral(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  if (Array.isArray(v)) return `ARRAY[${v.map(sqlLiteral).join(", ")}]`;
  if (v instanceof Uint8Array) return `'\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex")}'::bytea`;
  switch (typeof v) {
    case "number":
      if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
      return `(${String(v)})`;
    case "bigint":
      return `(${v.toString()})`;
    case "boolean":
      return v ? "true" : "false";
    case "string":
      if (v.includes("\0")) throw new Error("a string with a NUL character cannot be a PostgreSQL value");
      return sqlString(v);
    default:
      throw new Error(`no SQL literal for a ${typeof v}`);
  }
}

/** end (exclusive) of the quoted text starting at `start` (its quote char doubled inside) */
function quotedEnd(sql: string, start: number): number {
  const q = sql[start];
  let i = start + 1;
  for (;;) {
    const j = sql.indexOf(q, i);
    if (j < 0) throw new Error("unterminated quoted text in SQL");
    if (sql[j + 1] === q) i = j + 2;
    else return j + 1;
  }
}

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";

/** `$n` placeholders (outside quoted text) replaced by their values as literals. */
export function inlineParams(sql: string, values: readonly unknown[]): string {
  let out = "";
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const end = quotedEnd(sql, i);
      out += sql.slice(i, end);
      i = end;
    } else if (c === "$" && isDigit(sql[i + 1])) {
      let j = i + 1;
      while (isDigit(sql[j])) j++;
      const n = Number(sql.slice(i + 1, j));
      if (n < 1 || n > values.length) throw new Error(`SQL placeholder $${n} has no value`);
      out += `(${sqlLiteral(values[n - 1])})`;
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
