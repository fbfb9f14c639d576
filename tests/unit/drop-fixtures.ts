/** Drop groups built from real flows (flow-builder) through the same grouping the store uses. */
import { DropReason, TrafficDirection, Verdict } from "@/proto/gen/flow/flow_pb";
import { groupDrops, sliceOfFlow, type DropGroup } from "@/server/domain/drops/drop-group";
import { parseRfc3339Ns } from "@/server/domain/shared/time";
import { toItem, type FlowOverrides } from "../fixtures/flow-builder";
import type { Flow } from "@/proto/gen/flow/flow_pb";

export function groupsOf(...flows: Flow[]): DropGroup[] {
  return groupDrops(
    flows.map((f) => {
      const item = toItem(f);
      const t = parseRfc3339Ns(item.time!);
      return sliceOfFlow(item, t.ok ? t.value : 0n);
    }),
  );
}

export function groupOf(flow: Flow): DropGroup {
  const gs = groupsOf(flow);
  if (gs.length !== 1) throw new Error(`expected one group, got ${gs.length}`);
  return gs[0];
}

export const egress: FlowOverrides = { trafficDirection: TrafficDirection.EGRESS };
export { DropReason, TrafficDirection, Verdict };
