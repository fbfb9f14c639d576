/**
 * fetch wrapper for the Flowlens API. Every failure becomes an ApiError the UI can explain:
 * a 400 carries the offending `parameter` (docs/api.md) so the filter bar can show it by its input;
 * status 0 means the API could not be reached at all.
 */
import type { FlowItem, FlowPage, StatusReport } from "@/server/domain/flows/flow-item";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly url: string,
    readonly parameter?: string,
    /** the rest of a 400's body: what the API offers instead (e.g. `fitsSince` from /api/dns) */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** Bad input: retrying the same request cannot help. */
  get isBadRequest(): boolean {
    return this.status === 400;
  }
}

function pathOf(url: string): string {
  return url.split("?")[0];
}

export async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { signal, cache: "no-store", headers: { accept: "application/json" } });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiError(`Cannot reach the Flowlens API (${pathOf(url)}): ${(e as Error).message}`, 0, url);
  }
  const type = res.headers.get("content-type") ?? "";
  if (!res.ok) {
    let message = `${pathOf(url)} answered ${res.status} ${res.statusText}`.trim();
    let parameter: string | undefined;
    let details: Record<string, unknown> = {};
    if (type.includes("json")) {
      const body = (await res.json().catch(() => undefined)) as { error?: unknown; parameter?: unknown } | undefined;
      if (body && typeof body.error === "string") message = body.error;
      if (body && typeof body.parameter === "string") parameter = body.parameter;
      if (body && typeof body === "object") {
        const { error: _e, parameter: _p, ...rest } = body as Record<string, unknown>;
        details = rest;
      }
    } else if (res.status === 404) {
      message = `${pathOf(url)} is not available (404): the Flowlens API is not running on this server yet`;
    }
    throw new ApiError(message, res.status, url, parameter, details);
  }
  if (!type.includes("json")) {
    throw new ApiError(`${pathOf(url)} did not answer JSON (content-type "${type}")`, res.status, url);
  }
  return (await res.json()) as T;
}

/** Retry transient failures a couple of times, never a 400 (the input won't get better). */
export function retryUnlessBadRequest(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError && (error.isBadRequest || error.status === 404)) return false;
  return failureCount < 2;
}

export function fetchStatus(signal?: AbortSignal): Promise<StatusReport> {
  return getJson<StatusReport>("/api/status", signal);
}

export interface StatusEvents {
  lostEvents: Record<string, unknown>[];
  gaps: Record<string, unknown>[];
  nodeStatus: Record<string, unknown>[];
  quarantine: Record<string, unknown>[];
}

export async function fetchStatusEvents(signal?: AbortSignal): Promise<StatusEvents> {
  const raw = await getJson<Partial<Record<keyof StatusEvents, unknown>>>("/api/status/events", signal);
  const list = (v: unknown) => (Array.isArray(v) ? (v.filter((x) => x && typeof x === "object") as Record<string, unknown>[]) : []);
  return { lostEvents: list(raw.lostEvents), gaps: list(raw.gaps), nodeStatus: list(raw.nodeStatus), quarantine: list(raw.quarantine) };
}

/** One page of /api/flows, newest first. `query` is the filter query (see search-params.ts). */
export async function fetchFlowPage(
  query: string,
  cursor: string | null,
  limit: number,
  signal?: AbortSignal,
): Promise<FlowPage> {
  const p = new URLSearchParams(query);
  p.set("limit", String(limit));
  if (cursor) p.set("cursor", cursor);
  const page = await getJson<Partial<FlowPage>>(`/api/flows?${p.toString()}`, signal);
  return { flows: Array.isArray(page.flows) ? page.flows : [], next: typeof page.next === "string" && page.next ? page.next : null };
}

/** A single flow by key (the drawer, when the flow is not among the loaded rows). */
export async function fetchFlowByKey(key: string, signal?: AbortSignal): Promise<FlowItem | null> {
  const page = await fetchFlowPage(new URLSearchParams({ uuid: key }).toString(), null, 1, signal);
  return page.flows[0] ?? null;
}
