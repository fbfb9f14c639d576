import type { FlowJson } from "@/server/domain/flows/flow-item";
import { endpointOf, endpointSummary, type Side } from "@/app/lib/flow-format";
import { Chips, KV } from "./kv";

/** Everything the flow says about one endpoint. */
export function EndpointCard({ flow, side }: { flow: FlowJson; side: Side }) {
  const e = endpointOf(flow, side);
  const s = endpointSummary(flow, side);
  return (
    <section className="card endpoint-card" data-testid={`drawer-${side}`}>
      <h3 className="card-title">
        <span className="muted">{side === "source" ? "Source" : "Destination"}</span>
        {s.tag && <span className="tag">{s.tag}</span>}
        <span className="card-name">{s.primary}</span>
      </h3>
      <KV
        rows={[
          ["namespace", e.namespace],
          ["pod", e.podName],
          ["workloads", e.workloads.map((w) => (w.kind ? `${w.name} (${w.kind})` : w.name)).join(", ")],
          ["IP", e.ip && <span className="mono">{e.ip}</span>],
          ["port", e.port],
          ["identity", e.identity !== undefined ? `${e.identity}${e.reserved ? ` (reserved:${e.reserved})` : ""}` : undefined],
          ["endpoint ID", e.id],
          ["service", e.service ? (e.service.namespace ? `${e.service.namespace}/${e.service.name}` : e.service.name) : undefined],
          ["DNS names", e.names.length ? <Chips values={e.names} /> : undefined],
          ["cluster", e.clusterName],
        ]}
      />
      {e.labels.length > 0 && (
        <div className="labels">
          <div className="muted small">labels ({e.labels.length})</div>
          <Chips values={e.labels} className="label-chips" />
        </div>
      )}
    </section>
  );
}
