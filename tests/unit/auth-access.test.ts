/**
 * Roles, namespace scope and the settings behind them: FLOWLENS_AUTH_CONFIG's validation (every
 * message names its key), which grants a user's claims earn, what each capability lets a caller
 * see, the scope as a condition of the one flow matcher (property-based over flows and patterns),
 * the environment checks and where `npm start` may listen.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AccessConfigError, grantsFor, parseAccessConfig } from "@/server/domain/auth/access-config";
import { compileNamespaceScope, unionScopes } from "@/server/domain/auth/namespace-scope";
import { LOCAL_CALLER, scopeFor, topRole, type Caller } from "@/server/domain/auth/roles";
import { policyInScope } from "@/server/domain/auth/scope-views";
import { parseTokenInput, splitNamespaces } from "@/server/domain/auth/token-input";
import { compileMatcher } from "@/server/domain/flows/flow-match";
import { hasConditions, splitSpec } from "@/server/domain/flows/flow-filter-spec";
import type { FlowItem } from "@/server/domain/flows/flow-item";
import { AuthSettingsError, loadAuthSettings } from "@/server/auth/auth-settings";
import { safeNext } from "@/server/auth/oidc";
import { readCookie, setCookie } from "@/server/auth/cookies";
// @ts-expect-error: a plain .mjs script without types
import { bindAddress } from "@/scripts/bind-address.mjs";

const EXAMPLE = `
groupsClaim: groups
session: 8h
rules:
  - group: platform
    role: admin
    namespaces: ["*"]
  - group: shop-team
    role: viewer
    namespaces: [shop, "shop-*"]
  - claim: email
    equals: audit@example.com
    role: auditor
    namespaces: [shop, payments]
`;

function configError(text: string): string {
  try {
    parseAccessConfig(text);
  } catch (e) {
    expect(e).toBeInstanceOf(AccessConfigError);
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

describe("FLOWLENS_AUTH_CONFIG", () => {
  it("reads groups and claims into grants", () => {
    const c = parseAccessConfig(EXAMPLE);
    expect(c.session).toBe(8 * 3600_000);
    expect(grantsFor(c, { groups: ["shop-team"] })).toEqual([{ role: "viewer", namespaces: ["shop", "shop-*"] }]);
    expect(grantsFor(c, { groups: "platform" })).toEqual([{ role: "admin", namespaces: ["*"] }]);
    expect(grantsFor(c, { groups: ["shop-team"], email: "audit@example.com" })).toHaveLength(2);
    expect(grantsFor(c, { groups: ["someone-else"], email: "x@example.com" })).toEqual([]);
    expect(grantsFor(c, {})).toEqual([]);
  });

  it("names the key of every problem", () => {
    expect(configError("rules: []")).toMatch(/rules: expected at least one rule/);
    expect(configError("rules:\n  - group: a\n    role: root\n    namespaces: [x]")).toMatch(/rules\.0\.role: expected one of viewer, auditor, admin/);
    expect(configError("rules:\n  - group: a\n    role: viewer\n    namespaces: [Shop!]")).toMatch(/rules\.0\.namespaces\.0: expected a namespace name/);
    expect(configError("rules:\n  - role: viewer\n    namespaces: [x]")).toMatch(/rules\.0\.group: give either group or claim/);
    expect(configError("rules:\n  - claim: email\n    role: viewer\n    namespaces: [x]")).toMatch(/rules\.0\.equals: claim needs equals/);
    expect(configError("session: soon\nrules:\n  - group: a\n    role: viewer\n    namespaces: [x]")).toMatch(/session: "soon" is not a duration/);
    expect(configError("rule:\n  - group: a")).toMatch(/rule/);
    expect(configError("rules: [")).toMatch(/not valid YAML/);
  });
});

describe("roles and scope", () => {
  const caller = (grants: Caller["grants"]): Caller => ({ kind: "token", name: "t", grants });

  it("gives each capability the namespaces of the grants that allow it", () => {
    const c = caller([
      { role: "viewer", namespaces: ["shop"] },
      { role: "auditor", namespaces: ["payments"] },
    ]);
    expect(scopeFor(c, "view")).toEqual(["payments", "shop"]);
    expect(scopeFor(c, "export")).toEqual(["payments"]);
    expect(scopeFor(c, "admin")).toBe("forbidden");
    expect(scopeFor(caller([{ role: "viewer", namespaces: ["shop", "*"] }]), "view")).toBeNull();
    expect(scopeFor(LOCAL_CALLER, "admin")).toBeNull();
    expect(topRole(c.grants)).toBe("auditor");
    expect(unionScopes([["b", "a"], ["a"]])).toEqual(["a", "b"]);
  });

  it("matches namespace patterns like a glob over the whole name", () => {
    const reference = (pattern: string, ns: string): boolean => {
      if (pattern === "") return ns === "";
      if (pattern[0] === "*") return [...Array(ns.length + 1).keys()].some((i) => reference(pattern.slice(1), ns.slice(i)));
      return ns !== "" && ns[0] === pattern[0] && reference(pattern.slice(1), ns.slice(1));
    };
    const name = fc.stringMatching(/^[a-c.-]{0,6}$/);
    const pattern = fc.stringMatching(/^[a-c.*-]{1,5}$/);
    fc.assert(
      fc.property(fc.array(pattern, { maxLength: 3 }), name, (patterns, ns) => {
        const expected = ns !== "" && patterns.some((p) => reference(p, ns));
        expect(compileNamespaceScope(patterns)(ns)).toBe(expected);
      }),
    );
    expect(compileNamespaceScope(["*"])(undefined)).toBe(false);
    expect(compileNamespaceScope([])("shop")).toBe(false);
  });

  it("is a condition of the one matcher: a flow is visible when its source or destination namespace is allowed", () => {
    const ep = fc.option(
      fc.record({ namespace: fc.option(fc.constantFrom("shop", "payments", "shop-eu", "kube-system", ""), { nil: undefined }), labels: fc.constant(["reserved:world"]) }),
      { nil: undefined },
    );
    const scope = fc.array(fc.constantFrom("shop", "payments", "shop-*", "kube-*", "*", "nothing"), { maxLength: 3 });
    fc.assert(
      fc.property(ep, ep, scope, fc.constantFrom<undefined | string[]>(undefined, ["shop"], ["payments"]), (source, destination, patterns, namespace) => {
        const item = { key: "k", flow: { source, destination } } as unknown as FlowItem;
        const allowed = compileNamespaceScope(patterns);
        const visible = allowed(source?.namespace) || allowed(destination?.namespace);
        expect(compileMatcher({ scope: patterns })(item)).toBe(visible);
        // ANDed with the caller's own filter: a filter never widens the scope
        const own = namespace ? [source?.namespace, destination?.namespace].some((n) => n !== undefined && namespace.includes(n)) : true;
        expect(compileMatcher({ scope: patterns, namespace })(item)).toBe(visible && own);
      }),
    );
  });

  it("a pod talking to the world, the host or another reserved identity is decided by the pod's side", () => {
    const pod = (ns: string) => ({ namespace: ns, pod_name: "p" });
    const world = { identity: 2, labels: ["reserved:world"] };
    const host = { identity: 1, labels: ["reserved:host"] };
    const m = compileMatcher({ scope: ["shop"] });
    const item = (source: unknown, destination: unknown) => ({ key: "k", flow: { source, destination } }) as unknown as FlowItem;
    expect(m(item(pod("shop"), world))).toBe(true);
    expect(m(item(world, pod("shop")))).toBe(true);
    expect(m(item(host, pod("shop")))).toBe(true);
    expect(m(item(pod("payments"), world))).toBe(false);
    expect(m(item(world, host))).toBe(false);
    expect(m(item(undefined, undefined))).toBe(false);
  });

  it("stays a context condition, and an empty scope still filters (nothing visible)", () => {
    expect(splitSpec({ scope: ["shop"], port: [80] })).toEqual({ context: { scope: ["shop"] }, flow: { port: [80] } });
    expect(hasConditions({ scope: [] })).toBe(true);
    expect(hasConditions({ namespace: [] })).toBe(false);
    expect(compileMatcher({ scope: [] })({ key: "k", flow: { source: { namespace: "shop" } } } as unknown as FlowItem)).toBe(false);
  });

  it("keeps the policies of allowed namespaces only, and no node names", () => {
    const r = policyInScope(
      {
        policies: [{ namespace: "shop" }, { namespace: "payments" }, {}],
        moments: [{ nodes: [{ node: "node-secret" }], gone: ["payments/a", "shop/b"], appeared: ["cluster-wide"], carried: [], changes: [{ policy: "payments/a" }] }],
      },
      ["shop"],
    );
    expect(r.policies).toEqual([{ namespace: "shop" }]);
    expect(JSON.stringify(r.moments)).not.toMatch(/payments|node-secret|cluster-wide/);
    expect(r.moments[0].gone).toEqual(["shop/b"]);
  });
});

describe("settings and defaults", () => {
  const files = (text: string) => () => text;

  it("without anything set: local (no sign-in)", () => {
    expect(loadAuthSettings({}).mode).toBe("local");
    expect(loadAuthSettings({ FLOWLENS_AUTH: "off" }).mode).toBe("off");
    expect(loadAuthSettings({ FLOWLENS_AUTH: "on" }).mode).toBe("on");
  });

  it("with an issuer: everything it needs, each missing variable named", () => {
    let message = "";
    try {
      loadAuthSettings({ FLOWLENS_OIDC_ISSUER: "https://dex.example.com" });
    } catch (e) {
      expect(e).toBeInstanceOf(AuthSettingsError);
      message = (e as Error).message;
    }
    expect(message).toMatch(/FLOWLENS_OIDC_CLIENT_ID: required/);
    expect(message).toMatch(/FLOWLENS_PUBLIC_URL: required/);
    expect(message).toMatch(/FLOWLENS_AUTH_CONFIG: required/);
    expect(() => loadAuthSettings({ FLOWLENS_AUTH: "maybe" })).toThrow(/FLOWLENS_AUTH: expected/);
    expect(() => loadAuthSettings({ FLOWLENS_OIDC_ISSUER: "dex" })).toThrow(/FLOWLENS_OIDC_ISSUER: expected an http/);
    const s = loadAuthSettings(
      {
        FLOWLENS_OIDC_ISSUER: "https://dex.example.com/dex",
        FLOWLENS_OIDC_CLIENT_ID: "flowlens",
        FLOWLENS_PUBLIC_URL: "https://flowlens.example.com",
        FLOWLENS_AUTH_CONFIG: "/etc/flowlens/auth.yaml",
      },
      files(EXAMPLE),
    );
    expect(s).toMatchObject({ mode: "on", secureCookies: true, oidc: { redirectUri: "https://flowlens.example.com/auth/callback", clientId: "flowlens" } });
    expect(() =>
      loadAuthSettings({ FLOWLENS_AUTH: "on", FLOWLENS_AUTH_CONFIG: "/x.yaml" }, files("rules:\n  - group: a\n    role: god\n    namespaces: [x]")),
    ).toThrow(/FLOWLENS_AUTH_CONFIG \(\/x\.yaml\): invalid:\n\s+rules\.0\.role/);
  });

  it("npm start listens on 127.0.0.1 without sign-in, elsewhere only with sign-in or FLOWLENS_AUTH=off", () => {
    expect(bindAddress({})).toEqual({ host: "127.0.0.1", auth: "local" });
    expect(bindAddress({ HOST: "localhost" })).toMatchObject({ host: "localhost" });
    expect(bindAddress({ HOST: "0.0.0.0" }).error).toMatch(/HOST=0\.0\.0\.0: no sign-in is configured.*FLOWLENS_AUTH=off/);
    expect(bindAddress({ FLOWLENS_OIDC_ISSUER: "https://dex" })).toEqual({ host: "0.0.0.0", auth: "on" });
    expect(bindAddress({ FLOWLENS_AUTH: "off", HOST: "10.0.0.5" })).toMatchObject({ host: "10.0.0.5", auth: "off", warning: expect.stringMatching(/FLOWLENS_AUTH=off/) });
    expect(bindAddress({ FLOWLENS_AUTH: "yes" }).error).toMatch(/FLOWLENS_AUTH/);
  });

  it("returns only to paths on this site after sign-in", () => {
    expect(safeNext("/flows?namespace=shop")).toBe("/flows?namespace=shop");
    for (const bad of ["//evil.example/x", "https://evil.example", "/\\evil.example", "", null, "flows"]) expect(safeNext(bad)).toBe("/flows");
  });

  it("cookies are HttpOnly and SameSite=Lax, Secure when asked", () => {
    expect(setCookie("a", "b c", { maxAgeS: 60, secure: true })).toBe("a=b%20c; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
    expect(setCookie("a", "b", { maxAgeS: 60, secure: false })).not.toMatch(/Secure/);
    expect(readCookie("x=1; flowlens_session=abc%3D; y=2", "flowlens_session")).toBe("abc=");
    expect(readCookie(null, "x")).toBeUndefined();
  });

  it("token input: role, namespaces and expiry checked, messages name the parameter", () => {
    expect(parseTokenInput({ name: "ci", role: "auditor", namespaces: splitNamespaces("shop, payments") })).toEqual({
      ok: true,
      value: { name: "ci", role: "auditor", namespaces: ["shop", "payments"], expires: null },
    });
    expect(parseTokenInput({ name: "ci", role: "viewer", namespaces: ["*"], expires: "90d" })).toMatchObject({ ok: true, value: { expires: 90 * 86400_000 } });
    expect(parseTokenInput({ name: "ci", role: "boss", namespaces: ["shop"] })).toMatchObject({ ok: false, parameter: "role" });
    expect(parseTokenInput({ name: "ci", role: "viewer", namespaces: [] })).toMatchObject({ ok: false, parameter: "namespaces" });
    expect(parseTokenInput({ name: "ci", role: "viewer", namespaces: ["shop"], expires: "soon" })).toMatchObject({ ok: false, parameter: "expires" });
    expect(parseTokenInput({ name: "", role: "viewer", namespaces: ["shop"] })).toMatchObject({ ok: false, parameter: "name" });
  });
});
