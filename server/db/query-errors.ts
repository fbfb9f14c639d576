/**
 * Why an API read stopped without an answer: the query timeout (the request asked for too much at
 * once) or the caller going away (its client disconnected). Routes answer them differently from a
 * broken store: 504 with what to change, or nothing at all (server/http/responses.ts).
 */

const seconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`);

/** The query ran past FLOWLENS_QUERY_TIMEOUT (or waited that long for a connection) and was stopped. */
export class QueryTimeoutError extends Error {
  constructor(
    readonly timeoutMs: number,
    /** stopped while running, or never got a connection because every API connection stayed busy */
    readonly phase: "query" | "connection" = "query",
  ) {
    super(
      phase === "query"
        ? `the query ran longer than ${seconds(timeoutMs)} (FLOWLENS_QUERY_TIMEOUT) and was stopped; narrow the time range or add filters`
        : `every database connection for the API stayed busy for ${seconds(timeoutMs)}; try again, or narrow the time range or filters of the heavy requests`,
    );
    this.name = "QueryTimeoutError";
  }
}

/** The read's AbortSignal fired (the request's client went away); its query was cancelled. */
export class QueryCancelledError extends Error {
  constructor() {
    super("the query was cancelled: the client went away");
    this.name = "QueryCancelledError";
  }
}

/** throws QueryCancelledError once the signal has fired */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new QueryCancelledError();
}
