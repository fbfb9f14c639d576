"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useCallback, useMemo, useTransition } from "react";
import { ApiError, getJson, retryUnlessBadRequest } from "@/app/lib/api-client";
import { useAccess } from "../_components/use-status";
import { FilterBar } from "../flows/_components/filter-bar";
import type { FlowsUrlState } from "../flows/search-params";
import { DropsTable } from "./_components/drops-table";
import { DropsTimeline } from "./_components/drops-timeline";
import type { DropsResponse } from "./_components/drops-types";
import { GroupDetail } from "./_components/group-detail";
import styles from "./drops.module.css";
import { dropsApiQuery, dropsExportHref, dropsHref, parseDropsSearch, type DropsUrlState } from "./search-params";

/** /drops: denied traffic grouped, why it was denied, and the rule that would allow it. */
export function DropsClient({ initialState }: { initialState: DropsUrlState }) {
  const { canExport } = useAccess();
  const params = useSearchParams();
  const router = useRouter();
  const [navigating, startTransition] = useTransition();
  const state = useMemo(() => (params ? parseDropsSearch(params) : initialState), [params, initialState]);
  const go = useCallback((next: DropsUrlState) => startTransition(() => router.replace(dropsHref(next), { scroll: false })), [router]);

  const apiQuery = dropsApiQuery(state);
  const query = useQuery({
    queryKey: ["drops", apiQuery],
    queryFn: ({ signal }) => getJson<DropsResponse>(`/api/drops?${apiQuery}`, signal),
    retry: retryUnlessBadRequest,
    refetchInterval: 15_000,
  });
  const error = query.error instanceof ApiError ? query.error : null;
  const data = query.data;
  const open = data?.groups.find((g) => g.key === state.group);

  const onApply = (flows: FlowsUrlState) => go({ ...state, flows: { ...flows, live: false }, group: undefined });

  return (
    <div className={styles.page} data-testid="drops-page">
      <FilterBar state={state.flows} error={error} applying={navigating} onApply={onApply} />
      <div className="toolbar">
        <span
          className="row-count"
          data-testid="drops-summary"
          title="A packet a policy denies is reported twice (policy verdict and drop event); it counts once here, on the map and in the exports"
        >
          {data ? `${data.total.toLocaleString()} denied packets in ${data.groupCount.toLocaleString()} groups` : query.isPending ? "Loading…" : ""}
        </span>
        <span className="toolbar-spacer" />
        {canExport ? (
          <>
            <span className="muted small">Audit export:</span>
            <a className="button small" href={dropsExportHref(state, "csv", "grouped")} data-testid="export-grouped-csv" download>
              Groups CSV
            </a>
            <a className="button small" href={dropsExportHref(state, "jsonl", "grouped")} data-testid="export-grouped-jsonl" download>
              Groups JSONL
            </a>
            <a className="button small" href={dropsExportHref(state, "csv", "raw")} data-testid="export-raw-csv" download>
              Flows CSV
            </a>
            <a className="button small" href={dropsExportHref(state, "jsonl", "raw")} data-testid="export-raw-jsonl" download>
              Flows JSONL
            </a>
          </>
        ) : (
          <span className="muted small" data-testid="export-not-allowed" title="Exports need the auditor or admin role">
            no exports for your role
          </span>
        )}
        <Link className="button small" href="/policies" data-testid="to-policies">
          Policies
        </Link>
      </div>
      {error && (
        <p className="banner error-text" data-testid="drops-error">
          {error.parameter ? <strong>{error.parameter}: </strong> : null}
          {error.message}
        </p>
      )}
      {data && <DropsTimeline timeline={data.timeline} />}
      {data && data.groups.length === 0 && (
        <p className="muted" data-testid="drops-empty">
          No dropped or audited flows match this filter and time range.
        </p>
      )}
      <div className={styles.body}>
        {data && data.groups.length > 0 && (
          <DropsTable
            groups={data.groups}
            sort={state.sort}
            order={state.order}
            selected={state.group}
            onSort={(sort, order) => go({ ...state, sort, order })}
            onSelect={(key) => go({ ...state, group: key })}
          />
        )}
        {open && <GroupDetail group={open} onClose={() => go({ ...state, group: undefined })} />}
      </div>
    </div>
  );
}
