/**
 * Ring buffer and backlog selection for the test/demo Observer server (relay-server.ts).
 * A Hubble agent keeps its last N events in a fixed ring (4095 by default) and silently overwrites
 * the oldest; we do the same per node so a client that stayed away too long really loses flows.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { NS_PER_MS } from "@/server/domain/shared/time";
import { timestampToNs } from "@/server/flow-codec/timestamp";

/** Anything kept in a ring: its event time (ns since the epoch) and a global publish sequence. */
export interface Timed {
  ns: bigint;
  seq: number;
}


export function nowNs(): bigint {
  return BigInt(Date.now()) * NS_PER_MS;
}

/** Orders by event time, then by publish order so equal timestamps keep their order. */
export function byTime(a: Timed, b: Timed): number {
  if (a.ns !== b.ns) return a.ns < b.ns ? -1 : 1;
  return a.seq - b.seq;
}

export class Ring<T> {
  private readonly slots: (T | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be >= 1, got ${capacity}`);
    this.slots = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Appends; returns the entry that was overwritten, if the ring was full. */
  push(item: T): T | undefined {
    const old = this.count === this.capacity ? this.slots[this.next] : undefined;
    this.slots[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
    return old;
  }

  /** Oldest first. */
  toArray(): T[] {
    const out = new Array<T>(this.count);
    const start = (this.next - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) out[i] = this.slots[(start + i) % this.capacity] as T;
    return out;
  }

  /** Newest first, lazily (ServerStatus' flow rate only looks at the last minute). */
  *newestFirst(): Generator<T> {
    for (let i = 1; i <= this.count; i++) yield this.slots[(this.next - i + this.capacity) % this.capacity] as T;
  }
}

/** The request fields GetFlowsRequest and GetAgentEventsRequest share. */
export interface WindowRequest {
  number: bigint;
  first: boolean;
  follow: boolean;
  since?: Timestamp;
  until?: Timestamp;
}

export interface Window {
  sinceNs?: bigint;
  untilNs?: bigint;
}

export function requestWindow(req: WindowRequest): Window {
  return { sinceNs: timestampToNs(req.since), untilNs: timestampToNs(req.until) };
}

/**
 * Picks the backlog of one node from its (already filtered) entries, oldest first, like Hubble's
 * newRingReader/eventsReader: `since` wins over `number` and is inclusive, `until` is inclusive;
 * `first` takes the earliest N; otherwise the last N; `number` 0 without `follow` means the whole
 * ring; `follow` with neither `number` nor `since` starts at "now" (no backlog). With `since` and
 * no `follow`, `number` caps the count (Hubble stops after N events); with `follow` it does not.
 */
export function selectBacklog<T extends Timed>(entries: T[], req: WindowRequest): T[] {
  const { sinceNs, untilNs } = requestWindow(req);
  const n = Number(req.number);
  const inUntil = untilNs === undefined ? entries : entries.filter((e) => e.ns <= untilNs);
  if (sinceNs !== undefined) {
    const picked = inUntil.filter((e) => e.ns >= sinceNs);
    return n > 0 && !req.follow ? picked.slice(0, n) : picked;
  }
  if (req.first) return n > 0 ? inUntil.slice(0, n) : inUntil;
  if (req.follow && n === 0) return [];
  return n > 0 ? inUntil.slice(Math.max(0, inUntil.length - n)) : inUntil;
}

/**
 * Which non-flow events (node_status, lost_events) belong with a backlog: those inside the time
 * window the backlog covers. For "last N" the window is open towards now, for "first N" it is
 * open towards the past; an empty "last N"/"first N" backlog takes no events.
 */
export function eventWindow(req: WindowRequest, picked: Timed[]): { lo?: bigint; hi?: bigint } | undefined {
  const { sinceNs, untilNs } = requestWindow(req);
  if (sinceNs !== undefined) return { lo: sinceNs, hi: untilNs };
  if (req.follow && req.number === 0n && !req.first) return undefined;
  if (req.number === 0n) return { hi: untilNs };
  if (picked.length === 0) return undefined;
  let lo = picked[0].ns;
  let hi = picked[0].ns;
  for (const p of picked) {
    if (p.ns < lo) lo = p.ns;
    if (p.ns > hi) hi = p.ns;
  }
  return req.first ? { hi } : { lo, hi: untilNs };
}
