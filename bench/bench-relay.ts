/**
 * The benchmark's relay, in its own process (as Relay runs on another machine). A grpc-js server
 * tops out near 20k messages/s here, below what a Go Relay sends, so this is a light sender: plain
 * node:http2 speaking gRPC framing, writing pre-encoded GetFlowsResponses in large chunks with
 * backpressure. It serves `count` flows as history to GetFlows, keeps the stream open (follow),
 * and on "more N" (stdin) sends N more to open streams as fast as they are read.
 */
import http2 from "node:http2";
import readline from "node:readline";
import { toBinary } from "@bufbuild/protobuf";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { benchFlows } from "./bench-flows";

const count = Number(process.argv[2] ?? 200_000);
const start = BigInt(Date.now() - 3_600_000) * 1_000_000n;

function framed(n: number, from: bigint): Buffer[] {
  const chunks: Buffer[] = [];
  let parts: Buffer[] = [];
  let size = 0;
  for (const r of benchFlows(n, from)) {
    const body = toBinary(GetFlowsResponseSchema, r);
    const head = Buffer.allocUnsafe(5);
    head[0] = 0;
    head.writeUInt32BE(body.length, 1);
    parts.push(head, Buffer.from(body.buffer, body.byteOffset, body.length));
    size += 5 + body.length;
    if (size > 256 * 1024) {
      chunks.push(Buffer.concat(parts));
      parts = [];
      size = 0;
    }
  }
  if (parts.length) chunks.push(Buffer.concat(parts));
  return chunks;
}

const history = framed(count, start);
let next = start + BigInt(count) * 20_000n;
const open = new Set<http2.ServerHttp2Stream>();

async function send(stream: http2.ServerHttp2Stream, chunks: Buffer[]): Promise<void> {
  for (const c of chunks) {
    if (stream.destroyed) return;
    if (!stream.write(c)) await new Promise((r) => stream.once("drain", r));
  }
}

const server = http2.createServer();
server.on("stream", (stream, headers) => {
  const path = headers[":path"];
  if (path === "/observer.Observer/GetFlows") {
    stream.respond({ ":status": 200, "content-type": "application/grpc" });
    open.add(stream);
    stream.on("close", () => open.delete(stream));
    stream.on("error", () => open.delete(stream));
    void send(stream, history);
  } else {
    // ServerStatus/GetNodes: answer an empty message, enough for the ingest's checks
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  }
});
server.listen(0, "127.0.0.1", () => {
  const port = (server.address() as { port: number }).port;
  process.stdout.write(JSON.stringify({ address: `127.0.0.1:${port}` }) + "\n");
});

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const m = /^more (\d+)$/.exec(line.trim());
  if (!m) return;
  const n = Number(m[1]);
  const chunks = framed(n, next);
  next += BigInt(n) * 20_000n;
  for (const s of open) void send(s, chunks);
  process.stdout.write(JSON.stringify({ published: n }) + "\n");
});
process.stdin.on("end", () => {
  for (const s of open) s.close();
  server.close();
  process.exit(0);
});
