"use client";
/**
 * Time range (live 5m/15m/1h or an absolute range), filters, noise toggle, namespaces/workloads
 * view and search, all in the URL.
 */
import { useState } from "react";
import { LIVE_WINDOWS, isLive, type MapUrlState } from "../search-params";

const VERDICTS = ["FORWARDED", "DROPPED", "AUDIT", "ERROR"];

/** datetime-local value ↔ RFC 3339 (UTC) */
function toLocalInput(rfc?: string): string {
  if (!rfc) return "";
  const d = new Date(rfc);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString().slice(0, 16);
}
function fromLocalInput(v: string): string | undefined {
  return v ? `${v}:00Z` : undefined;
}

export interface MapToolbarProps {
  state: MapUrlState;
  onChange: (s: MapUrlState) => void;
  searchHits: number | null;
  /** the namespace view is showing (chosen, or picked for a big graph) */
  overview: boolean;
}

export function MapToolbar({ state, onChange, searchHits, overview }: MapToolbarProps) {
  const [ns, setNs] = useState(state.namespace.join(","));
  const [since, setSince] = useState(toLocalInput(state.since));
  const [until, setUntil] = useState(toLocalInput(state.until));
  const live = isLive(state);
  const list = (v: string) => v.split(",").map((x) => x.trim()).filter(Boolean);
  return (
    <div className="map-toolbar" data-testid="map-toolbar">
      <div className="map-range" role="group" aria-label="Time range">
        {LIVE_WINDOWS.map((w) => (
          <button
            key={w}
            type="button"
            className={`button small ${live && state.window === w ? "active" : ""}`}
            data-testid={`map-window-${w}`}
            onClick={() => onChange({ ...state, window: w, since: undefined, until: undefined })}
          >
            live {w}
          </button>
        ))}
        <form
          className="map-absolute"
          onSubmit={(e) => {
            e.preventDefault();
            onChange({ ...state, since: fromLocalInput(since), until: fromLocalInput(until) });
          }}
        >
          <input type="datetime-local" aria-label="From (UTC)" value={since} onChange={(e) => setSince(e.target.value)} data-testid="map-since" />
          <span className="muted">→</span>
          <input type="datetime-local" aria-label="Until (UTC)" value={until} onChange={(e) => setUntil(e.target.value)} data-testid="map-until" />
          <button type="submit" className="button small" data-testid="map-range-apply" disabled={!since}>
            Apply
          </button>
        </form>
      </div>
      <form
        className="map-filters"
        onSubmit={(e) => {
          e.preventDefault();
          onChange({ ...state, namespace: list(ns) });
        }}
      >
        <input placeholder="namespace(s)" aria-label="Namespaces" value={ns} onChange={(e) => setNs(e.target.value)} data-testid="map-namespace" />
        <select
          aria-label="Verdict"
          value={state.verdict[0] ?? ""}
          data-testid="map-verdict"
          onChange={(e) => onChange({ ...state, verdict: e.target.value ? [e.target.value] : [] })}
        >
          <option value="">any verdict</option>
          {VERDICTS.map((v) => (
            <option key={v} value={v}>
              {v}
            </option>
          ))}
        </select>
        <label className="map-noise" title="host, health, unmanaged and kube-system">
          <input type="checkbox" checked={state.noise} data-testid="map-noise" onChange={(e) => onChange({ ...state, noise: e.target.checked })} /> hide noise
        </label>
      </form>
      <div className="map-range" role="group" aria-label="Show">
        <button
          type="button"
          className={`button small ${overview ? "active" : ""}`}
          data-testid="map-view-namespaces"
          title="one node per namespace; double-click one to see its workloads"
          onClick={() => onChange({ ...state, view: "namespaces" })}
        >
          namespaces
        </button>
        <button
          type="button"
          className={`button small ${overview ? "" : "active"}`}
          data-testid="map-view-workloads"
          title="every workload (slow to draw above a few hundred)"
          onClick={() => onChange({ ...state, view: "workloads", open: [] })}
        >
          workloads
        </button>
      </div>
      <input
        type="search"
        className="map-search"
        placeholder="Search workloads…"
        aria-label="Search the map"
        defaultValue={state.q}
        data-testid="map-search"
        onChange={(e) => onChange({ ...state, q: e.target.value })}
      />
      {searchHits !== null && state.q ? <span className="muted small" data-testid="map-search-hits">{searchHits} match{searchHits === 1 ? "" : "es"}</span> : null}
    </div>
  );
}
