import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseDurationMs } from "@/server/config";

describe("configuration from the environment", () => {
  it("defaults to the demo cluster and the embedded store", () => {
    const c = loadConfig({});
    expect(c.HUBBLE_SERVER).toBeUndefined();
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.FLOWLENS_DATA_DIR).toBe(".data");
    expect(c.FLOWLENS_RETENTION).toBe(7 * 86400e3);
    expect(c.HUBBLE_TLS).toBe(false);
  });

  it("reads the hubble CLI's Relay and TLS variables", () => {
    const c = loadConfig({
      HUBBLE_SERVER: "hubble-relay.kube-system.svc:443",
      HUBBLE_TLS: "true",
      HUBBLE_TLS_CA_CERT_FILES: "/a/ca.crt,/b/ca.crt",
      HUBBLE_TLS_CLIENT_CERT_FILE: "/c/tls.crt",
      HUBBLE_TLS_CLIENT_KEY_FILE: "/c/tls.key",
      HUBBLE_TLS_SERVER_NAME: "ui.hubble-relay.cilium.io",
    });
    expect(c.HUBBLE_TLS).toBe(true);
    expect(c.HUBBLE_TLS_CA_CERT_FILES).toEqual(["/a/ca.crt", "/b/ca.crt"]);
    expect(c.HUBBLE_TLS_SERVER_NAME).toBe("ui.hubble-relay.cilium.io");
    expect(loadConfig({ HUBBLE_SERVER: "[::1]:4245" }).HUBBLE_SERVER).toBe("[::1]:4245");
  });

  it("rejects bad values with a message naming the variable", () => {
    expect(() => loadConfig({ HUBBLE_SERVER: "localhost" })).toThrow(/HUBBLE_SERVER: expected host:port/);
    expect(() => loadConfig({ DATABASE_URL: "mysql://x" })).toThrow(/DATABASE_URL: expected a postgresql/);
    expect(() => loadConfig({ FLOWLENS_RETENTION: "a week" })).toThrow(/FLOWLENS_RETENTION/);
    expect(() => loadConfig({ HUBBLE_TLS_CLIENT_CERT_FILE: "/c/tls.crt" })).toThrow(ConfigError);
  });

  it("reads where the gRPC API listens and its TLS files", () => {
    expect(loadConfig({}).FLOWLENS_GRPC_ADDR).toBe("127.0.0.1:4246");
    expect(loadConfig({ FLOWLENS_GRPC_ADDR: "0.0.0.0:0" }).FLOWLENS_GRPC_ADDR).toBe("0.0.0.0:0");
    expect(loadConfig({ FLOWLENS_GRPC_ADDR: "[::]:4246" }).FLOWLENS_GRPC_ADDR).toBe("[::]:4246");
    expect(loadConfig({ FLOWLENS_GRPC_ADDR: "off" }).FLOWLENS_GRPC_ADDR).toBe("off");
    expect(() => loadConfig({ FLOWLENS_GRPC_ADDR: "4246" })).toThrow(/FLOWLENS_GRPC_ADDR: expected host:port/);
    const tls = { FLOWLENS_GRPC_TLS_CERT_FILE: "/s.pem", FLOWLENS_GRPC_TLS_KEY_FILE: "/s.key", FLOWLENS_GRPC_TLS_CLIENT_CA_FILES: "/a.pem,/b.pem" };
    expect(loadConfig(tls).FLOWLENS_GRPC_TLS_CLIENT_CA_FILES).toEqual(["/a.pem", "/b.pem"]);
    expect(() => loadConfig({ FLOWLENS_GRPC_TLS_CERT_FILE: "/s.pem" })).toThrow(/go together/);
    expect(() => loadConfig({ FLOWLENS_GRPC_TLS_CLIENT_CA_FILES: "/a.pem" })).toThrow(/mTLS/);
  });

  it("parses retention durations and off", () => {
    expect(loadConfig({ FLOWLENS_RETENTION: "36h" }).FLOWLENS_RETENTION).toBe(36 * 3600e3);
    expect(loadConfig({ FLOWLENS_RETENTION: "off" }).FLOWLENS_RETENTION).toBeNull();
    expect(parseDurationMs("1h30m")).toBe(5400e3);
    expect(parseDurationMs("5x")).toBeUndefined();
  });

  it("reads the query timeout and the two PostgreSQL pools", () => {
    const d = loadConfig({});
    expect(d.FLOWLENS_QUERY_TIMEOUT).toBe(30_000);
    expect(d.FLOWLENS_API_POOL).toBe(8);
    expect(d.FLOWLENS_INGEST_POOL).toBe(4);
    expect(loadConfig({ FLOWLENS_QUERY_TIMEOUT: "2m" }).FLOWLENS_QUERY_TIMEOUT).toBe(120_000);
    expect(loadConfig({ FLOWLENS_QUERY_TIMEOUT: "250ms" }).FLOWLENS_QUERY_TIMEOUT).toBe(250);
    expect(loadConfig({ FLOWLENS_QUERY_TIMEOUT: "off" }).FLOWLENS_QUERY_TIMEOUT).toBeNull();
    expect(loadConfig({ FLOWLENS_API_POOL: "3", FLOWLENS_INGEST_POOL: "2" })).toMatchObject({ FLOWLENS_API_POOL: 3, FLOWLENS_INGEST_POOL: 2 });
    expect(() => loadConfig({ FLOWLENS_QUERY_TIMEOUT: "30" })).toThrow(/FLOWLENS_QUERY_TIMEOUT/);
    expect(() => loadConfig({ FLOWLENS_API_POOL: "0" })).toThrow(/FLOWLENS_API_POOL/);
  });
});
