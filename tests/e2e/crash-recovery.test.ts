/**
 * The embedded store survives a crash (issue: ingest never wedges): `npm start` on embedded
 * PostgreSQL (PGlite) ingesting from a relay is killed with SIGKILL mid-ingest, then started again
 * on the same folder. The store opens, the ingest resumes from what was stored, and in the end
 * every flow the relay sent is stored exactly once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRelayServer, type RelayServer } from "@/server/demo/relay/relay-server";
import type { StatusReport } from "@/server/domain/flows/flow-item";
import { buildFlow, responseOf, tcp } from "../fixtures/flow-builder";
import { startApp, waitForJson, type AppServer } from "./app-server";

describe("crash recovery of the embedded store", () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "flowlens-crash-"));
  let relay: RelayServer | undefined;
  let app: AppServer | undefined;
  let timer: NodeJS.Timeout | undefined;
  const sent = new Set<string>();
  const env: Record<string, string> = { FLOWLENS_RETENTION: "off" };
  // the first start may build the app (minutes on a fresh checkout): a hook, with the hook's time limit
  beforeAll(async () => {
    relay = await startRelayServer({ ringSize: 200_000 });
    let n = 0;
    timer = setInterval(() => {
      for (let i = 0; i < 30; i++) {
        const f = buildFlow({ time: BigInt(Date.now()) * 1_000_000n, nodeName: "crash-node", l4: tcp(1024 + (n++ % 60000), 8080) });
        sent.add(f.uuid);
        relay!.publish(responseOf(f));
      }
    }, 100);
    env.HUBBLE_SERVER = relay.address;
    app = await startApp(env, { dataDir });
  });
  afterAll(async () => {
    clearInterval(timer);
    await app?.stop();
    await relay?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("opens after SIGKILL mid-ingest, resumes, and stores every flow once", async () => {
    await waitForJson<StatusReport>(`${app!.url}/api/status`, (s) => s.storage.flows > 600, "flows stored before the crash", 120_000);
    await app!.kill();
    const atKill = sent.size;
    await new Promise((r) => setTimeout(r, 1500)); // the relay goes on while Flowlens is down

    app = await startApp(env, { dataDir });
    expect(app.logs()).not.toMatch(/could not start/);
    await waitForJson<StatusReport>(`${app.url}/api/status`, (s) => s.relay.state === "connected", "the stream back", 60_000);
    clearInterval(timer);
    const total = sent.size;
    expect(total).toBeGreaterThan(atKill);
    await waitForJson<StatusReport>(`${app.url}/api/status`, (s) => s.storage.flows >= total, `${total} flows stored`, 120_000);

    const res = await fetch(`${app.url}/api/flows?node-name=crash-node&format=jsonl`);
    expect(res.status).toBe(200);
    const keys = (await res.text())
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { flow: { uuid: string } }).flow.uuid);
    expect(keys.length).toBe(total); // nothing twice
    expect(new Set(keys).size).toBe(total);
    expect([...sent].filter((k) => !keys.includes(k))).toEqual([]); // nothing lost
    expect(await app.stop()).toBe(0);
    app = undefined;
  });
});
