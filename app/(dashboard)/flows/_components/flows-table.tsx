"use client";

import {
  flexRender,
  getCoreRowModel,
  useReactTable,
  type ColumnSizingState,
} from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useCallback, useEffect, useImperativeHandle, useMemo, useRef, useState, type CSSProperties, type KeyboardEvent, type Ref } from "react";
import type { FlowItem } from "@/server/domain/flows/flow-item";
import { FLEX_COLUMN, FLOW_COLUMNS } from "./columns";

export const ROW_HEIGHT = 30;
const HEADER_HEIGHT = 32;
/** Start loading the next page this many rows before the end. */
const LOAD_AHEAD = 300;

const estimateSize = () => ROW_HEIGHT;

export interface FlowsTableHandle {
  scrollToTop(): void;
}

/**
 * Newest-first flow table. Virtualised: the DOM holds only the visible rows, so 100k loaded flows
 * scroll like 100. TanStack Table gets just the visible slice as its data: building its row model
 * for all rows on every live batch (4× a second) would cost more than everything else together,
 * and the table needs no client-side sorting or filtering (the server does both).
 */
export function FlowsTable({
  items,
  selectedKey,
  loadingMore,
  onSelect,
  onAtTopChange,
  onNearEnd,
  ref,
}: {
  items: FlowItem[];
  selectedKey?: string;
  loadingMore: boolean;
  onSelect: (key: string) => void;
  onAtTopChange: (atTop: boolean) => void;
  onNearEnd: () => void;
  ref?: Ref<FlowsTableHandle>;
}) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const [columnSizing, setColumnSizing] = useState<ColumnSizingState>({});
  const atTop = useRef(true);

  // Stable identity matters: getItemKey is a memo dependency of the virtualizer's measurements,
  // and a new function per render would rebuild them for every loaded row on every scroll frame.
  const getItemKey = useCallback((i: number) => items[i]?.key ?? i, [items]);
  const virtualizer = useVirtualizer({
    count: items.length,
    getScrollElement: () => scrollRef.current,
    estimateSize,
    getItemKey,
    overscan: 12,
    // Rows sit below the sticky header inside the scroll element.
    scrollMargin: HEADER_HEIGHT,
    scrollPaddingStart: HEADER_HEIGHT,
  });
  const virtualRows = virtualizer.getVirtualItems();
  const first = virtualRows[0]?.index ?? 0;
  const last = virtualRows[virtualRows.length - 1]?.index ?? -1;
  const visible = useMemo(() => items.slice(first, last + 1), [items, first, last]);

  const table = useReactTable({
    data: visible,
    columns: FLOW_COLUMNS,
    getCoreRowModel: getCoreRowModel(),
    getRowId: (row) => row.key,
    columnResizeMode: "onChange",
    enableColumnResizing: true,
    defaultColumn: { minSize: 56, maxSize: 1200 },
    state: { columnSizing },
    onColumnSizingChange: setColumnSizing,
  });
  const rows = table.getRowModel().rows;
  const columns = table.getVisibleLeafColumns();
  const template = columns.map((c) => (c.id === FLEX_COLUMN ? `minmax(${c.getSize()}px, 1fr)` : `${c.getSize()}px`)).join(" ");

  useImperativeHandle(ref, () => ({ scrollToTop: () => virtualizer.scrollToOffset(0) }), [virtualizer]);

  useEffect(() => {
    if (items.length > 0 && last >= items.length - LOAD_AHEAD) onNearEnd();
  }, [last, items.length, onNearEnd]);

  // A new table (new filter, reload) starts scrolled to the top: live follow must not stay paused
  // because the previous table was scrolled down.
  useEffect(() => onAtTopChange(true), [onAtTopChange]);

  const onScroll = () => {
    const top = (scrollRef.current?.scrollTop ?? 0) < ROW_HEIGHT;
    if (top !== atTop.current) {
      atTop.current = top;
      onAtTopChange(top);
    }
  };

  const move = (delta: number | "first" | "last") => {
    if (items.length === 0) return;
    const cur = selectedKey ? items.findIndex((i) => i.key === selectedKey) : -1;
    const next =
      delta === "first" ? 0 : delta === "last" ? items.length - 1 : Math.min(items.length - 1, Math.max(0, cur < 0 ? 0 : cur + delta));
    onSelect(items[next].key);
    virtualizer.scrollToIndex(next, { align: "auto" });
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const page = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? 300) / ROW_HEIGHT) - 1);
    const keys: Record<string, number | "first" | "last"> = {
      ArrowDown: 1,
      j: 1,
      ArrowUp: -1,
      k: -1,
      PageDown: page,
      PageUp: -page,
      Home: "first",
      End: "last",
    };
    const d = keys[e.key];
    if (d === undefined || e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    move(d);
  };

  return (
    <div
      className="table-scroll"
      ref={scrollRef}
      onScroll={onScroll}
      onKeyDown={onKeyDown}
      tabIndex={0}
      role="grid"
      aria-label="Flows, newest first"
      aria-rowcount={items.length + 1}
      data-testid="flows-table"
    >
      <div className="table-inner" style={{ minWidth: table.getTotalSize(), "--cols": template } as CSSProperties}>
        <div className="tr thead" role="row" aria-rowindex={1} style={{ height: HEADER_HEIGHT }}>
          {table.getHeaderGroups()[0].headers.map((h) => (
            <div key={h.id} className="th" role="columnheader">
              <span className="th-label">{flexRender(h.column.columnDef.header, h.getContext())}</span>
              <span
                className={`resizer${h.column.getIsResizing() ? " resizing" : ""}`}
                onMouseDown={h.getResizeHandler()}
                onTouchStart={h.getResizeHandler()}
                onDoubleClick={() => h.column.resetSize()}
                role="separator"
                aria-orientation="vertical"
                aria-label={`Resize ${String(h.column.columnDef.header)} column`}
              />
            </div>
          ))}
        </div>
        <div className="tbody" style={{ height: virtualizer.getTotalSize() }}>
          {virtualRows.map((vr) => {
            const row = rows[vr.index - first];
            if (!row) return null;
            const selected = row.id === selectedKey;
            return (
              <div
                key={row.id}
                className={`tr row${vr.index % 2 ? " odd" : ""}${selected ? " selected" : ""}`}
                role="row"
                aria-rowindex={vr.index + 2}
                aria-selected={selected}
                data-testid="flow-row"
                data-key={row.id}
                data-verdict={String(row.original.flow.verdict ?? "")}
                style={{ transform: `translateY(${vr.start - HEADER_HEIGHT}px)`, height: ROW_HEIGHT }}
                onClick={() => onSelect(row.id)}
              >
                {row.getVisibleCells().map((cell) => (
                  <div key={cell.id} className="td" role="gridcell">
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </div>
                ))}
              </div>
            );
          })}
        </div>
        {loadingMore && <div className="table-footer muted">Loading more…</div>}
      </div>
    </div>
  );
}

/** Placeholder rows while the first page loads. */
export function TableSkeleton() {
  return (
    <div className="table-scroll" aria-busy="true" aria-label="Loading flows" data-testid="flows-loading">
      <div className="table-inner skeleton-table">
        {Array.from({ length: 14 }, (_, i) => (
          <div key={i} className="skeleton-row" style={{ height: ROW_HEIGHT, opacity: 1 - i * 0.06 }}>
            <span className="skeleton" style={{ width: 90 }} />
            <span className="skeleton" style={{ width: 180 }} />
            <span className="skeleton" style={{ width: 180 }} />
            <span className="skeleton" style={{ width: 60 }} />
            <span className="skeleton" style={{ width: 160 }} />
            <span className="skeleton" style={{ width: 80 }} />
          </div>
        ))}
      </div>
    </div>
  );
}
