/**
 * `npm run demo-relay`: the demo cluster alone, as a Hubble Relay on 127.0.0.1:4245 (like
 * `cilium hubble port-forward`), so `hubble observe --server localhost:4245` or Flowlens with
 * HUBBLE_SERVER=localhost:4245 can use it. DEMO_RELAY_PORT, DEMO_RATE, DEMO_SEED,
 * DEMO_POLICY_PERIOD_MS and FLOWLENS_SAMPLE_DIR adjust it.
 */
import { startDemoRelay } from "./demo-relay";

const port = Number(process.env.DEMO_RELAY_PORT ?? 4245);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`DEMO_RELAY_PORT must be a port number, got "${process.env.DEMO_RELAY_PORT}"`);
  process.exit(2);
}
const seed = process.env.DEMO_SEED ? Number(process.env.DEMO_SEED) : undefined;
if (seed !== undefined && !Number.isInteger(seed)) {
  console.error(`DEMO_SEED must be an integer, got "${process.env.DEMO_SEED}"`);
  process.exit(2);
}

const demo = await startDemoRelay({ host: "127.0.0.1", port, seed });
console.log(`demo relay listening on ${demo.address}`);

// keeps the process alive: the demo's own timer is unref'd
const keepAlive = setInterval(() => {}, 1 << 30);

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`demo relay: ${signal}, stopping`);
  clearInterval(keepAlive);
  demo.stop().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));
