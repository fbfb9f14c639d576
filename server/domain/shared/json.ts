/**
 * Tiny readers for hubble JSON, for the server and the browser. Flows are untyped (Record<string, unknown>) on purpose: agents newer
 * than our protos add fields and enum values, and the UI must show whatever arrived without
 * trusting its shape.
 */
export type Json = Record<string, unknown>;

export function obj(v: unknown): Json | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined;
}

export function str(v: unknown): string | undefined {
  if (typeof v === "string") return v === "" ? undefined : v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  return undefined;
}

export function num(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function strings(v: unknown): string[] {
  return arr(v).filter((x): x is string => typeof x === "string" && x !== "");
}

export function objects(v: unknown): Json[] {
  return arr(v)
    .map(obj)
    .filter((x): x is Json => x !== undefined);
}

/** `v` as an object to read fields from, else an empty one, so a chain of reads never throws. */
export function record(v: unknown): Json {
  return obj(v) ?? {};
}

/** Every string of an array, empty ones included (a label or name list keeps its entries). */
export function strs(v: unknown): string[] {
  return arr(v).filter((x): x is string => typeof x === "string");
}

/** A non-empty string; unlike `str`, nothing else is turned into one. */
export function text(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}
