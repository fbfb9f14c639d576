/**
 * Fan-out of newly stored flows to open /api/live streams. Flows are turned into hubble JSON only
 * while someone listens, and at most `budgetPerSecond` of them: past that, listeners are told how
 * many they missed instead of the server falling behind.
 */
import { EventEmitter } from "node:events";
import { fromBinary } from "@bufbuild/protobuf";
import { FlowSchema } from "@/proto/gen/flow/flow_pb";
import type { FlowItem, FlowJson } from "@/server/domain/flow-item";
import { flowJson } from "@/server/flow-codec/flow-json";
import { uuidText } from "@/server/flow-codec/rebuild-flow";
import type { FlowRow } from "@/server/flow-codec/split-flow";

export interface LiveEvents {
  flows: (items: FlowItem[]) => void;
  skipped: (count: number) => void;
  shutdown: () => void;
}

export class LiveHub {
  private readonly bus = new EventEmitter();
  private windowStart = 0;
  private usedInWindow = 0;

  constructor(private readonly budgetPerSecond = 5000) {
    this.bus.setMaxListeners(0);
  }

  get listeners(): number {
    return this.bus.listenerCount("flows");
  }

  on<K extends keyof LiveEvents>(event: K, fn: LiveEvents[K]): () => void {
    this.bus.on(event, fn);
    return () => this.bus.off(event, fn);
  }

  publish(rows: readonly FlowRow[]): void {
    if (this.listeners === 0 || rows.length === 0) return;
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.usedInWindow = 0;
    }
    const room = Math.max(0, this.budgetPerSecond - this.usedInWindow);
    const take = Math.min(room, rows.length);
    this.usedInWindow += take;
    const items: FlowItem[] = [];
    // newest rows are the most useful when we cannot convert all of them
    for (let i = rows.length - take; i < rows.length; i++) items.push(liveItem(rows[i]));
    if (items.length) this.bus.emit("flows", items);
    if (take < rows.length) this.bus.emit("skipped", rows.length - take);
  }

  shutdown(): void {
    this.bus.emit("shutdown");
  }
}

export function liveItem(row: FlowRow): FlowItem {
  const flow = flowJson(fromBinary(FlowSchema, row.flowBytes)) as FlowJson;
  return { key: uuidText(row.key.toString("hex")), flow, node_name: row.nodeName || undefined, time: flow.time };
}
