/**
 * The built-in demo cluster: a real Observer gRPC server (relay-server.ts) fed by the simulator.
 * At start it back-fills the last `backfillMs` (10 min, with policy changes inside) so a fresh
 * dashboard has history at once (`ready` tells when it is all there), then a timer publishes new
 * traffic as simulated time follows the wall clock.
 */
import { startRelayServer, type RelayServer } from "@/server/demo/relay/relay-server";
import { RELAY_NAME } from "./demo-events";
import { NODE_LIST } from "./demo-topology";
import { DemoTraffic, type DemoBatch } from "./demo-traffic";
import { loadRecordedFiles, recordedFlowsDir } from "./recorded-flows";

/** kind-worker (frontend, backend and database pods) sees about half of all flows */
const BUSIEST_NODE_SHARE = 0.5;

/** simulated time published per back-fill slice */
const BACKFILL_SLICE_MS = 5000;

export interface DemoRelayOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** default 0 (ephemeral) */
  port?: number;
  /** generated flows per second, default env DEMO_RATE or 100 */
  rate?: number;
  /** reproducible traffic (and uuids) */
  seed?: number;
  /** time between policy changes, default 3 min (env DEMO_POLICY_PERIOD_MS) */
  policyPeriodMs?: number;
  /** history generated at start, default 10 min */
  backfillMs?: number;
  /** flows kept per node; default 32767, or 65535 (Hubble's maximum) when the busiest node's back-fill needs it */
  ringSize?: number;
  /** how often new traffic is published, default 200 ms */
  tickMs?: number;
  /** directory of recorded flows, or false for none; default: recordedFlowsDir() */
  recordedDir?: string | false;
  /** recorded flows per second on average, default 3 */
  recordedRate?: number;
  log?: (msg: string) => void;
}

export interface DemoRelay {
  address: string;
  port: number;
  relay: RelayServer;
  traffic: DemoTraffic;
  /** resolves when the back-fill is published and live traffic has started */
  ready: Promise<void>;
  stop(): Promise<void>;
}

function envNumber(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${v}"`);
  return n;
}

export async function startDemoRelay(opts: DemoRelayOptions = {}): Promise<DemoRelay> {
  const log = opts.log ?? ((msg: string) => console.log(msg));
  const backfillMs = opts.backfillMs ?? 10 * 60_000;
  const rate = opts.rate ?? envNumber("DEMO_RATE") ?? 100;
  const relay = await startRelayServer({
    host: opts.host ?? "127.0.0.1",
    port: opts.port ?? 0,
    ringSize: opts.ringSize ?? (rate * backfillMs * BUSIEST_NODE_SHARE > 30_000_000 ? 65535 : 32767),
    relayName: RELAY_NAME,
  });
  relay.setNodes(NODE_LIST.map((n) => ({ name: n.name, address: `${n.ip}:4244` })));

  const recorded = opts.recordedDir === false ? [] : loadRecordedFiles(opts.recordedDir || recordedFlowsDir(), log);
  const now = Date.now();
  const traffic = new DemoTraffic({
    startMs: now - backfillMs,
    seed: opts.seed,
    rate,
    policyPeriodMs: opts.policyPeriodMs ?? envNumber("DEMO_POLICY_PERIOD_MS"),
    recorded,
    recordedRate: opts.recordedRate,
  });

  const publish = (batch: DemoBatch) => {
    relay.publishMany(batch.flows);
    for (const ev of batch.agentEvents) relay.publishAgentEvent(ev);
  };

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // The back-fill (~60k flows at the default rate) costs seconds of CPU, mostly protobuf
  // encoding: publish it in slices of simulated time, yielding between them, so the process
  // (a Next.js server, a test runner) stays responsive. A client connecting meanwhile gets what
  // is there as backlog and the rest as it is published, still in time order.
  const ready = (async () => {
    let flows = 0;
    for (let t = traffic.nowMs; t < now && !stopped; ) {
      t = Math.min(now, t + BACKFILL_SLICE_MS);
      const batch = traffic.advance(t);
      flows += batch.flows.length;
      publish(batch);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (stopped) return;
    log(`demo: back-filled ${flows} flows (${Math.round(backfillMs / 60_000)} min), ${recorded.length} recorded files mixed in`);
    timer = setInterval(() => publish(traffic.advance(Date.now())), opts.tickMs ?? 200);
    // the demo must not keep a process alive on its own (tests, Next.js dev reloads)
    timer.unref();
  })();

  let stopping: Promise<void> | undefined;
  return {
    address: relay.address,
    port: relay.port,
    relay,
    traffic,
    ready,
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        await ready;
        clearInterval(timer);
        await relay.stop();
      })()),
  };
}
