"use client";
/**
 * /map: the cluster's traffic as a graph. The URL holds the view; GET /api/graph is polled twice a
 * second in live mode (the writer announces each batch's rollups, so a flow is in the answer
 * ~0.1 s after reaching the Relay) and once a second for maps over 500 edges: at 5,000 edges an
 * update (parse of 3 MB, sync, repaint) blocks ~100 ms (bench:map), so repaints stay affordable.
 * Big maps open on namespaces (graph-collapse.ts): one node per namespace, expanded on demand.
 */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useCallback, useMemo, useState } from "react";
import { ApiError, getJson } from "@/app/lib/api-client";
import { formatCount } from "@/app/lib/format-number";
import { collapseGraph, expandedGroups, isLargeGraph, searchGraph } from "@/server/domain/graph/graph-collapse";
import type { GraphResponse } from "@/server/domain/graph/graph-types";
import { MapCanvas } from "./_components/map-canvas";
import { MapLegend } from "./_components/map-legend";
import { MapToolbar } from "./_components/map-toolbar";
import { SidePanel } from "./_components/side-panel";
import { MAP_PATH, graphApiQuery, isLive, mapSearch, seriesApiQuery, type MapUrlState } from "./search-params";

export function MapClient({ initialState }: { initialState: MapUrlState }) {
  const [state, setState] = useState(initialState);
  const live = isLive(state);

  const update = useCallback(
    (next: MapUrlState) => {
      setState(next);
      // the view lives in the URL without a server round trip: the page only parses it on load
      window.history.replaceState(null, "", MAP_PATH + mapSearch(next));
    },
    [],
  );

  const url = graphApiQuery(state);
  const graph = useQuery({
    queryKey: ["graph", url],
    queryFn: ({ signal }) => getJson<GraphResponse>(url, signal),
    placeholderData: keepPreviousData,
    // a flow is in the server's answer ~0.1 s after it reaches the Relay (bench:graph); refreshing
    // small maps twice a second keeps "new edges within 1 s", big ones less often (parse + repaint)
    refetchInterval: (q) => {
      if (!live) return false;
      const edges = q.state.data?.edges.length ?? 0;
      return edges > 500 ? 1000 : 500;
    },
    staleTime: 0,
    // 3 MB at 5,000 edges: comparing each answer deeply with the last costs more than it saves
    structuralSharing: false,
  });
  // the selection's flows/s, refreshed with the graph (its own request: a click never refetches the graph)
  const seriesUrl = seriesApiQuery(state);
  const series = useQuery({
    queryKey: ["graph-series", seriesUrl],
    queryFn: ({ signal }) => getJson<Pick<GraphResponse, "series">>(seriesUrl!, signal),
    enabled: seriesUrl !== null,
    placeholderData: keepPreviousData,
    refetchInterval: live ? 1000 : false,
  });
  const data = graph.data;
  const onSelect = useCallback((id: string | undefined) => update({ ...state, sel: id }), [state, update]);

  // what the canvas shows: every workload, or namespaces with the opened ones expanded
  const overview = data ? (state.view ?? (isLargeGraph(data) ? "namespaces" : "workloads")) === "namespaces" : false;
  const hits = useMemo(() => searchGraph(data?.nodes ?? [], state.q), [data?.nodes, state.q]);
  const expanded = useMemo(
    () => (overview && data ? expandedGroups(data.nodes, state.open, state.q, state.sel) : "all"),
    [overview, data, state.open, state.q, state.sel],
  );
  const expandedKey = expanded === "all" ? "all" : [...expanded].sort().join(",");
  // keyed on the set's contents, not its identity: a poll with the same groups keeps the memo
  const view = useMemo(() => (data ? collapseGraph(data, expanded) : undefined), [data, expandedKey]);
  const onToggle = useCallback(
    (groupId: string) => {
      if (!data) return;
      if (expanded === "all") {
        // collapsing one namespace of the workload view: the namespace view with every other one open
        const all = [...new Set(collapseGraph(data, "all").groups.keys())];
        update({ ...state, view: "namespaces", open: all.filter((g) => g !== groupId), sel: groupId });
      } else if (expanded.has(groupId)) {
        // the selection or search may be what keeps it open: select the namespace itself
        update({ ...state, open: state.open.filter((g) => g !== groupId), sel: groupId });
      } else update({ ...state, open: [...state.open, groupId] });
    },
    [data, expanded, state, update],
  );
  const time = useMemo(
    () => (live ? { since: state.window } : { since: state.since, until: state.until }),
    [live, state.window, state.since, state.until],
  );
  const error = graph.error instanceof ApiError ? graph.error : (graph.error as Error | null);

  return (
    <div className="map-page" data-testid="map-page">
      <MapToolbar state={state} onChange={update} searchHits={state.q ? hits.nodes.length : null} overview={overview} />
      <div className="map-status small muted" data-testid="map-status">
        {data ? (
          <>
            <span data-testid="map-totals">
              {formatCount(data.totals.nodes)} nodes · {formatCount(data.totals.edges)} edges · {formatCount(data.totals.flows)} flows
            </span>
            {overview && view ? (
              <span data-testid="map-overview">
                {" "}
                · {formatCount([...view.groups.values()].filter((g) => g.kind === "namespace").length)} namespaces
                {expanded !== "all" && expanded.size ? `, ${expanded.size} expanded` : ""} (double-click one to expand)
              </span>
            ) : null}
            {data.hidden.flows ? (
              <span data-testid="map-hidden"> · {formatCount(data.hidden.flows)} noise flows hidden ({data.hidden.nodes} nodes)</span>
            ) : null}
            <span> · {live ? `live, last ${state.window}` : "fixed range"}</span>
            {graph.isFetching ? <span className="map-dot" aria-label="updating" /> : null}
          </>
        ) : graph.isPending ? (
          "loading…"
        ) : null}
      </div>
      <div className="map-body">
        <div className="map-stage">
          <MapCanvas graph={data} view={view} hits={hits} searching={Boolean(state.q.trim())} selected={state.sel} onSelect={onSelect} onToggle={onToggle} />
          {error && !data ? (
            <div className="map-overlay" data-testid="map-error">
              <h3>{error instanceof ApiError && error.isBadRequest ? "The API rejected this view" : "Could not load the map"}</h3>
              <p className="error-text">
                {error instanceof ApiError && error.parameter ? <strong>{error.parameter}: </strong> : null}
                {error.message}
              </p>
              <button type="button" className="button" onClick={() => void graph.refetch()}>
                Try again
              </button>
            </div>
          ) : null}
          {data && data.nodes.length === 0 ? (
            <div className="map-overlay" data-testid="map-empty">
              <h3>No traffic in this window</h3>
              <p className="muted">
                {data.hidden.flows ? `${formatCount(data.hidden.flows)} flows are hidden as noise — untick “hide noise”. ` : ""}
                Try a longer window or fewer filters.
              </p>
            </div>
          ) : null}
          <MapLegend />
        </div>
        {state.sel && data && view ? (
          <SidePanel
            graph={data}
            view={view}
            selected={state.sel}
            time={time}
            live={live}
            series={series.data?.series}
            seriesReady={Boolean(series.data) && !series.isPlaceholderData}
            onClose={() => onSelect(undefined)}
            onSelect={onSelect}
            onToggle={onToggle}
          />
        ) : null}
      </div>
    </div>
  );
}
