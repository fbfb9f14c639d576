/**
 * The relay of `npm run bench:load`, in its own process: a light gRPC sender (node:http2 with gRPC
 * framing, as bench-relay.ts) that sends flows at a steady rate to the open GetFlows stream.
 * argv: startNs stepNs. stdin: `send FROM COUNT RATE` sends flows FROM..FROM+COUNT-1 paced at RATE/s
 * (never faster; slower only if the reader applies backpressure) and answers one JSON line
 * {done, sent, seconds, maxBacklog}; stdout's first line is {address}.
 */
import http2 from "node:http2";
import readline from "node:readline";
import { responseBytes, templates, TEMPLATES } from "./load-flows";

const startNs = BigInt(process.argv[2]);
const stepNs = BigInt(process.argv[3]);
const tpl = templates();
const open = new Set<http2.ServerHttp2Stream>();

function frame(i: number): Buffer {
  const body = responseBytes(tpl[i % TEMPLATES], i, startNs + BigInt(i) * stepNs);
  const head = Buffer.allocUnsafe(5);
  head[0] = 0;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

async function write(chunk: Buffer): Promise<void> {
  const streams = [...open];
  await Promise.all(
    streams.map(async (s) => {
      if (s.destroyed) return;
      if (!s.write(chunk)) await new Promise((r) => s.once("drain", r));
    }),
  );
}

async function send(from: number, count: number, rate: number): Promise<void> {
  while (open.size === 0) await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  let sent = 0;
  let maxBacklog = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((performance.now() - t0) / 1000) * rate));
    maxBacklog = Math.max(maxBacklog, due - sent);
    if (due > sent) {
      const parts: Buffer[] = [];
      for (let i = sent; i < due; i++) parts.push(frame(from + i));
      await write(Buffer.concat(parts));
      sent = due;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  process.stdout.write(JSON.stringify({ done: from + count, sent, seconds: (performance.now() - t0) / 1000, maxBacklog }) + "\n");
}

const server = http2.createServer();
server.on("stream", (stream, headers) => {
  if (headers[":path"] === "/observer.Observer/GetFlows") {
    stream.respond({ ":status": 200, "content-type": "application/grpc" });
    open.add(stream);
    stream.on("close", () => open.delete(stream));
    stream.on("error", () => open.delete(stream));
  } else {
    // ServerStatus/GetNodes: an empty message is enough for the ingest's checks
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  }
});
server.listen(0, "127.0.0.1", () => {
  const port = (server.address() as { port: number }).port;
  process.stdout.write(JSON.stringify({ address: `127.0.0.1:${port}` }) + "\n");
});

let queue = Promise.resolve();
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const m = /^send (\d+) (\d+) (\d+)$/.exec(line.trim());
  if (m) queue = queue.then(() => send(Number(m[1]), Number(m[2]), Number(m[3])));
});
process.stdin.on("end", () => {
  for (const s of open) s.close();
  server.close();
  process.exit(0);
});
