/**
 * The container image, without a Docker engine (none runs on this machine): the app folder is
 * built the way the Dockerfile's stages build it — a copy of the build context that .dockerignore
 * leaves, the dependencies with their postinstall, then the build stage's own command
 * (scripts/build-standalone.mjs) — and run the way the runtime stage runs it: its CMD, its ENV, as
 * its USER, in a mount namespace where the root filesystem is read-only and only /tmp, the folders
 * the Dockerfile hands to that user and the data volume can be written (what deploy/'s
 * securityContext gives a pod). Its HEALTHCHECK must pass, migrations apply from the image's own
 * files, the demo cluster's flows are stored (PostgreSQL and the embedded store), pages answer, and
 * SIGTERM ends it cleanly. Needs root (to switch user and mount); skipped with a message otherwise.
 * The image itself is built and run with podman by `npm run image:check` (scripts/image-check.sh,
 * opt-in: slow; docs/deploy.md, "Building the image without Docker Hub").
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusReport } from "@/server/domain/flows/flow-item";
import { readImageFacts } from "../fixtures/dockerfile";
import { PG_BASE_URL, dropSchema, freshSchemaName } from "../fixtures/test-db";
import { ROOT, freePort, waitForJson } from "./app-server";

const WORK = path.join(ROOT, "test-output", "standalone");
const CONTEXT = path.join(WORK, "context");
const APP = path.join(WORK, "app");
const image = readImageFacts();
/** where the namespace shows the app and the data volume (inside its own /tmp: no folder is made outside the repo) */
const IMAGE_ROOT = "/tmp/flowlens-image";

const isolation = (() => {
  if (process.getuid?.() !== 0) return "needs root (to run as the image's user in a read-only mount namespace)";
  if (spawnSync("unshare", ["--mount", "--propagation", "private", "true"]).status !== 0) return "unshare --mount is not permitted here";
  if (spawnSync("setpriv", ["--version"]).status !== 0) return "setpriv (util-linux) is missing";
  return null;
})();

/** .dockerignore's patterns; this context has only top-level names, which is all the matcher supports */
function dockerignore(): RegExp[] {
  return readFileSync(path.join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((p) => {
      if (p.includes("/") || p.startsWith("!")) throw new Error(`.dockerignore pattern "${p}": extend this test's matcher`);
      return new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}$`);
    });
}

function sh(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}):\n${(r.stdout ?? "").slice(-3000)}\n${(r.stderr ?? "").slice(-3000)}`);
  return r.stdout;
}

/** the Dockerfile's deps and build stages, here */
function buildAppFolder() {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(CONTEXT, { recursive: true });
  const ignored = dockerignore();
  for (const name of readdirSync(ROOT)) {
    if (!ignored.some((re) => re.test(name))) cpSync(path.join(ROOT, name), path.join(CONTEXT, name), { recursive: true });
  }
  // deps: `npm ci` gives the lockfile's packages, here already installed: hard links, not copies
  sh("cp", ["-al", path.join(ROOT, "node_modules"), path.join(CONTEXT, "node_modules")], ROOT);
  sh("npm", ["run", "postinstall"], CONTEXT);
  // build: the Dockerfile's RUN line, its output folder moved into test-output
  const [exe, script, out] = image.buildCommand;
  expect([exe, out]).toEqual(["node", "/out"]);
  sh(process.execPath, [script, APP], CONTEXT);
  rmSync(CONTEXT, { recursive: true, force: true });
  // the runtime stage: root-owned files the user can read, and the folders it may write
  sh("chmod", ["-R", "a+rX,go-w", APP], ROOT);
  for (const dir of image.writable) if (dir.startsWith(image.workdir + "/")) mkdirSync(path.join(APP, dir.slice(image.workdir.length + 1)), { recursive: true });
}

interface Running {
  url: string;
  child: ChildProcess;
  logs: () => string;
  stop(): Promise<number | null>;
}

/** The runtime stage's CMD as its USER with its ENV (+ env), read-only but for the writable folders. */
async function runImage(dataDir: string, env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  mkdirSync(dataDir, { recursive: true });
  chownSync(dataDir, image.uid, image.gid);
  chmodSync(dataDir, 0o750);
  const inside = (p: string) => (p.startsWith(image.workdir + "/") ? `${IMAGE_ROOT}/app/${p.slice(image.workdir.length + 1)}` : p);
  const dataMount = image.env.FLOWLENS_DATA_DIR;
  const writableInApp = image.writable.filter((d) => d !== dataMount);
  for (const d of writableInApp) if (!d.startsWith(image.workdir + "/")) throw new Error(`writable ${d} outside ${image.workdir}: teach this test where to mount it`);
  const fullEnv: Record<string, string> = {
    PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    ...image.env,
    FLOWLENS_DATA_DIR: `${IMAGE_ROOT}/data`,
    PORT: String(port),
    LOG_LEVEL: "info",
    // the image listens on 0.0.0.0: without sign-in its entry asks for this on purpose (docs/deploy.md)
    FLOWLENS_AUTH: "off",
    ...env,
  };
  const script = [
    "set -e",
    // the checkout may itself live under /tmp (a clone in /tmp/x): hold the app and data folders
    // on /mnt (this namespace's own tmpfs) before the image's empty /tmp hides them
    "mount -t tmpfs -o size=1m tmpfs /mnt",
    "mkdir /mnt/app /mnt/data",
    'mount --bind "$APP_DIR" /mnt/app',
    'mount --bind "$DATA_DIR" /mnt/data',
    "mount -t tmpfs -o mode=1777,size=256m tmpfs /tmp",
    `mkdir -p ${IMAGE_ROOT}/app ${IMAGE_ROOT}/data`,
    `mount --bind /mnt/app ${IMAGE_ROOT}/app`,
    `mount -o remount,bind,ro ${IMAGE_ROOT}/app`,
    `mount --bind /mnt/data ${IMAGE_ROOT}/data`,
    "mount -o remount,bind,ro /",
    ...writableInApp.map((d) => `mount -t tmpfs -o uid=${image.uid},gid=${image.gid},mode=0755,size=256m tmpfs ${inside(d)}`),
    `cd ${IMAGE_ROOT}/app`,
    `exec setpriv --reuid=${image.uid} --regid=${image.gid} --clear-groups --inh-caps=-all env -i "$@"`,
  ].join("\n");
  const args = [...Object.entries(fullEnv).map(([k, v]) => `${k}=${v}`), ...image.cmd];
  const child: ChildProcess = spawn("unshare", ["--mount", "--propagation", "private", "sh", "-c", script, "sh", ...args], {
    env: { ...process.env, APP_DIR: APP, DATA_DIR: dataDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the image's CMD exited with ${child.exitCode}:\n${out.slice(-4000)}`);
    if (Date.now() > deadline) throw new Error(`the image's server did not answer on ${url}:\n${out.slice(-4000)}`);
    try {
      if ((await fetch(`${url}/api/status`)).ok) break;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    url,
    child,
    logs: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once("exit", (code) => resolve(code));
        child.kill("SIGTERM");
      }),
  };
}

/** the Dockerfile's HEALTHCHECK, as the image's user with the image's environment (async: the server's
 * output pipes into this process and must keep draining meanwhile) */
function healthcheck(port: string): Promise<string> {
  const env = [`PATH=${path.dirname(process.execPath)}:/usr/bin:/bin`, ...Object.entries({ ...image.env, PORT: port }).map(([k, v]) => `${k}=${v}`)];
  return new Promise((resolve) => {
    execFile("setpriv", [`--reuid=${image.uid}`, `--regid=${image.gid}`, "--clear-groups", "env", "-i", ...env, ...image.healthcheck], { timeout: 30_000 }, (err, _out, stderr) =>
      resolve(err ? `failed: ${err.message} ${stderr}` : "healthy"),
    );
  });
}

const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
const migrationNames = (dir = path.join(ROOT, "prisma/migrations")) =>
  readdirSync(dir)
    .filter((d) => statSync(path.join(dir, d)).isDirectory())
    .sort();

describe.skipIf(isolation === null)("the container image's app folder", () => {
  it(`is not run: ${isolation ?? ""}`, () => {});
});

describe.skipIf(isolation !== null)("the container image's app folder, run read-only as its user", () => {
  // `next build` of a copy of the context: minutes on 2 shared cores
  beforeAll(() => buildAppFolder(), 900_000);
  afterAll(() => rmSync(WORK, { recursive: true, force: true }));

  it("holds the standalone server, the migrations, the samples, and no dev dependency", () => {
    expect(existsSync(path.join(APP, image.cmd.at(-1)!))).toBe(true);
    expect(existsSync(path.join(APP, ".next/static"))).toBe(true);
    expect(migrationNames(path.join(APP, "prisma/migrations"))).toEqual(migrationNames());
    expect(readdirSync(path.join(APP, "samples/hubble-otel")).some((f) => f.endsWith(".json"))).toBe(true);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
    // a devDependency that a production package also needs (pg needs pg-connection-string) is not
    // "dev" in the lock file: only those the lock marks dev-only must be absent
    const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.keys(pkg.devDependencies).filter((d) => lock.packages[`node_modules/${d}`]?.dev === true);
    const present = devOnly.filter((d) => existsSync(path.join(APP, "node_modules", d)));
    expect(present).toEqual([]);
    expect(existsSync(path.join(APP, ".next/cache/webpack"))).toBe(false);
  });

  it("on PostgreSQL: applies its migrations, stores the demo cluster's flows, serves pages, passes its HEALTHCHECK, stops on SIGTERM", async () => {
    const schema = freshSchemaName();
    const url = `${PG_BASE_URL}${PG_BASE_URL.includes("?") ? "&" : "?"}schema=${schema}`;
    const app = await runImage(path.join(WORK, "data-pg"), { DATABASE_URL: url });
    try {
      expect(uidOf(app.child.pid!)).toBe(image.uid);
      const s = await waitForJson<StatusReport>(`${app.url}/api/status`, (v) => v.storage.flows > 100, "demo flows stored", 120_000);
      expect(s.storage).toMatchObject({ kind: "postgres", state: "ok" });
      expect(await healthcheck(new URL(app.url).port)).toBe("healthy");
      for (const page of ["/flows", "/map", "/drops", "/dns", "/policies"]) {
        const r = await fetch(app.url + page);
        expect(r.status, page).toBe(200);
        expect(await r.text()).toContain("<html");
      }
      const flows = (await (await fetch(`${app.url}/api/flows?limit=5`)).json()) as { flows: unknown[] };
      expect(flows.flows.length).toBe(5);
      const c = new pg.Client({ connectionString: PG_BASE_URL });
      await c.connect();
      try {
        const r = await c.query<{ migration_name: string }>(`SELECT migration_name FROM "${schema}"."_prisma_migrations" ORDER BY 1`);
        expect(r.rows.map((x) => x.migration_name)).toEqual(migrationNames());
      } finally {
        await c.end();
      }
      expect(await app.stop()).toBe(0);
      expect(app.logs()).toMatch(/flowlens stopped/);
      expect(app.logs()).not.toMatch(/EROFS|EACCES|read-only file system|permission denied/i);
    } finally {
      await app.stop();
      await dropSchema(schema);
    }
  });

  it("embedded: keeps its store in the data volume, owned by the image's user", async () => {
    const dataDir = path.join(WORK, "data-embedded");
    const app = await runImage(dataDir, {});
    try {
      const s = await waitForJson<StatusReport>(`${app.url}/api/status`, (v) => v.storage.flows > 100, "demo flows stored", 120_000);
      expect(s.storage).toMatchObject({ kind: "embedded", state: "ok" });
      expect(await app.stop()).toBe(0);
      expect(app.logs()).not.toMatch(/EROFS|EACCES|read-only file system|permission denied/i);
      const store = readdirSync(dataDir);
      expect(store.length).toBeGreaterThan(0);
      for (const f of store) expect(statSync(path.join(dataDir, f)).uid).toBe(image.uid);
    } finally {
      await app.stop();
    }
  });
});
