/**
 * The Observer gRPC API as `npm start` serves it (built-in demo cluster, embedded store): started
 * with the app on the address /api/status shows (a free port here, never the fixed 4246), a
 * `hubble observe --last 5 --follow` style stream gets the history then live flows, and SIGTERM
 * stops the app cleanly (exit 0) with that stream open.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusReport } from "@/server/domain/flows/flow-item";
import { observerClient } from "../fixtures/grpc-client";
import { waitFor } from "../fixtures/test-pipeline";
import { startApp, waitForJson, type AppServer } from "./app-server";

describe("gRPC Observer API of the running app", () => {
  let app: AppServer | undefined;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it("serves history then live, and stops cleanly on SIGTERM", async () => {
    const status = await waitForJson<StatusReport>(`${app!.url}/api/status`, (s) => s.storage.flows > 20 && s.grpc?.state === "serving", "flows and the gRPC API", 120_000);
    expect(status.grpc.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(status.grpc.address).not.toBe("127.0.0.1:4246");
    const client = observerClient(status.grpc.address!);
    expect(Number((await client.status()).numFlows)).toBeGreaterThan(0);
    const stream = client.follow({ number: 5n, follow: true });
    const flows = () => stream.responses.filter((r) => r.responseTypes.case === "flow").length;
    await waitFor(() => flows() >= 5, "the last 5", 30_000);
    await waitFor(() => flows() > 5, "a live flow from the demo cluster", 60_000);

    expect(await app!.stop()).toBe(0);
    app = undefined;
    await waitFor(() => stream.ended(), "the stream closed by the server", 20_000);
    expect([grpc.status.UNAVAILABLE, grpc.status.CANCELLED, grpc.status.INTERNAL]).toContain(stream.error()?.code);
    client.close();
  });
});
