"use client";

import { useQuery } from "@tanstack/react-query";
import { fetchStatus } from "@/app/lib/api-client";

export const STATUS_POLL_MS = 3_000;

/** What the caller's role allows (true until the status says otherwise: without sign-in, everything). */
export function useAccess(): { canExport: boolean; isAdmin: boolean } {
  const access = useStatus().data?.access;
  return { canExport: access?.canExport ?? true, isAdmin: access?.isAdmin ?? true };
}

/** GET /api/status, polled; shared by the header and the flows page's empty states. */
export function useStatus() {
  return useQuery({
    queryKey: ["status"],
    queryFn: ({ signal }) => fetchStatus(signal),
    refetchInterval: STATUS_POLL_MS,
    // Polling is the retry: a failed poll shows the error at once instead of hiding it for seconds.
    retry: false,
    staleTime: 0,
  });
}
