/**
 * The roles' configuration (FLOWLENS_ROLE, FLOWLENS_INGEST, leases) and the list of variables the
 * deployment manifests are checked against: every variable the schema reads is listed, with the
 * default the schema applies.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES, configSchema, ConfigError, loadConfig } from "@/server/config";
import { agentAddress } from "@/server/hubble/peer-client";
import { parseBatchNotice } from "@/server/db/batch-notify";

const PG = { DATABASE_URL: "postgresql://u@db:5432/flowlens" };

describe("roles configuration", () => {
  it("lists exactly the schema's variables, and each listed default is the schema's", () => {
    expect(Object.keys(CONFIG_VARIABLES).sort()).toEqual(Object.keys(configSchema.shape).sort());
    const defaults = loadConfig({});
    for (const [name, value] of Object.entries(CONFIG_VARIABLES)) {
      if (value === undefined) continue;
      expect(loadConfig({ [name]: value })[name as keyof typeof defaults], name).toEqual(defaults[name as keyof typeof defaults]);
    }
  });

  it("defaults to one process doing everything from a Relay", () => {
    const c = loadConfig({});
    expect(c.FLOWLENS_ROLE).toBe("all");
    expect(c.FLOWLENS_INGEST).toBe("relay");
    expect(c.FLOWLENS_LEASE_TTL).toBe(6000);
    expect(c.FLOWLENS_AGENT_PORT).toBe(4244);
  });

  it("takes web and ingest roles only with PostgreSQL", () => {
    expect(loadConfig({ ...PG, FLOWLENS_ROLE: "web" }).FLOWLENS_ROLE).toBe("web");
    expect(loadConfig({ ...PG, FLOWLENS_ROLE: "ingest", FLOWLENS_INGEST: "per-node" }).FLOWLENS_INGEST).toBe("per-node");
    expect(() => loadConfig({ FLOWLENS_ROLE: "ingest" })).toThrow(/needs DATABASE_URL/);
    expect(() => loadConfig({ FLOWLENS_ROLE: "web" })).toThrow(ConfigError);
    expect(() => loadConfig({ FLOWLENS_ROLE: "both" })).toThrow(/FLOWLENS_ROLE/);
    expect(() => loadConfig({ FLOWLENS_INGEST: "agents" })).toThrow(/FLOWLENS_INGEST/);
  });

  it("bounds the lease TTL and names the variable", () => {
    expect(loadConfig({ FLOWLENS_LEASE_TTL: "10s" }).FLOWLENS_LEASE_TTL).toBe(10_000);
    for (const bad of ["1s", "11m", "soon", "0"]) expect(() => loadConfig({ FLOWLENS_LEASE_TTL: bad })).toThrow(/FLOWLENS_LEASE_TTL/);
    expect(() => loadConfig({ FLOWLENS_INSTANCE: "has space" })).toThrow(/FLOWLENS_INSTANCE/);
    expect(() => loadConfig({ HUBBLE_PEER_SERVER: "no-port" })).toThrow(/HUBBLE_PEER_SERVER/);
  });
});

describe("agent addresses from the Peer service", () => {
  it("adds the agent port only where none is given", () => {
    expect(agentAddress("10.0.0.3", 4244)).toBe("10.0.0.3:4244");
    expect(agentAddress("10.0.0.3:4245", 4244)).toBe("10.0.0.3:4245");
    expect(agentAddress("fd00::3", 4244)).toBe("[fd00::3]:4244");
    expect(agentAddress("[fd00::3]:1", 4244)).toBe("[fd00::3]:1");
    expect(agentAddress("node-1.example", 4244)).toBe("node-1.example:4244");
  });
});

describe("batch notices", () => {
  it("reads back what is sent and refuses anything else", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const n = parseBatchNotice(s);
        expect(n === null || typeof n.origin === "string").toBe(true);
      }),
    );
    expect(parseBatchNotice(JSON.stringify({ o: "a", a: "18446744073709551615", b: "1", n: 3, r: 1 }))).toEqual({
      origin: "a",
      minTs: 18446744073709551615n,
      maxTs: 1n,
      count: 3,
      rollupsFlushed: true,
    });
    expect(parseBatchNotice(JSON.stringify({ o: "a", a: "1e3", b: "1", n: 3 }))).toBeNull();
  });
});
