"use client";

import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useMemo } from "react";
import { fetchFlowPage } from "@/app/lib/api-client";
import { flattenPages } from "@/app/lib/live-buffer";

/** Rows per request: large enough that scrolling rarely waits, small enough to parse in a frame or two. */
export const PAGE_SIZE = 2000;

/** Stored flows for one filter query, newest first, loaded page by page through `next` cursors. */
export function useFlowHistory(query: string) {
  const client = useQueryClient();
  const q = useInfiniteQuery({
    queryKey: ["flows", query],
    queryFn: ({ pageParam, signal }) => fetchFlowPage(query, pageParam, PAGE_SIZE, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next,
    // History does not change under us; an automatic refetch would re-read every loaded page.
    staleTime: Infinity,
    // Up to 100k rows per query: let an abandoned filter's pages go soon.
    gcTime: 30_000,
  });
  const { items, keys } = useMemo(() => flattenPages(q.data?.pages ?? []), [q.data]);

  /** Start over from the newest page (reset drops the extra pages instead of refetching each). */
  const reload = useCallback(() => client.resetQueries({ queryKey: ["flows", query], exact: true }), [client, query]);

  return { query: q, items, keys, reload };
}
