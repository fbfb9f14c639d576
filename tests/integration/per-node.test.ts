/**
 * Per-node ingest (FLOWLENS_INGEST=per-node) against several demo agents on loopback: one real
 * Observer server per "node", and a Peer service listing them (the demo relay server serves
 * peer.Peer/Notify). Two ingest replicas split the nodes by lease; one is killed with SIGKILL
 * mid-stream, the other takes its nodes over, and every node's flows end up stored exactly once.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentEventType } from "@/proto/gen/flow/flow_pb";
import { GetAgentEventsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { startRelayServer, type RelayServer } from "@/server/demo/relay/relay-server";
import { startReplica, SteadyPublisher, type Replica } from "../fixtures/replicas";
import { openTestStore, type TestStore } from "../fixtures/test-db";
import { waitFor } from "../fixtures/test-pipeline";

const NODES = ["node-a", "node-b", "node-c", "node-d"];

/** a policy update as an agent's own Hubble server reports it (node-d's without a node name) */
const policyUpdate = (node: string, revision: number) =>
  create(GetAgentEventsResponseSchema, {
    agentEvent: {
      type: AgentEventType.POLICY_UPDATED,
      notification: { case: "policyUpdate", value: { labels: [`k8s:io.cilium.k8s.policy.name=p-${node}`, "k8s:io.cilium.k8s.policy.namespace=shop"], revision: BigInt(revision), ruleCount: 1n } },
    },
    nodeName: node === "node-d" ? "" : node,
    time: timestampFromMs(Date.now()),
  });

describe("per-node ingest with leases", () => {
  let store: TestStore;
  const agents: RelayServer[] = [];
  let peer: RelayServer;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    store = await openTestStore("postgres");
    for (const name of NODES) {
      const agent = await startRelayServer({ ringSize: 65_535, relayName: name, announceNodes: false });
      agent.setNodes([{ name }]);
      agents.push(agent);
    }
    peer = await startRelayServer({ announceNodes: false });
    peer.setNodes(NODES.map((name, i) => ({ name, address: agents[i].address })));
  });
  afterAll(async () => {
    for (const r of replicas) await r.kill().catch(() => {});
    for (const a of agents) await a.stop();
    await peer?.stop();
    await store?.cleanup();
  });

  const leases = () =>
    store.db.query<{ name: string; holder: string }>(`SELECT name, holder FROM ingest_leases WHERE name LIKE 'node:%' AND expires_at > now() ORDER BY name`);

  it("splits the nodes, survives a SIGKILL mid-stream: 0 lost, 0 duplicated, per node", async () => {
    const env = { ...store.env, FLOWLENS_ROLE: "ingest", FLOWLENS_INGEST: "per-node", HUBBLE_SERVER: peer.address, HUBBLE_PEER_SERVER: peer.address };
    const [a, b] = await Promise.all([startReplica("ingest-a", env), startReplica("ingest-b", env)]);
    replicas.push(a, b);
    const publisher = new SteadyPublisher(NODES.map((node, i) => ({ relay: agents[i], node })), 2); // 40 flows/s per node
    publisher.start();
    try {
      // both replicas registered: the nodes end up split two and two
      await waitFor(
        async () => {
          const l = await leases();
          return l.length === NODES.length && new Set(l.map((x) => x.holder)).size === 2 && l.filter((x) => x.holder === "ingest-a").length === 2;
        },
        "the nodes split across both replicas",
        30_000,
      );
      agents.forEach((agent, i) => agent.publishAgentEvent(policyUpdate(NODES[i], 10)));
      await new Promise((r) => setTimeout(r, 2000));
      const victim = a;
      expect((await victim.state()).stored, "the victim was ingesting its nodes").toBeGreaterThan(0);
      const killedAt = Date.now();
      await victim.kill();
      await waitFor(async () => (await leases()).every((l) => l.holder === "ingest-b") && (await leases()).length === NODES.length, "ingest-b holding every node", 15_000);
      console.log(`per-node failover: every node held by the survivor ${Date.now() - killedAt} ms after SIGKILL`);
      agents.forEach((agent, i) => agent.publishAgentEvent(policyUpdate(NODES[i], 11)));
      await new Promise((r) => setTimeout(r, 3000));
    } finally {
      publisher.stop();
    }

    const total = publisher.published.size;
    await waitFor(
      async () => Number((await store.db.query<{ n: string }>("SELECT count(*)::text AS n FROM flows"))[0].n) >= total,
      `${total} flows stored`,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    const rows = await store.db.query<{ node: string; n: string; d: string }>(
      `SELECT c.node_name AS node, count(*)::text AS n, count(DISTINCT f.key)::text AS d FROM flows f JOIN flow_contexts c ON c.id = f.ctx_id GROUP BY 1 ORDER BY 1`,
    );
    expect(rows.map((r) => r.node)).toEqual(NODES);
    for (const r of rows) expect(Number(r.d), `duplicates on ${r.node}`).toBe(Number(r.n));
    const keys = new Set((await store.db.query<{ key: string }>("SELECT key::text AS key FROM flows")).map((r) => r.key));
    expect([...publisher.published.keys()].filter((u) => !keys.has(u))).toEqual([]);
    expect(rows.reduce((s, r) => s + Number(r.n), 0)).toBe(total);
    // each node's resume point is its newest stored flow
    const progress = await store.db.query<{ stream: string; ok: boolean }>(
      `SELECT p.stream, p.last_ts = (SELECT max(f.ts) FROM flows f JOIN flow_contexts c ON c.id = f.ctx_id WHERE c.node_name = p.stream) AS ok
       FROM ingest_progress p ORDER BY 1`,
    );
    expect(progress).toEqual(NODES.map((stream) => ({ stream, ok: true })));
    // each agent's own events, stored once with their node (before and after the takeover)
    await waitFor(async () => Number((await store.db.query<{ n: string }>("SELECT count(*)::text AS n FROM agent_events"))[0].n) >= 2 * NODES.length, "agent events stored", 20_000);
    const events = await store.db.query<{ node: string; revisions: string }>(
      `SELECT node_name AS node, string_agg(revision::text, ',' ORDER BY revision) AS revisions FROM agent_events GROUP BY 1 ORDER BY 1`,
    );
    expect(events).toEqual(NODES.map((node) => ({ node, revisions: "10,11" })));
  }, 180_000);
});
