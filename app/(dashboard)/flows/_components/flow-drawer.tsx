"use client";

import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef } from "react";
import type { FlowItem } from "@/server/domain/flows/flow-item";
import { fetchFlowByKey } from "@/app/lib/api-client";
import type { FlowsUrlState } from "../search-params";
import { CopyButton } from "./copy-button";
import { FlowDetail } from "./flow-detail";

/**
 * Side panel for the flow whose key is in the URL (`flow=`). Uses the loaded row when there is one;
 * a shared link or a flow scrolled out of the list is fetched by key. Escape closes it.
 */
export function FlowDrawer({
  flowKey,
  items,
  state,
  onClose,
}: {
  flowKey: string;
  items: FlowItem[];
  state: FlowsUrlState;
  onClose: () => void;
}) {
  const panel = useRef<HTMLElement>(null);
  const loaded = useMemo(() => items.find((i) => i.key === flowKey), [items, flowKey]);
  const fetched = useQuery({
    queryKey: ["flow", flowKey],
    queryFn: ({ signal }) => fetchFlowByKey(flowKey, signal),
    enabled: !loaded,
    staleTime: Infinity,
  });
  const item = loaded ?? fetched.data ?? undefined;

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && !e.defaultPrevented) onClose();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [onClose]);

  // A different flow starts at the top of the panel.
  useEffect(() => {
    panel.current?.scrollTo({ top: 0 });
  }, [flowKey]);

  return (
    <aside className="drawer" ref={panel} aria-label="Flow details" data-testid="flow-drawer" data-key={flowKey}>
      <header className="drawer-head">
        <h2>Flow</h2>
        <div className="drawer-actions">
          <CopyButton text={() => window.location.href} label="Copy link" />
          <button type="button" className="icon-button" onClick={onClose} aria-label="Close details (Escape)" data-testid="drawer-close">
            ×
          </button>
        </div>
      </header>
      <div className="drawer-body">
        {item ? (
          <FlowDetail item={item} state={state} />
        ) : fetched.isPending ? (
          <p className="muted">Loading flow {flowKey}…</p>
        ) : fetched.isError ? (
          <p className="error-text" role="alert">
            Could not load flow {flowKey}: {fetched.error.message}
          </p>
        ) : (
          <p className="muted">No stored flow has the key {flowKey}. It may have aged out of retention.</p>
        )}
      </div>
    </aside>
  );
}
