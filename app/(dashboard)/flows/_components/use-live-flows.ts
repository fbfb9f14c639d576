"use client";

import { useEffect, useRef, useState } from "react";
import type { FlowItem } from "@/server/domain/flows/flow-item";
import { LiveBuffer } from "@/app/lib/live-buffer";

export type LiveConnection = "off" | "connecting" | "open" | "reconnecting" | "failed";

const FLUSH_MS = 250;

interface Snapshot {
  /** the filter these items belong to */
  query: string;
  items: FlowItem[];
  pending: number;
  /** flows the server left out of this stream because it could not keep up (`event: skipped`) */
  skipped: number;
}

const empty = (query: string): Snapshot => ({ query, items: [], pending: 0, skipped: 0 });

/**
 * Live follow over /api/live (Server-Sent Events). Flows are buffered and shown in batches every
 * 250 ms; while `following` is false (the user scrolled down) they wait in `pending` so the rows
 * under the reader do not move. Turning live off closes the stream but keeps what was received;
 * a different filter starts from scratch.
 */
export function useLiveFlows({ query, enabled, following, cap }: { query: string; enabled: boolean; following: boolean; cap: number }) {
  const buffer = useRef<LiveBuffer | null>(null);
  buffer.current ??= new LiveBuffer(cap);
  const followingRef = useRef(following);
  const [snapshot, setSnapshot] = useState<Snapshot>(() => empty(query));
  const [connection, setConnection] = useState<LiveConnection>("off");

  // A new filter invalidates what live collected for the old one.
  useEffect(() => {
    buffer.current!.reset();
    setSnapshot(empty(query));
  }, [query]);

  useEffect(() => {
    followingRef.current = following;
    const buf = buffer.current!;
    // Back at the top: show what waited right away rather than at the next tick.
    if (following && buf.flush(true)) setSnapshot((s) => ({ ...s, items: buf.items, pending: buf.pendingCount }));
  }, [following]);

  useEffect(() => {
    if (!enabled) {
      setConnection("off");
      return;
    }
    // (Re)connecting starts clean: the caller reloads history at the same moment.
    const buf = buffer.current!;
    buf.reset();
    setSnapshot(empty(query));
    setConnection("connecting");
    const source = new EventSource(`/api/live${query ? `?${query}` : ""}`);
    let skipped = 0;
    source.onopen = () => setConnection("open");
    source.addEventListener("skipped", (e) => {
      try {
        const n = Number((JSON.parse((e as MessageEvent<string>).data) as { count?: unknown })?.count);
        if (Number.isFinite(n)) skipped += n;
      } catch {
        // ignore a malformed notice
      }
    });
    source.addEventListener("flow", (e) => {
      try {
        buf.receive(JSON.parse((e as MessageEvent<string>).data) as FlowItem);
      } catch {
        // A malformed event must not end the stream; the next one is independent.
      }
    });
    // EventSource reconnects by itself unless the server refused the stream (404, wrong type).
    source.onerror = () => setConnection(source.readyState === EventSource.CLOSED ? "failed" : "reconnecting");
    let shownSkipped = 0;
    const timer = window.setInterval(() => {
      if (buf.flush(followingRef.current) || skipped !== shownSkipped) {
        shownSkipped = skipped;
        setSnapshot({ query, items: buf.items, pending: buf.pendingCount, skipped });
      }
    }, FLUSH_MS);
    return () => {
      source.close();
      window.clearInterval(timer);
      // Keep what was received visible after live is switched off.
      if (buf.flush(true)) setSnapshot((s) => ({ ...s, items: buf.items, pending: 0 }));
    };
  }, [enabled, query]);

  // Until the effects above have run for a new filter, the snapshot still holds the old one's flows.
  const current = snapshot.query === query ? snapshot : empty(query);
  return { items: current.items, pending: current.pending, skipped: current.skipped, connection };
}
