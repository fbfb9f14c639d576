"use client";

import { useEffect, useState } from "react";
import type { WorkloadRow } from "@/server/domain/dns/dns-summary";
import styles from "../dns.module.css";
import { DEFAULT_SINCE, STATUS_VALUES, TIME_PRESETS, isZoomed, type DnsUrlState } from "../search-params";
import { formatClock } from "./dns-colors";

const PRESET_LABEL: Record<string, string> = { "5m": "last 5 min", "15m": "last 15 min", "1h": "last hour", "6h": "last 6 hours", "24h": "last 24 hours" };

/** Time range, client workload, name search and status: every change is a new URL. */
export function DnsToolbar({
  state,
  range,
  workloads,
  onChange,
  onRefresh,
  fetching,
  live,
  updatedMs,
}: {
  state: DnsUrlState;
  range: { sinceMs: number; untilMs: number } | null;
  workloads: WorkloadRow[];
  onChange: (next: DnsUrlState) => void;
  onRefresh: () => void;
  fetching: boolean;
  /** the range follows the clock */
  live: boolean;
  /** when the numbers on the page were last read */
  updatedMs: number | null;
}) {
  const [query, setQuery] = useState(state.query ?? "");
  useEffect(() => setQuery(state.query ?? ""), [state.query]);
  const zoomed = isZoomed(state);
  const options = workloads.some((w) => w.workload === state.workload) || !state.workload ? workloads : [{ workload: state.workload, queries: 0, failures: 0 }, ...workloads];

  return (
    <form
      className={styles.toolbar}
      data-testid="dns-toolbar"
      onSubmit={(e) => {
        e.preventDefault();
        onChange({ ...state, query: query.trim() || undefined });
      }}
    >
      <label className={styles.control}>
        <span>time</span>
        <select
          className="input"
          data-testid="dns-since"
          value={zoomed ? "zoom" : state.since}
          onChange={(e) => onChange({ ...state, since: e.target.value, until: undefined })}
        >
          {zoomed && <option value="zoom">zoomed</option>}
          {TIME_PRESETS.map((p) => (
            <option key={p} value={p}>
              {PRESET_LABEL[p]}
            </option>
          ))}
        </select>
      </label>
      {zoomed && range && (
        <span className={styles.zoom} data-testid="dns-zoom">
          {formatClock(range.sinceMs)} – {formatClock(range.untilMs)}
          <button type="button" className="link-button" onClick={() => onChange({ ...state, since: DEFAULT_SINCE, until: undefined })} data-testid="dns-zoom-reset">
            reset
          </button>
        </span>
      )}
      <label className={styles.control}>
        <span>client</span>
        <select
          className="input"
          data-testid="dns-workload"
          value={state.workload ?? ""}
          onChange={(e) => onChange({ ...state, workload: e.target.value || undefined })}
        >
          <option value="">all workloads</option>
          {options.map((w) => (
            <option key={w.workload} value={w.workload}>
              {w.workload}
              {w.queries ? ` (${w.queries}${w.failures ? `, ${w.failures} failed` : ""})` : ""}
            </option>
          ))}
        </select>
      </label>
      <label className={styles.control}>
        <span>name</span>
        <input
          className="input mono"
          data-testid="dns-query"
          value={query}
          placeholder="part of a name"
          spellCheck={false}
          onChange={(e) => setQuery(e.target.value)}
        />
      </label>
      <label className={styles.control}>
        <span>status</span>
        <select
          className="input"
          data-testid="dns-status"
          value={state.status.length === 1 ? state.status[0] : state.status.length ? "many" : ""}
          onChange={(e) => onChange({ ...state, status: e.target.value ? [e.target.value] : [] })}
        >
          <option value="">any</option>
          {state.status.length > 1 && <option value="many">{state.status.join(", ")}</option>}
          {STATUS_VALUES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="button">
        Apply
      </button>
      {!zoomed && (
        <button
          type="button"
          className="button"
          aria-pressed={live}
          title={live ? "The range follows the clock every 5 s; click to hold it still" : "Follow the clock again"}
          onClick={() => onChange({ ...state, paused: live ? true : undefined })}
          data-testid="dns-live"
        >
          {live ? "● Live" : "Paused"}
        </button>
      )}
      <button type="button" className="button" onClick={onRefresh} disabled={fetching} data-testid="dns-refresh">
        {fetching ? "Loading…" : "Refresh"}
      </button>
      {updatedMs !== null && (
        <span className="muted small" data-testid="dns-updated">
          updated {formatClock(updatedMs).slice(0, 8)}
        </span>
      )}
    </form>
  );
}
