/**
 * Buffering for live follow, without React so it can be unit-tested. Flows arrive one SSE event at a
 * time (hundreds per second on a busy cluster); re-rendering per event would freeze the page, so
 * they collect here and are flushed in batches (hubble-ui does the same every 50 ms; we use ~250 ms).
 * Memory is bounded: past `cap`, the oldest flows are dropped.
 */
import type { FlowItem } from "@/server/domain/flows/flow-item";
import { flowTimeOf, timeSortKey } from "./flow-time";

/** Newest first by the flow's time; arrival order breaks ties (stable). */
export function sortNewestFirst(items: FlowItem[]): FlowItem[] {
  const keyed = items.map((item, i) => ({ item, i, t: timeSortKey(flowTimeOf(item)) }));
  keyed.sort((a, b) => (a.t === b.t ? b.i - a.i : a.t < b.t ? 1 : -1));
  return keyed.map((k) => k.item);
}

export class LiveBuffer {
  /** shown in the table, newest first */
  items: FlowItem[] = [];
  /** received while the user looked elsewhere (scrolled down), newest first */
  pending: FlowItem[] = [];
  private incoming: FlowItem[] = [];
  private keys = new Set<string>();

  constructor(readonly cap: number) {}

  /** Take one flow from the stream; a key seen before (e.g. replay after reconnect) is ignored. */
  receive(item: FlowItem): void {
    if (!item || typeof item.key !== "string" || this.keys.has(item.key)) return;
    this.keys.add(item.key);
    this.incoming.push(item);
  }

  /**
   * Move what arrived since the last flush into view (following) or into `pending` (paused).
   * Following also releases everything pending. Returns whether anything changed.
   */
  flush(following: boolean): boolean {
    let changed = false;
    if (this.incoming.length > 0) {
      const batch = sortNewestFirst(this.incoming);
      this.incoming = [];
      this.pending = batch.concat(this.pending);
      changed = true;
    }
    if (following && this.pending.length > 0) {
      this.items = this.pending.concat(this.items);
      this.pending = [];
      changed = true;
    }
    this.items = this.trim(this.items);
    this.pending = this.trim(this.pending);
    return changed;
  }

  get pendingCount(): number {
    return this.pending.length + this.incoming.length;
  }

  reset(): void {
    this.items = [];
    this.pending = [];
    this.incoming = [];
    this.keys.clear();
  }

  private trim(list: FlowItem[]): FlowItem[] {
    if (list.length <= this.cap) return list;
    for (let i = this.cap; i < list.length; i++) this.keys.delete(list[i].key);
    return list.slice(0, this.cap);
  }
}

/**
 * What the table shows: live flows on top of the loaded history. A flow can be in both (the live
 * stream opened before the history page was read), so live copies of history keys are skipped.
 */
export function combineLiveAndHistory(
  live: FlowItem[],
  history: FlowItem[],
  historyKeys: ReadonlySet<string>,
  cap: number,
): FlowItem[] {
  if (live.length === 0) return history.length > cap ? history.slice(0, cap) : history;
  const fresh = historyKeys.size ? live.filter((i) => !historyKeys.has(i.key)) : live;
  const all = fresh.concat(history);
  return all.length > cap ? all.slice(0, cap) : all;
}

/** Flatten loaded pages, dropping repeated keys (React row keys must be unique). */
export function flattenPages(pages: { flows: FlowItem[] }[]): { items: FlowItem[]; keys: Set<string> } {
  const keys = new Set<string>();
  const items: FlowItem[] = [];
  for (const page of pages) {
    for (const item of page.flows) {
      if (!item || typeof item.key !== "string" || keys.has(item.key)) continue;
      keys.add(item.key);
      items.push(item);
    }
  }
  return { items, keys };
}
