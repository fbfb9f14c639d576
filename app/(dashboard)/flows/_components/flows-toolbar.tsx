"use client";

import { formatCount } from "@/app/lib/format-number";
import { exportHref, type FlowsUrlState } from "../search-params";
import type { LiveConnection } from "./use-live-flows";
import { useAccess } from "../../_components/use-status";

const LIVE_TEXT: Record<LiveConnection, string> = {
  off: "",
  connecting: "connecting…",
  open: "following",
  reconnecting: "reconnecting…",
  failed: "live stream unavailable",
};

/** Counts, live follow, refresh and export for the current view. */
export function FlowsToolbar({
  state,
  phase,
  loaded,
  hasMore,
  capped,
  liveCount,
  liveSkipped,
  paused,
  connection,
  liveDisabledReason,
  onToggleLive,
  onReload,
}: {
  state: FlowsUrlState;
  /** "loading" before the first page, "error" when it failed: no count to show */
  phase: "loading" | "error" | "ready";
  loaded: number;
  hasMore: boolean;
  capped: boolean;
  liveCount: number;
  liveSkipped: number;
  paused: boolean;
  connection: LiveConnection;
  liveDisabledReason?: string;
  onToggleLive: () => void;
  onReload: () => void;
}) {
  const { canExport } = useAccess();
  const liveOn = state.live && !liveDisabledReason;
  return (
    <div className="toolbar">
      <span className="row-count" data-testid="row-count" aria-live="polite">
        {phase === "loading" ? (
          <span className="muted">Loading flows…</span>
        ) : phase === "error" ? (
          <span className="muted">No flows loaded</span>
        ) : hasMore ? (
          <>
            Loaded <strong>{formatCount(loaded)}</strong> of at least <strong>{formatCount(loaded + 1)}</strong>
            <span className="muted"> — scroll for more</span>
          </>
        ) : (
          <>
            <strong>{formatCount(loaded)}</strong> {loaded === 1 ? "flow" : "flows"}
          </>
        )}
        {liveOn && liveCount > 0 && <span className="muted"> · {formatCount(liveCount)} live</span>}
        {capped && <span className="tone-text-warn"> · showing the newest {formatCount(loaded)}; narrow the filter or export for more</span>}
      </span>
      <span className="toolbar-spacer" />
      <button
        type="button"
        className={`button live-toggle${liveOn ? " on" : ""}`}
        aria-pressed={liveOn}
        disabled={Boolean(liveDisabledReason)}
        title={liveDisabledReason ?? (liveOn ? "Stop following new flows" : "Follow new flows as they arrive")}
        onClick={onToggleLive}
        data-testid="live-toggle"
        data-connection={connection}
      >
        <span className={`dot ${liveOn ? (connection === "open" ? "tone-ok pulse" : connection === "failed" ? "tone-bad" : "tone-warn") : "tone-muted"}`} aria-hidden="true" />
        Live
      </button>
      {liveOn && (
        <span className={`small ${connection === "failed" ? "tone-text-bad" : "muted"}`} data-testid="live-status">
          {paused && connection === "open" ? "paused while scrolled" : LIVE_TEXT[connection]}
          {liveSkipped > 0 && (
            <span className="tone-text-warn" title="The server left these out of the live stream to keep up; they are stored — Refresh shows them">
              {" "}
              · {formatCount(liveSkipped)} skipped
            </span>
          )}
        </span>
      )}
      <button type="button" className="button" onClick={onReload} title="Reload the newest flows" data-testid="reload">
        Refresh
      </button>
      {canExport ? (
        <span className="export" role="group" aria-label="Export">
          <span className="muted small">Export</span>
          <a className="button" href={exportHref(state, "csv")} download data-testid="export-csv" title="Every flow matching this filter, as CSV">
            CSV
          </a>
          <a className="button" href={exportHref(state, "jsonl")} download data-testid="export-jsonl" title="Every flow matching this filter, in hubble's JSON form, one per line">
            JSONL
          </a>
        </span>
      ) : (
        <span className="muted small" data-testid="export-not-allowed" title="Exports need the auditor or admin role">
          no exports for your role
        </span>
      )}
    </div>
  );
}
