"use client";

import { useSearchParams } from "next/navigation";
import { useCallback, useEffect, useMemo, useState } from "react";
import { ApiError } from "@/app/lib/api-client";
import { formatCount } from "@/app/lib/format-number";
import type { NdotsFinding } from "@/server/domain/dns/dns-findings";
import type { DnsQueryJson } from "@/server/domain/dns/dns-response";
import type { Timeline } from "@/server/domain/dns/dns-timeline";
import { formatClock } from "./_components/dns-colors";
import { DnsEmpty } from "./_components/dns-empty";
import { DnsTimeline } from "./_components/dns-timeline";
import { DnsToolbar } from "./_components/dns-toolbar";
import { NdotsFindings } from "./_components/ndots-findings";
import { ServerLatencyTable } from "./_components/server-latency";
import { StatusRates } from "./_components/status-rates";
import { TopFailing } from "./_components/top-failing";
import { useDnsData } from "./_components/use-dns-data";
import styles from "./dns.module.css";
import { DEFAULT_SINCE, dnsHref, dnsTitle, isLive, isZoomed, parseDnsSearch, resolveRange, serializeDnsSearch, zoomTo, type DnsUrlState } from "./search-params";

/** Timeline width is sent to the server in steps, so resizing does not refetch on every pixel. */
const WIDTH_STEP = 50;
/** A live view moves its range on to now this often (the server re-analyses only when flows arrived). */
const LIVE_MS = 5000;

function emptyTimeline(range: { sinceMs: number; untilMs: number }): Timeline {
  return { mode: "marks", start: range.sinceMs, end: range.untilMs, width: 0, laneBy: "workload", lanes: [], total: 0, marks: [], bursts: [] };
}

export function DnsClient({ initialState }: { initialState: DnsUrlState }) {
  const params = useSearchParams();
  const state = useMemo(() => (params ? parseDnsSearch(params) : initialState), [params, initialState]);
  const key = serializeDnsSearch(state);

  // a relative range ("last 15 min") is pinned when the view changes or on refresh
  const [anchor, setAnchor] = useState(() => Date.now());
  useEffect(() => setAnchor(Date.now()), [key]);
  const range = useMemo(() => resolveRange(state, anchor), [state, anchor]);

  // the list waits for the timeline's measured width: asking with a guess costs a second request
  const [width, setWidth] = useState<number | null>(null);
  const onWidth = useCallback((w: number) => setWidth(Math.max(WIDTH_STEP, Math.floor(w / WIDTH_STEP) * WIDTH_STEP)), []);
  const [focus, setFocus] = useState<string | null>(null);

  // the view lives in the URL without a server round trip (Next syncs useSearchParams with history)
  const navigate = useCallback((next: DnsUrlState) => window.history.replaceState(null, "", dnsHref(next)), []);
  useEffect(() => {
    document.title = `${dnsTitle(state)} — Flowlens`;
  }, [state]);
  const onZoom = useCallback((a: number, b: number) => navigate(zoomTo(state, a, b)), [navigate, state]);
  const onShow = (f: NdotsFinding) => {
    // about four times the walk's length, so each of its queries is several pixels wide
    const pad = Math.max(20, (f.example.endMs - f.example.startMs) * 1.5);
    setFocus(f.example.lookupId);
    navigate(zoomTo({ ...state, workload: f.workload }, f.example.startMs - pad, f.example.endMs + pad));
  };

  const { summary, list } = useDnsData(state, range, width);
  const fetching = summary.isFetching || list.isFetching;
  const live = isLive(state);
  useEffect(() => {
    if (!live || fetching) return;
    // the next step once the last answer is in, and only while someone can see the page
    const t = setTimeout(() => {
      if (document.visibilityState === "visible") setAnchor(Date.now());
    }, LIVE_MS);
    return () => clearTimeout(t);
  }, [live, fetching, anchor]);
  const queries = useMemo(() => new Map<string, DnsQueryJson>((list.data?.queries ?? []).map((q) => [q.id, q])), [list.data]);
  const error = (summary.error ?? list.error) as Error | null;
  const s = summary.data;
  const filtered = Boolean(state.workload || state.query || state.status.length || Object.keys(state.filters).length || isZoomed(state));
  const empty = s && s.totals.queries === 0;

  return (
    <div className={styles.page} data-testid="dns-page">
      <DnsToolbar
        state={state}
        range={range}
        workloads={s?.workloads ?? []}
        onChange={navigate}
        onRefresh={() => setAnchor(Date.now())}
        fetching={fetching}
        live={live}
        updatedMs={summary.dataUpdatedAt || null}
      />
      {!range && <p className="banner error-text">The time range is empty: since must be before until.</p>}
      {error && (
        <p className="banner error-text" role="alert" data-testid="dns-error">
          {error instanceof ApiError && error.parameter ? <strong>{error.parameter}: </strong> : null}
          {error.message}
          {error instanceof ApiError && typeof error.details.fitsSince === "string" && range ? (
            <>
              {" "}
              <button
                type="button"
                className="link-button"
                data-testid="dns-fit-range"
                onClick={() => navigate(zoomTo(state, Date.parse(error.details.fitsSince as string), range.untilMs))}
              >
                Analyse from {formatClock(Date.parse(error.details.fitsSince as string)).slice(0, 8)} instead (the newest part that fits)
              </button>
            </>
          ) : null}
        </p>
      )}
      {s && !empty && (
        <dl className={styles.totals} data-testid="dns-totals">
          <div>
            <dt>queries</dt>
            <dd>{formatCount(s.totals.queries)}</dd>
          </div>
          <div>
            <dt>failed</dt>
            <dd className={s.totals.failures ? "tone-text-bad" : undefined}>{formatCount(s.totals.failures)}</dd>
          </div>
          <div>
            <dt>NXDOMAIN</dt>
            <dd>{formatCount(s.totals.byStatus.NXDOMAIN)}</dd>
          </div>
          <div>
            <dt>wasted on search path</dt>
            <dd className={s.totals.wasted ? "tone-text-warn" : undefined} data-testid="dns-wasted">
              {formatCount(s.totals.wasted)}
            </dd>
          </div>
          <div>
            <dt>no answer</dt>
            <dd>{formatCount(s.totals.byStatus.UNANSWERED)}</dd>
          </div>
        </dl>
      )}
      {empty ? (
        <DnsEmpty filtered={filtered} onWiden={filtered ? () => navigate({ since: "1h", status: [], filters: {} }) : undefined} />
      ) : (
        <>
          <section className={styles.card}>
            <header className={styles.cardHead}>
              <h2>Queries over time</h2>
              <span className="muted small">
                {list.data
                  ? list.data.timeline.mode === "marks"
                    ? `${formatCount(list.data.total)} queries; bar length = latency; drag to zoom`
                    : `${formatCount(list.data.total)} queries aggregated per ${Math.max(1, Math.round(list.data.timeline.bucketMs))} ms; drag to zoom`
                  : "loading…"}
              </span>
              {isZoomed(state) && (
                <button type="button" className="link-button" onClick={() => navigate({ ...state, since: DEFAULT_SINCE, until: undefined })}>
                  back to the last 15 minutes
                </button>
              )}
            </header>
            {list.data ? (
              <DnsTimeline timeline={list.data.timeline} queries={queries} onZoom={onZoom} onWidth={onWidth} focusLookup={focus} />
            ) : range ? (
              // an empty plot of the range while the first answer comes: it measures the width to ask for
              <DnsTimeline timeline={emptyTimeline(range)} queries={queries} onZoom={onZoom} onWidth={onWidth} focusLookup={focus} />
            ) : (
              <div className={styles.skeleton} />
            )}
          </section>
          <div className={styles.grid}>
            <section className={styles.card} data-testid="dns-findings">
              <header className={styles.cardHead}>
                <h2>ndots search-path findings</h2>
              </header>
              {s ? <NdotsFindings findings={s.findings} onShow={onShow} /> : <div className={styles.skeleton} />}
            </section>
            <div className={styles.side}>
              <section className={styles.card}>
                <header className={styles.cardHead}>
                  <h2>Top failing names</h2>
                </header>
                {s ? <TopFailing names={s.topFailing} onPick={(name) => navigate({ ...state, query: name })} /> : <div className={styles.skeleton} />}
              </section>
              <section className={styles.card}>
                <header className={styles.cardHead}>
                  <h2>Response codes over time</h2>
                </header>
                {s ? <StatusRates buckets={s.series.buckets} bucketMs={s.series.bucketMs} /> : <div className={styles.skeleton} />}
              </section>
              <section className={styles.card}>
                <header className={styles.cardHead}>
                  <h2>Latency by DNS server</h2>
                </header>
                {s ? <ServerLatencyTable servers={s.servers} /> : <div className={styles.skeleton} />}
              </section>
            </div>
          </div>
        </>
      )}
    </div>
  );
}
