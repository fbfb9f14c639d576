/**
 * The demo cluster's clock: advances simulated time and returns, in time order, everything the
 * relay should publish for it — generated flows (at `rate` flows/s), node_status / lost_events,
 * re-timed recorded flows, and agent events for policy changes. Deterministic for a given seed
 * and start time, so tests can generate ten minutes of traffic in one call.
 */
import type { GetAgentEventsResponse, GetFlowsResponse } from "@/proto/gen/observer/observer_pb";
import { byTime, type Timed } from "@/server/demo/relay/relay-server-ring";
import { timestampToNs } from "@/server/flow-codec/timestamp";
import { agentStarted, IncidentSchedule, policyChangeEvents } from "./demo-events";
import { buildFlow, msToNs } from "./demo-flow-builder";
import { PolicySchedule } from "./demo-policies";
import { PolicyDecider } from "./demo-policy-decisions";
import { DemoRandom } from "./demo-random";
import { SCENARIOS, type ScenarioCtx } from "./demo-scenarios";
import { RecordedReplay, type RecordedFile } from "./recorded-flows";

export interface DemoTrafficOptions {
  /** simulated time starts here (the start of the back-fill) */
  startMs: number;
  seed?: number;
  /** generated flows per second, default 100 (recorded flows come on top) */
  rate?: number;
  /** time between policy changes, default 3 min; 0 = never */
  policyPeriodMs?: number;
  /** first policy change, default startMs + min(policyPeriodMs, 5 min) */
  firstPolicyChangeMs?: number;
  recorded?: RecordedFile[];
  /** recorded flows per second on average, default 3 */
  recordedRate?: number;
}

export interface DemoBatch {
  flows: GetFlowsResponse[];
  agentEvents: GetAgentEventsResponse[];
}

const STEP_MS = 250;
export const DEFAULT_POLICY_PERIOD_MS = 3 * 60_000;

interface Pending<T> extends Timed {
  item: T;
}

export class DemoTraffic {
  readonly policies: PolicySchedule;
  readonly incidents: IncidentSchedule;
  private readonly rand: DemoRandom;
  private readonly ctx: ScenarioCtx;
  private readonly replay: RecordedReplay;
  private readonly rate: number;
  private cursorMs: number;
  private budget = 0;
  private seq = 0;
  private flows: Pending<GetFlowsResponse>[] = [];
  private agent: Pending<GetAgentEventsResponse>[] = [];

  constructor(private readonly opts: DemoTrafficOptions) {
    this.rand = new DemoRandom(opts.seed);
    this.rate = opts.rate ?? 100;
    const period = opts.policyPeriodMs ?? DEFAULT_POLICY_PERIOD_MS;
    this.policies = new PolicySchedule({
      periodMs: period,
      firstChangeMs: opts.firstPolicyChangeMs ?? opts.startMs + Math.min(period, 5 * 60_000),
    });
    this.incidents = new IncidentSchedule(opts.startMs, opts.seed);
    this.ctx = {
      rand: this.rand,
      decider: new PolicyDecider(this.rand),
      policyAt: (ms) => this.policies.stateAt(ms),
      dnsTrouble: (ms) => this.incidents.dnsTrouble(ms),
    };
    this.replay = new RecordedReplay(opts.recorded ?? [], opts.startMs, opts.recordedRate ?? 3);
    this.cursorMs = opts.startMs;
    for (const ev of agentStarted(opts.startMs)) this.queueAgent(ev);
  }

  /** Simulated time reached so far. */
  get nowMs(): number {
    return this.cursorMs;
  }

  /** Generates up to `toMs` and returns everything timed before it, in time order. */
  advance(toMs: number): DemoBatch {
    while (this.cursorMs < toMs) {
      const end = Math.min(toMs, this.cursorMs + STEP_MS);
      this.step(this.cursorMs, end);
      this.cursorMs = end;
    }
    const limit = msToNs(toMs);
    const [flows, laterFlows] = split(this.flows, limit);
    const [agentEvents, laterAgent] = split(this.agent, limit);
    this.flows = laterFlows;
    this.agent = laterAgent;
    return { flows, agentEvents };
  }

  private step(fromMs: number, toMs: number): void {
    for (const change of this.policies.changesBetween(fromMs, toMs)) {
      for (const ev of policyChangeEvents(change)) this.queueAgent(ev);
    }
    for (const r of this.incidents.flowEventsBetween(fromMs, toMs)) this.queueFlow(r);
    for (const r of this.replay.until(toMs)) this.queueFlow(r);

    this.budget += (this.rate * (toMs - fromMs)) / 1000;
    while (this.budget > 0) {
      const scenario = this.rand.weighted(SCENARIOS);
      const specs = scenario(this.ctx, this.rand.between(fromMs, toMs));
      this.budget -= Math.max(1, specs.length);
      for (const spec of specs) {
        // Relay cannot reach a node during an outage: its flows never arrive
        if (this.incidents.nodeDown(spec.node.name, spec.atMs)) continue;
        this.queueFlow(buildFlow(this.rand, spec));
      }
    }
  }

  private queueFlow(resp: GetFlowsResponse): void {
    const flowTime = resp.responseTypes.case === "flow" ? resp.responseTypes.value.time : undefined;
    this.flows.push({ ns: timestampToNs(resp.time) ?? timestampToNs(flowTime) ?? 0n, seq: this.seq++, item: resp });
  }

  private queueAgent(ev: GetAgentEventsResponse): void {
    this.agent.push({ ns: timestampToNs(ev.time) ?? 0n, seq: this.seq++, item: ev });
  }
}

/** Sorts and splits pending items at `limitNs`: earlier ones out, later ones (e.g. SYN retries) stay. */
function split<T>(pending: Pending<T>[], limitNs: bigint): [T[], Pending<T>[]] {
  pending.sort(byTime);
  let cut = 0;
  while (cut < pending.length && pending[cut].ns < limitNs) cut++;
  return [pending.slice(0, cut).map((p) => p.item), pending.slice(cut)];
}
