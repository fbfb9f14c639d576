import type { FlowJson } from "@/server/domain/flows/flow-item";
import { directionOf, dropReasonOf, endpointSummary, policiesOf, policyLogOf, policyName, verdictOf } from "@/app/lib/flow-format";
import { num } from "@/server/domain/shared/json";
import { Chips } from "./kv";

/** Which policies allowed or denied this flow: the question hubble-ui cannot answer (#931, #727). */
export function PolicySection({ flow }: { flow: FlowJson }) {
  const policies = policiesOf(flow);
  const log = policyLogOf(flow);
  const matchType = num(flow.policy_match_type);
  return (
    <section className="drawer-section" data-testid="drawer-policies">
      <h3>Policies</h3>
      {policies.length === 0 ? (
        <NoPolicyNamed flow={flow} />
      ) : (
        <ul className="policy-list">
          {policies.map((p, i) => (
            <li key={i} className={`policy policy-${p.effect}`}>
              <div className="policy-head">
                <span className={`badge tone-${p.effect === "deny" ? "bad" : "ok"}`}>{p.effect === "deny" ? "denied" : "allowed"}</span>
                <span className="muted">{p.direction}</span>
                <strong className="policy-name">{policyName(p)}</strong>
              </div>
              <dl className="kv-inline">
                {p.kind && (
                  <div>
                    <dt>kind</dt>
                    <dd>{p.kind}</dd>
                  </div>
                )}
                {p.revision && (
                  <div>
                    <dt>revision</dt>
                    <dd>{p.revision}</dd>
                  </div>
                )}
              </dl>
              {p.labels.length > 0 && (
                <details className="policy-labels">
                  <summary className="small muted">labels ({p.labels.length})</summary>
                  <Chips values={p.labels} className="label-chips" />
                </details>
              )}
            </li>
          ))}
        </ul>
      )}
      {matchType !== undefined && <p className="small muted">policy match type: {matchType}</p>}
      {log.length > 0 && (
        <div>
          <div className="muted small">policy log</div>
          <ul className="plain-list mono small">
            {log.map((l, i) => (
              <li key={i} className="break">
                {l}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

/**
 * Cilium names the denying policy for POLICY_DENIED only sometimes. The useful fact is still known:
 * the endpoint enforcing policy in this direction is selected by some policy (so default deny
 * applies) and no rule allowed the traffic; say which endpoint, so the reader knows where to look.
 */
function NoPolicyNamed({ flow }: { flow: FlowJson }) {
  const reason = dropReasonOf(flow)?.text;
  const dir = directionOf(flow);
  if (verdictOf(flow) === "DROPPED" && (reason === "POLICY_DENIED" || reason === "POLICY_DENY") && dir) {
    const enforcing = endpointSummary(flow, dir === "egress" ? "source" : "destination").primary;
    return (
      <p className="small" data-testid="drawer-policy-hint">
        No policy is named in this flow (Cilium does not always report it for {reason}). Default deny applied at the{" "}
        {dir} of <strong className="break">{enforcing}</strong>: a policy selects it and no rule allowed this traffic. Check the
        policies selecting <span className="mono break">{enforcing}</span>.
      </p>
    );
  }
  return (
    <p className="muted small">
      This flow names no policy. Agents report allowed_by / denied_by on policy verdicts (Cilium 1.15+); flows of endpoints no policy
      selects carry none.
    </p>
  );
}
