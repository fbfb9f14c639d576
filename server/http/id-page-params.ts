/**
 * The parameters of the append-only logs the API lists newest first by id (/api/audit,
 * /api/quarantine): format json|jsonl, limit, an id cursor, plus each route's own filter. One
 * parser, so both answer a bad parameter alike (400 naming it) and a repeated or unknown one too.
 */
import { z } from "zod";
import { badRequest } from "./responses";

const LIMIT_MESSAGE = "limit: expected a whole number from 1 to 1000";

export const idPageFields = {
  format: z.enum(["json", "jsonl"], { message: 'format: expected "json" or "jsonl"' }).default("json"),
  limit: z.coerce.number({ message: LIMIT_MESSAGE }).int(LIMIT_MESSAGE).min(1, LIMIT_MESSAGE).max(1000, LIMIT_MESSAGE).default(100),
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,18}$/, "cursor: not a cursor returned by this API")
    .transform((v) => BigInt(v))
    .refine((v) => v <= 2n ** 63n - 1n, "cursor: not a cursor returned by this API")
    .optional(),
};

/** The request's parameters through `schema` (each at most once, none unknown), or the 400 to answer. */
export function parseIdPageParams<S extends z.ZodObject>(request: Request, schema: S): z.infer<S> | Response {
  const known = Object.keys(schema.shape);
  const raw: Record<string, string> = {};
  for (const [k, v] of new URL(request.url).searchParams) {
    if (k === "_") continue; // a cache-buster
    if (!known.includes(k)) return badRequest(`${k}: unknown parameter; valid: ${known.join(", ")}`, k);
    if (k in raw) return badRequest(`${k}: give it once`, k);
    raw[k] = v;
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const parameter = String(issue.path[0] ?? "format");
  return badRequest(issue.message.startsWith(`${parameter}:`) ? issue.message : `${parameter}: ${issue.message}`, parameter);
}
