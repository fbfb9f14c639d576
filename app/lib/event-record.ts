/**
 * /api/status/events returns lost events, gaps and node status records whose exact fields are the
 * backend's to choose (docs/api.md only promises lists). Show whatever arrived as "key value"
 * pairs, with a recognisable time first, rather than guess a schema and show nothing.
 */
import { formatFullLocal, parseRfc3339 } from "./flow-time";

const TIME_KEYS = ["time", "receivedAt", "detectedAt", "at", "recordedAt", "createdAt", "first", "start", "from", "since"];

export interface RecordView {
  time?: string;
  fields: { key: string; value: string }[];
}

function show(v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "string") return parseRfc3339(v) ? formatFullLocal(v) : v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === "string" || typeof x === "number")) return v.join(", ");
  return JSON.stringify(v);
}

export function describeRecord(record: Record<string, unknown>): RecordView {
  const timeKey = TIME_KEYS.find((k) => typeof record[k] === "string" && parseRfc3339(record[k]));
  const fields = Object.entries(record)
    .filter(([k, v]) => k !== timeKey && v !== undefined && v !== null && v !== "")
    .map(([key, value]) => ({ key, value: show(value) }));
  return { time: timeKey ? formatFullLocal(record[timeKey] as string) : undefined, fields };
}
