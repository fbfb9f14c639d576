/**
 * The runtime's one registry of read repositories and their caches: the decoded contexts, the
 * map's folded minutes, the DNS base analyses. Created once per store and writer (runtime.ts keeps
 * it on globalThis with the rest of the runtime), so every route module — Next.js evaluates each
 * separately — and the start-up warm-up share the same caches: /api/dns and /api/dns/summary reuse
 * one analysis.
 */
import type { Database } from "./connection";
import { ConnectionsRepo } from "./connections/connections-repo";
import { DnsRepo } from "./dns/dns-repo";
import { DropsRepo } from "./drops/drops-repo";
import { contextCatalogFor, type ContextCatalog } from "./flows/context-catalog";
import { FlowReader } from "./flows/flow-reader";
import type { FlowWriter } from "./flows/flow-writer";
import { GraphCatalog } from "./graph/graph-catalog";
import { GraphRepo } from "./graph/graph-repo";
import { PoliciesRepo, type AgentEventSource } from "./policies/policies-repo";

export interface Repos {
  /** the shared decoded contexts (flows, drops, policies, the map and DNS read through it) */
  contexts: ContextCatalog;
  flows: FlowReader;
  dns: DnsRepo;
  graph: GraphRepo;
  drops: DropsRepo;
  connections: ConnectionsRepo;
  policies: PoliciesRepo;
}

export function createRepos(db: Database, writer: FlowWriter, agentEvents?: AgentEventSource): Repos {
  const contexts = contextCatalogFor(writer.dimensions);
  return {
    contexts,
    flows: new FlowReader(db, writer.dimensions),
    dns: new DnsRepo(db, writer.dimensions, writer.rollupFeed),
    graph: new GraphRepo(db, new GraphCatalog(contexts), { feed: writer.rollupFeed }),
    drops: new DropsRepo(db, contexts),
    connections: new ConnectionsRepo(db, contexts),
    policies: new PoliciesRepo(db, contexts, agentEvents),
  };
}
