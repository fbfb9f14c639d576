"use client";

import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef, type RefObject } from "react";
import { fetchStatusEvents } from "@/app/lib/api-client";
import { nodeStateLabel, nodeStateTone } from "@/app/lib/hubble-enums";
import { useAccess, useStatus } from "./use-status";
import { EventRecord } from "./event-record";

export type EventsTab = "lost" | "gaps" | "quarantine" | "nodes";

const TABS: { id: EventsTab; label: string }[] = [
  { id: "lost", label: "Lost events" },
  { id: "gaps", label: "Gaps" },
  { id: "quarantine", label: "Quarantined" },
  { id: "nodes", label: "Nodes" },
];

const EXPLAIN: Record<EventsTab, string> = {
  lost: "An agent's ring buffer wrapped before its flows were read: these flows never reached Flowlens.",
  gaps: "Periods when Flowlens was not receiving flows (relay down, restart, reconnect). History has holes there.",
  quarantine:
    "Responses Flowlens received but could not store: not a valid message, or refused by the database for a reason retrying cannot fix. Every other flow was stored; these are kept with their original bytes.",
  nodes: "Nodes as Relay reports them, and their recent state changes.",
};

const EMPTY: Record<EventsTab, string> = {
  lost: "No lost events recorded.",
  gaps: "No gaps recorded.",
  quarantine: "Nothing quarantined.",
  nodes: "No node status changes recorded.",
};

/** Popover under the status header listing lost events, gaps and node status from /api/status/events. */
export function StatusEventsPanel({
  tab,
  onTab,
  onClose,
  anchor,
}: {
  tab: EventsTab;
  onTab: (t: EventsTab) => void;
  onClose: () => void;
  anchor: RefObject<HTMLElement | null>;
}) {
  const { isAdmin } = useAccess();
  const panel = useRef<HTMLDivElement>(null);
  const events = useQuery({
    queryKey: ["status-events"],
    queryFn: ({ signal }) => fetchStatusEvents(signal),
    refetchInterval: 5_000,
    retry: false,
  });
  const status = useStatus();

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        onClose();
      }
    };
    const onDown = (e: MouseEvent) => {
      // Clicks on the header's own buttons toggle tabs; anything else outside closes.
      if (anchor.current?.contains(e.target as Node)) return;
      onClose();
    };
    document.addEventListener("keydown", onKey, true);
    document.addEventListener("mousedown", onDown);
    panel.current?.focus();
    return () => {
      document.removeEventListener("keydown", onKey, true);
      document.removeEventListener("mousedown", onDown);
    };
  }, [onClose, anchor]);

  const records = events.data
    ? { lost: events.data.lostEvents, gaps: events.data.gaps, quarantine: events.data.quarantine, nodes: events.data.nodeStatus }[tab]
    : [];

  return (
    <div className="popover status-panel" role="dialog" aria-label="Ingestion events" ref={panel} tabIndex={-1} data-testid="status-events">
      <div className="popover-head">
        <div className="tabs" role="tablist">
          {TABS.map((t) => (
            <button key={t.id} type="button" role="tab" aria-selected={t.id === tab} className="tab" onClick={() => onTab(t.id)}>
              {t.label}
            </button>
          ))}
        </div>
        <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      <p className="muted small">{EXPLAIN[tab]}</p>
      {tab === "quarantine" && records.length > 0 && isAdmin && (
        <p className="small">
          <a href="/api/quarantine?format=jsonl" download data-testid="quarantine-export">
            Export all (JSONL, with the original bytes)
          </a>
        </p>
      )}
      {tab === "lost" && status.data?.relay.state === "demo" && (
        <p className="small tone-text-warn" data-testid="lost-simulated">
          Simulated: the built-in demo cluster reports lost events (about 8 % of its flow rate) so this view has something to show; every flow it
          generates is delivered and stored.
        </p>
      )}
      {tab === "nodes" && status.data && (
        <ul className="plain-list">
          {status.data.nodes.map((n) => (
            <li key={n.name} className="node-row">
              <span className={`dot tone-${nodeStateTone(n.state)}`} aria-hidden="true" />
              <span className="node-name">{n.name}</span>
              <span className="muted">{nodeStateLabel(n.state)}</span>
            </li>
          ))}
        </ul>
      )}
      {events.isPending ? (
        <p className="muted">Loading…</p>
      ) : events.isError ? (
        <p className="error-text" role="alert">
          {events.error.message}
        </p>
      ) : records.length === 0 ? (
        <p className="muted">{EMPTY[tab]}</p>
      ) : (
        <ol className="plain-list event-list">
          {records.map((r, i) => (
            <li key={i}>
              <EventRecord record={r} />
            </li>
          ))}
        </ol>
      )}
      {records.length >= 100 && <p className="muted small">Showing the newest 100.</p>}
    </div>
  );
}
