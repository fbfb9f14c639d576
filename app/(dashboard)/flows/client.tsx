"use client";

import { useCallback, useMemo, useRef, useState } from "react";
import { ApiError } from "@/app/lib/api-client";
import { combineLiveAndHistory } from "@/app/lib/live-buffer";
import { useStatus } from "../_components/use-status";
import { EmptyState } from "./_components/empty-state";
import { FilterBar } from "./_components/filter-bar";
import { FlowDrawer } from "./_components/flow-drawer";
import { FlowsTable, TableSkeleton, type FlowsTableHandle } from "./_components/flows-table";
import { FlowsToolbar } from "./_components/flows-toolbar";
import { useFlowHistory } from "./_components/use-flow-history";
import { useFlowsUrl } from "./_components/use-flows-url";
import { useLiveFlows } from "./_components/use-live-flows";
import { NoFlows } from "./_components/no-flows";
import { activeFilterCount, flowsApiQuery, hasTimeBounds, liveApiQuery, type FlowsUrlState } from "./search-params";

/** Rows kept in the browser at most (history + live); beyond it the oldest go. */
export const MAX_ROWS = 100_000;

export function FlowsClient({ initialState }: { initialState: FlowsUrlState }) {
  const { state, navigate, patch, navigating } = useFlowsUrl(initialState);
  const { query: history, items: historyItems, keys: historyKeys, reload } = useFlowHistory(flowsApiQuery(state));
  const status = useStatus();
  const table = useRef<FlowsTableHandle>(null);
  const [atTop, setAtTop] = useState(true);

  const liveDisabledReason = state.until ? "Live follow needs an open-ended time range: remove “until”" : undefined;
  const live = useLiveFlows({
    query: liveApiQuery(state),
    enabled: state.live && !liveDisabledReason,
    following: atTop,
    cap: MAX_ROWS,
  });
  // `last=N` caps the list too: pages keep coming from the cursor, and live adds on top.
  const lastN = state.last && /^\d+$/.test(state.last) ? Number(state.last) : undefined;
  const rowCap = lastN !== undefined && lastN > 0 ? Math.min(lastN, MAX_ROWS) : MAX_ROWS;
  const items = useMemo(
    () => combineLiveAndHistory(live.items, historyItems, historyKeys, rowCap),
    [live.items, historyItems, historyKeys, rowCap],
  );
  const capped = items.length >= rowCap;

  const { hasNextPage, isFetchingNextPage, isFetchNextPageError, fetchNextPage } = history;
  const onNearEnd = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage && !isFetchNextPageError && !capped) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, isFetchNextPageError, capped, fetchNextPage]);

  const select = useCallback((key: string) => patch((s) => ({ ...s, flow: key })), [patch]);
  const close = useCallback(() => patch((s) => ({ ...s, flow: undefined })), [patch]);
  const toggleLive = () => {
    const on = !state.live;
    patch((s) => ({ ...s, live: on }));
    // Re-read the newest history so nothing between the last load and the stream's start is missed.
    if (on) void reload();
  };

  const error = history.error instanceof ApiError ? history.error : null;
  const badRequest = error?.isBadRequest ? error : null;

  let body;
  if (items.length === 0 && history.isPending) {
    body = <TableSkeleton />;
  } else if (items.length === 0 && history.isError) {
    body = badRequest ? (
      <EmptyState kind="bad-filter" title="The API rejected this filter">
        <p className="error-text">
          {badRequest.parameter ? <strong>{badRequest.parameter}: </strong> : null}
          {badRequest.message}
        </p>
        <p className="muted">Fix the highlighted field and press Enter.</p>
      </EmptyState>
    ) : (
      <EmptyState kind="error" title="Could not load flows">
        <p className="error-text">{history.error.message}</p>
        <button type="button" className="button" onClick={() => void history.refetch()}>
          Try again
        </button>
      </EmptyState>
    );
  } else if (items.length === 0) {
    body = (
      <NoFlows
        state={state}
        status={status.data}
        filtered={activeFilterCount(state) > 0 || hasTimeBounds(state)}
        onApply={navigate}
        onLive={state.live ? undefined : toggleLive}
      />
    );
  } else {
    body = (
      <FlowsTable
        ref={table}
        items={items}
        selectedKey={state.flow}
        loadingMore={isFetchingNextPage}
        onSelect={select}
        onAtTopChange={setAtTop}
        onNearEnd={onNearEnd}
      />
    );
  }

  return (
    <div className="flows-page">
      <FilterBar state={state} error={badRequest} applying={navigating} onApply={navigate} />
      <FlowsToolbar
        state={state}
        phase={items.length > 0 ? "ready" : history.isPending ? "loading" : history.isError ? "error" : "ready"}
        loaded={items.length}
        hasMore={Boolean(hasNextPage) && !capped}
        capped={capped && rowCap === MAX_ROWS && Boolean(hasNextPage)}
        liveCount={live.items.length}
        liveSkipped={live.skipped}
        paused={!atTop}
        connection={live.connection}
        liveDisabledReason={liveDisabledReason}
        onToggleLive={toggleLive}
        onReload={() => void reload()}
      />
      {isFetchNextPageError && (
        <p className="banner error-text" role="alert">
          Loading more flows failed: {history.error?.message}{" "}
          <button type="button" className="link-button" onClick={() => void fetchNextPage()}>
            retry
          </button>
        </p>
      )}
      <div className="flows-body">
        {body}
        {live.pending > 0 && !atTop && (
          <button type="button" className="new-flows" onClick={() => table.current?.scrollToTop()} data-testid="new-flows">
            ↑ {live.pending.toLocaleString("en-US")} new {live.pending === 1 ? "flow" : "flows"}
          </button>
        )}
        {state.flow && <FlowDrawer flowKey={state.flow} items={items} state={state} onClose={close} />}
      </div>
    </div>
  );
}
