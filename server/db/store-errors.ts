/**
 * Which database errors are worth retrying. Only faults of the connection or of the server's state
 * pass with time (a restart, a full connection slot list, a lock held elsewhere); an error about the
 * data itself (a value out of range, a constraint, bad text) fails the same way on every attempt and
 * must not hold the stream — the ingest isolates the rows behind it instead.
 */

/** SQLSTATE classes and codes that describe the server or the connection, not the statement's data. */
const TRANSIENT_CLASSES = ["08", "53", "57P", "58"]; // connection exception, insufficient resources, operator intervention, system error
const TRANSIENT_CODES = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "55P03", // lock_not_available
  "55006", // object_in_use
  "57014", // query_canceled (statement or lock timeout)
  "25P03", // idle_in_transaction_session_timeout
]);
const TRANSIENT_NODE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNABORTED",
]);
/** pg and pg-pool report a lost or refused connection with plain Errors */
const TRANSIENT_MESSAGES =
  /connection terminated|connection (?:is )?(?:closed|ended)|terminating connection|server closed the connection|timeout exceeded when trying to connect|client has encountered a connection error|cannot use a pool after calling end|the database system is (?:starting up|shutting down|in recovery mode)|sorry, too many clients|pglite is closed/i;

function codeOf(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : undefined;
}

export function isTransientStoreError(err: unknown): boolean {
  const code = codeOf(err);
  if (code) {
    if (TRANSIENT_CODES.has(code) || TRANSIENT_NODE_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) return TRANSIENT_CLASSES.some((c) => code.startsWith(c));
  }
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (cause && cause !== err && isTransientStoreError(cause)) return true;
  const errors = (err as { errors?: unknown } | null)?.errors; // AggregateError from a dual-stack connect
  if (Array.isArray(errors) && errors.some(isTransientStoreError)) return true;
  const message = err instanceof Error ? err.message : String(err);
  return TRANSIENT_MESSAGES.test(message);
}

/** A one-line description for logs, status and the quarantine table (NUL-free). */
export function describeStoreError(err: unknown): string {
  const code = codeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  const detail = (err as { detail?: unknown } | null)?.detail;
  const text = `${code && /^[0-9A-Z]{5}$/.test(code) ? `${code} ` : ""}${message}${typeof detail === "string" && detail ? ` (${detail})` : ""}`;
  return text.replaceAll("\u0000", "\uFFFD").slice(0, 2000);
}
