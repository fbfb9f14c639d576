/**
 * Cursors of /api/flows: base64url of "<ts ns>:<key>", the (ts, key) of the last flow of a page
 * (keyset pagination, newest first). With `last`, "<cursor>.<left>" also carries how many of the
 * N newest are still to come (base64url has no dots).
 */

const INT64_MAX = 2n ** 63n - 1n;
const SHAPE = /^(-?\d{1,19}):([0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12})$/;

export function encodeCursor(ts: bigint, key: string): string {
  return Buffer.from(`${ts}:${key}`).toString("base64url");
}

/** The position a cursor names, or null when it is not one this API hands out. */
export function readCursor(cursor: string): { ts: bigint; key: string } | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  const m = SHAPE.exec(Buffer.from(cursor, "base64url").toString());
  if (!m) return null;
  const ts = BigInt(m[1]);
  return ts > INT64_MAX || ts < -INT64_MAX - 1n ? null : { ts, key: m[2] };
}

/** Splits "<cursor>.<left>" (left: 0–9,999,999); a plain cursor has no left. */
export function splitCursor(text: string): { cursor: string; left?: number } {
  const m = /^(.+)\.(\d{1,7})$/.exec(text);
  return m ? { cursor: m[1], left: Number(m[2]) } : { cursor: text };
}
