"use client";

import { useRouter, useSearchParams } from "next/navigation";
import { useCallback, useMemo, useTransition } from "react";
import { flowsHref, parseFlowsSearch, type FlowsUrlState } from "../search-params";

/**
 * The URL is the single source of truth for the page's view. Filter changes go through
 * router.replace (a real navigation: the server page re-reads searchParams). Opening a flow or
 * toggling live only rewrites the address bar with history.replaceState, which Next keeps in sync
 * with useSearchParams without a server round trip, so clicking rows stays instant.
 */
export function useFlowsUrl(initial: FlowsUrlState) {
  const params = useSearchParams();
  const router = useRouter();
  const [navigating, startTransition] = useTransition();

  const state = useMemo(() => (params ? parseFlowsSearch(params) : initial), [params, initial]);

  const navigate = useCallback(
    (next: FlowsUrlState) => {
      startTransition(() => router.replace(flowsHref(next), { scroll: false }));
    },
    [router],
  );

  /**
   * Update from the address bar as it is now, not from the last render: if useSearchParams ever
   * lags behind a replaceState, building on render-time state would write stale parameters back.
   */
  const patch = useCallback((update: (current: FlowsUrlState) => FlowsUrlState) => {
    window.history.replaceState(null, "", flowsHref(update(parseFlowsSearch(window.location.search))));
  }, []);

  return { state, navigate, patch, navigating };
}
