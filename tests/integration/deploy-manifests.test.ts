/**
 * deploy/ rendered the way users apply it (`kubectl kustomize`, i.e. `kubectl apply -k`), parsed,
 * and held to the code: image tag = package.json version, probes on routes that exist, ports =
 * the config's defaults and the Dockerfile's EXPOSE, every variable one server/config.ts knows
 * with a value it accepts, a volume on every folder the image writes, and selectors that pick
 * the pods they mean. Deliberately broken copies must be caught, so the checks can fail.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { knownVariables, loadConfig } from "@/server/config";
import { readImageFacts } from "../fixtures/dockerfile";
import { ROOT, appRoutes, manifestProblems, type CodeFacts, type K8sObject } from "../fixtures/manifest-checks";

const KUBECTL = process.env.KUBECTL || "kubectl";
const kubectl = spawnSync(KUBECTL, ["version", "--client"], { encoding: "utf8" });
const haveKubectl = kubectl.status === 0;
const DEPLOY = path.join(ROOT, "deploy");
const overlays = readdirSync(path.join(DEPLOY, "overlays")).sort();

function render(dir: string): K8sObject[] {
  const r = spawnSync(KUBECTL, ["kustomize", dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${path.relative(ROOT, dir)} failed:\n${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => {
    if (d.errors.length) throw new Error(`unparsable YAML from ${dir}: ${d.errors[0].message}`);
    return d.toJS() as K8sObject;
  });
}

const facts: CodeFacts = {
  version: (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version,
  image: readImageFacts(),
  knownVariables: new Set(knownVariables()),
  loadConfig: (env) => loadConfig(env) as unknown as Record<string, unknown>,
  routes: appRoutes(),
};

const deployment = (objs: K8sObject[], name: string) => {
  const d = objs.find((o) => o.kind === "Deployment" && o.metadata.name === name);
  if (!d) throw new Error(`no Deployment ${name}`);
  return d;
};
const envOf = (d: K8sObject, name: string) => d.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === name);

describe.skipIf(haveKubectl)("deploy/ manifests", () => {
  it(`are not rendered: "${KUBECTL}" is missing (Debian: apt-get install kubernetes-client; .ci/run installs it)`, () => {});
});

describe.skipIf(!haveKubectl)("deploy/ manifests rendered by kubectl kustomize", () => {
  const monitoring = haveKubectl ? render(path.join(DEPLOY, "monitoring")) : [];

  it("has the overlays docs/deploy.md names", () => {
    expect(overlays).toEqual(expect.arrayContaining(["single", "scaled", "scaled-per-node"]));
    expect(monitoring.map((o) => o.kind)).toEqual(["ServiceMonitor"]);
  });

  it.each(overlays)("overlay %s agrees with the code, the Dockerfile and itself", (overlay) => {
    expect(manifestProblems(render(path.join(DEPLOY, "overlays", overlay)), facts, monitoring)).toEqual([]);
  });

  it("single: one pod runs every role, on a volume of its own when it has no PostgreSQL", () => {
    const objs = render(path.join(DEPLOY, "overlays/single"));
    const ds = objs.filter((o) => o.kind === "Deployment");
    expect(ds.map((d) => d.metadata.name)).toEqual(["flowlens"]);
    const d = ds[0];
    expect(d.spec.replicas).toBe(1);
    expect(envOf(d, "FLOWLENS_ROLE").value).toBe("all");
    // the embedded store has one writer: the old pod stops before the new one opens the volume
    expect(d.spec.strategy.type).toBe("Recreate");
    const data = d.spec.template.spec.volumes.find((v: { name: string }) => v.name === "data");
    expect(data.emptyDir).toBeUndefined();
    const claim = objs.find((o) => o.kind === "PersistentVolumeClaim" && o.metadata.name === data.persistentVolumeClaim?.claimName);
    expect(claim).toBeDefined();
    expect(envOf(d, "DATABASE_URL").valueFrom.secretKeyRef.optional).toBe(true);
  });

  it("scaled: ingest replicas share the work, web replicas serve, both on PostgreSQL", () => {
    const objs = render(path.join(DEPLOY, "overlays/scaled"));
    const ingest = deployment(objs, "flowlens-ingest");
    const web = deployment(objs, "flowlens-web");
    expect(objs.filter((o) => o.kind === "Deployment")).toHaveLength(2);
    expect(envOf(ingest, "FLOWLENS_ROLE").value).toBe("ingest");
    expect(envOf(web, "FLOWLENS_ROLE").value).toBe("web");
    expect(ingest.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(web.spec.replicas).toBeGreaterThanOrEqual(2);
    for (const d of [ingest, web]) expect(envOf(d, "DATABASE_URL").valueFrom.secretKeyRef.optional).toBe(false);
  });

  it("scaled-per-node: the ingest reads every agent over mTLS, and the policies let it reach them", () => {
    const objs = render(path.join(DEPLOY, "overlays/scaled-per-node"));
    const config = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "flowlens-config")!;
    expect(config.data).toMatchObject({ FLOWLENS_INGEST: "per-node", HUBBLE_TLS: "true" });
    expect(deployment(objs, "flowlens-ingest").spec.template.spec.volumes.find((v: { name: string }) => v.name === "relay-tls").secret.secretName).toBe(
      "hubble-relay-client-certs",
    );
    const np = objs.find((o) => o.kind === "NetworkPolicy")!;
    expect(np.spec.egress.some((r: { ports?: { port: number }[] }) => r.ports?.some((p) => p.port === 4244))).toBe(true);
    const cnp = objs.find((o) => o.kind === "CiliumNetworkPolicy")!;
    expect(cnp.spec.egress.some((r: { toEntities?: string[] }) => r.toEntities?.includes("remote-node"))).toBe(true);
  });

  describe("the checks catch drift", () => {
    const base = haveKubectl ? render(path.join(DEPLOY, "overlays/scaled")) : [];
    const before = new Set(haveKubectl ? manifestProblems(base, facts, monitoring) : []);
    /** the problems a change adds (only those: the intact render's are the test above) */
    const broken = (change: (objs: K8sObject[]) => void) => {
      const objs = structuredClone(base);
      change(objs);
      return manifestProblems(objs, facts, monitoring)
        .filter((p) => !before.has(p))
        .join("\n");
    };
    const web = (objs: K8sObject[]) => deployment(objs, "flowlens-web").spec.template.spec.containers[0];

    it.each<[string, (objs: K8sObject[]) => void, RegExp]>([
      ["a probe path with no route", (o) => (web(o).readinessProbe.httpGet.path = "/api/ready"), /readinessProbe .*\/api\/ready/],
      ["a misspelt variable", (o) => web(o).env.push({ name: "FLOWLENS_RETENSION", value: "7d" }), /FLOWLENS_RETENSION is not a variable/],
      ["a value the config refuses", (o) => (o.find((x) => x.kind === "ConfigMap")!.data.HUBBLE_SERVER = "hubble-relay"), /refuses its environment: .*HUBBLE_SERVER/s],
      ["another http port", (o) => (web(o).ports[0].containerPort = 8080), /port "http" is 8080/],
      ["another image tag", (o) => (web(o).image = "flowlens:0.0.1"), /image flowlens:0\.0\.1/],
      ["pod labels the policies miss", (o) => (deployment(o, "flowlens-web").spec.template.metadata.labels["app.kubernetes.io/name"] = "lens"), /NetworkPolicy\/flowlens does not select/],
      ["an ingest pod behind the Service", (o) => (deployment(o, "flowlens-ingest").spec.template.metadata.labels["flowlens.io/serve"] = "true"), /an ingest pod/],
      ["no volume on /tmp", (o) => (web(o).volumeMounts = web(o).volumeMounts.filter((m: { mountPath: string }) => m.mountPath !== "/tmp")), /\/tmp is written/],
      ["egress to another port", (o) => o.find((x) => x.kind === "NetworkPolicy")!.spec.egress.push({ ports: [{ port: 443 }] }), /lets out port 443/],
      ["a root user", (o) => (deployment(o, "flowlens-ingest").spec.template.spec.securityContext.runAsUser = 0), /runs as 0:/],
      ["TLS files outside any volume", (o) => Object.assign(o.find((x) => x.kind === "ConfigMap")!.data, { HUBBLE_TLS: "true", HUBBLE_TLS_CLIENT_CERT_FILE: "/certs/tls.crt" }), /\/certs\/tls\.crt is not inside a mounted volume/],
    ])("%s", (_what, change, expected) => {
      expect(broken(change)).toMatch(expected);
    });
  });
});
