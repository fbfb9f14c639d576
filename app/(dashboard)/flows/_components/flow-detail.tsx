import Link from "next/link";
import type { FlowItem } from "@/server/domain/flows/flow-item";
import { directionOf, dropReasonOf, eventTypeOf, isReplyOf, verdictOf } from "@/app/lib/flow-format";
import { flowTimeOf, formatFullLocal } from "@/app/lib/flow-time";
import { num, obj, str } from "@/server/domain/shared/json";
import { relatedLinks } from "../format";
import { flowsHref, type FlowsUrlState } from "../search-params";
import { EndpointCard } from "./endpoint-card";
import { KV } from "./kv";
import { L4Section, L7Section } from "./l4-l7-section";
import { PolicySection } from "./policy-section";
import { RawJson } from "./raw-json";
import { VerdictBadge } from "./verdict-badge";

/** The whole flow, section by section. All values are rendered as text. */
export function FlowDetail({ item, state }: { item: FlowItem; state: FlowsUrlState }) {
  const flow = item.flow;
  const time = flowTimeOf(item);
  const verdict = verdictOf(flow);
  const reason = dropReasonOf(flow);
  const reply = isReplyOf(flow);
  const et = obj(flow.event_type);
  const iface = obj(flow.interface);
  return (
    <>
      <section className="drawer-section drawer-summary">
        <div className="verdict-line">
          <VerdictBadge verdict={verdict} />
          {reason && (
            <span className="drop-reason" data-testid="drawer-drop-reason">
              {reason.text}
              {reason.known && reason.number !== undefined ? ` (${reason.number})` : ""}
            </span>
          )}
        </div>
        <div className="mono time-full" title="as recorded (RFC 3339, UTC)">
          {time ?? "—"}
        </div>
        <div className="muted small mono">{formatFullLocal(time)} local</div>
        <KV
          rows={[
            ["direction", directionOf(flow)],
            ["reply", reply === undefined ? undefined : reply ? "yes" : "no"],
            ["node", item.node_name ?? str(flow.node_name)],
            ["Type", str(flow.Type)],
            ["event type", et ? `${eventTypeOf(flow) ?? "?"} (${num(et.type) ?? 0}${et.sub_type !== undefined ? `/${num(et.sub_type)}` : ""})` : undefined],
            ["observation point", str(flow.trace_observation_point)],
            ["trace reason", str(flow.trace_reason)],
            ["interface", iface ? `${str(iface.name) ?? ""}${iface.index !== undefined ? ` (#${num(iface.index)})` : ""}`.trim() : undefined],
            ["proxy port", num(flow.proxy_port)],
            ["auth", str(flow.auth_type)],
            ["summary", str(flow.Summary)],
            ["uuid", str(flow.uuid)],
            ["key", <span className="mono break">{item.key}</span>],
          ]}
        />
      </section>
      <div className="endpoints">
        <EndpointCard flow={flow} side="source" />
        <div className="endpoint-arrow" aria-hidden="true">
          →
        </div>
        <EndpointCard flow={flow} side="destination" />
      </div>
      <nav className="related-links" aria-label="Related flows">
        {relatedLinks(flow, state).map((l) => (
          <Link key={l.label} href={flowsHref(l.state)} className="button small">
            {l.label}
          </Link>
        ))}
      </nav>
      <PolicySection flow={flow} />
      <L4Section flow={flow} />
      <L7Section flow={flow} />
      <RawJson item={item} />
    </>
  );
}
