"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { getJson } from "@/app/lib/api-client";
import type { DnsListBody, DnsSummaryBody } from "@/server/domain/dns/dns-response";
import { dnsApiQuery, type DnsUrlState } from "../search-params";

/**
 * The two reads of the page (the list only matters in marks mode, where it holds every query
 * anyway, so aggregated views ask for a short one). Both carry the same absolute range, so the server answers them from
 * one base analysis (server/db/dns/dns-repo.ts, one per process in the runtime's registry).
 */
export function useDnsData(state: DnsUrlState, range: { since: string; until: string } | null, width: number | null) {
  const base = range ? dnsApiQuery(state, range) : "";
  const summary = useQuery({
    queryKey: ["dns-summary", base],
    queryFn: ({ signal }) => getJson<DnsSummaryBody>(`/api/dns/summary?${dnsApiQuery(state, range!, { buckets: "60" })}`, signal),
    enabled: range !== null,
    placeholderData: keepPreviousData,
  });
  const list = useQuery({
    queryKey: ["dns-list", base, width],
    queryFn: ({ signal }) => getJson<DnsListBody>(`/api/dns?${dnsApiQuery(state, range!, { width: String(width), limit: "100" })}`, signal),
    enabled: range !== null && width !== null,
    placeholderData: keepPreviousData,
  });
  return { summary, list };
}
