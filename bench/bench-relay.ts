/**
 * The benchmark's relay, in its own process (as Relay runs on another machine). A grpc-js server
 * tops out near 20k messages/s here, below what a Go Relay sends, so this is a light sender: plain
 * node:http2 speaking gRPC framing, writing pre-encoded GetFlowsResponses in large chunks with
 * backpressure. It serves `count` flows as history to GetFlows, keeps the stream open (follow),
 * and on "more N" (stdin) sends N more to open streams as fast as they are read. On "rate R" it
 * sends R flows a second, stamped with the time they are sent, until "rate 0": encoding each with
 * protobuf-es would cost more CPU than storing it, so a few thousand encoded flows are reused as
 * templates whose time and uuid are rewritten in place (both have fixed-width encodings here).
 * "stats" answers how many it has sent at a steady rate so far.
 * BENCH_RELAY_NODE=<name> makes it one agent of a per-node benchmark: every flow is observed on that
 * node, and the history is built from the templates too (encoding 10^5 flows one by one takes most
 * of a minute; several such relays start in a second).
 */
import http2 from "node:http2";
import readline from "node:readline";
import { toBinary } from "@bufbuild/protobuf";
import { GetFlowsResponseSchema, type GetFlowsResponse } from "@/proto/gen/observer/observer_pb";
import { benchFlows } from "./bench-flows";

const count = Number(process.argv[2] ?? 200_000);
const start = BigInt(Date.now() - 3_600_000) * 1_000_000n;
const NODE = process.env.BENCH_RELAY_NODE;
const nodes = NODE ? [NODE] : undefined;

function framed(n: number, from: bigint): Buffer[] {
  if (NODE) return templatedHistory(n, from);
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

let next = 0n;
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
// ---- steady rate ----
// seconds in [2^28, 2^35) and nanos in [2^28, 10^9) are 5-byte varints: a template's timestamps can
// be rewritten in place. Nanos below 2^28 are moved up into that range (a flow is off by < 0.73 s).
const SENTINEL_TIME = { seconds: 2_000_000_000n, nanos: 999_999_999 };
const SENTINEL_UUID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
const MIN_NANOS = 2 ** 28;

function varint5(out: Buffer, at: number, v: number): void {
  for (let i = 0; i < 4; i++) {
    out[at + i] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at + 4] = v;
}

interface Template {
  frame: Buffer;
  /** offsets of the seconds varint of each Timestamp (the flow's and the response's); nanos follow 1 byte later */
  times: number[];
  uuid: number;
}

function sentinelBytes(): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 0x08;
  varint5(b, 1, Number(SENTINEL_TIME.seconds));
  b[6] = 0x10;
  varint5(b, 7, SENTINEL_TIME.nanos);
  return b;
}

function templates(n: number): Template[] {
  const needle = sentinelBytes();
  const uuid = Buffer.from(SENTINEL_UUID);
  const out: Template[] = [];
  for (const r of benchFlows(n, 0n, undefined, nodes)) {
    const resp = r as GetFlowsResponse;
    if (resp.responseTypes.case !== "flow") continue;
    resp.time = { $typeName: "google.protobuf.Timestamp", ...SENTINEL_TIME };
    resp.responseTypes.value.time = { $typeName: "google.protobuf.Timestamp", ...SENTINEL_TIME };
    resp.responseTypes.value.uuid = SENTINEL_UUID;
    const body = Buffer.from(toBinary(GetFlowsResponseSchema, resp));
    const frame = Buffer.allocUnsafe(5 + body.length);
    frame[0] = 0;
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    const times: number[] = [];
    for (let at = frame.indexOf(needle); at >= 0; at = frame.indexOf(needle, at + 1)) times.push(at + 1);
    const u = frame.indexOf(uuid);
    if (times.length !== 2 || u < 0) throw new Error("template: timestamps or uuid not found");
    out.push({ frame, times, uuid: u });
  }
  return out;
}

let pool: Template[] | null = null;
let rate = 0;
let sentAtRate = 0;
/** flows written to streams at a steady rate, over every "rate" command */
let sentSteady = 0;
let rateStart = 0;
let seq = 0;
let ticking: NodeJS.Timeout | null = null;
const runId = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, "0");

function steadyChunk(n: number): Buffer {
  const nowNs = BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor((performance.now() % 1) * 1e6));
  const seconds = Number(nowNs / 1_000_000_000n);
  const nanos = Math.max(MIN_NANOS, Number(nowNs % 1_000_000_000n));
  let size = 0;
  for (let i = 0; i < n; i++) size += pool![(seq + i) % pool!.length].frame.length;
  const out = Buffer.allocUnsafe(size);
  let len = 0;
  for (let i = 0; i < n; i++) {
    const t = pool![seq % pool!.length];
    t.frame.copy(out, len);
    for (const at of t.times) {
      varint5(out, len + at, seconds);
      varint5(out, len + at + 6, nanos);
    }
    // a uuid per flow: run id, then the sequence number
    out.write(`${runId}-0000-4000-8000-${seq.toString(16).padStart(12, "0")}`, len + t.uuid, "latin1");
    len += t.frame.length;
    seq++;
  }
  return out.subarray(0, len);
}

/** `n` flows from the templates, 20 µs apart from `fromNs`, each with its own uuid */
function templatedHistory(n: number, fromNs: bigint): Buffer[] {
  pool ??= templates(4000);
  const chunks: Buffer[] = [];
  let parts: Buffer[] = [];
  let size = 0;
  for (let i = 0; i < n; i++) {
    const t = pool[seq % pool.length];
    const frame = Buffer.from(t.frame);
    const ns = fromNs + BigInt(i) * 20_000n;
    const seconds = Number(ns / 1_000_000_000n);
    const nanos = Math.max(MIN_NANOS, Number(ns % 1_000_000_000n));
    for (const at of t.times) {
      varint5(frame, at, seconds);
      varint5(frame, at + 6, nanos);
    }
    frame.write(`${runId}-0000-4000-8000-${seq.toString(16).padStart(12, "0")}`, t.uuid, "latin1");
    seq++;
    parts.push(frame);
    size += frame.length;
    if (size > 256 * 1024) {
      chunks.push(Buffer.concat(parts));
      parts = [];
      size = 0;
    }
  }
  if (parts.length) chunks.push(Buffer.concat(parts));
  return chunks;
}

function setRate(r: number): void {
  rate = r;
  sentAtRate = 0;
  rateStart = performance.now();
  pool ??= templates(4000);
  if (ticking) clearInterval(ticking);
  ticking = null;
  if (rate <= 0) return;
  ticking = setInterval(() => {
    const due = Math.floor((rate * (performance.now() - rateStart)) / 1000) - sentAtRate;
    if (due <= 0) return;
    // a stream that is not draining (the ingest is behind) gets nothing new until it drains:
    // what was due is sent later, in a burst, as a real Relay's buffer would
    const ready = [...open].filter((s) => !s.destroyed && !s.writableNeedDrain);
    if (ready.length === 0) return;
    const chunk = steadyChunk(due);
    sentAtRate += due;
    sentSteady += due;
    for (const s of ready) s.write(chunk);
  }, 20);
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() === "stats") {
    process.stdout.write(JSON.stringify({ sent: sentSteady }) + "\n");
    return;
  }
  const r = /^rate (\d+)$/.exec(line.trim());
  if (r) {
    setRate(Number(r[1]));
    process.stdout.write(JSON.stringify({ rate: Number(r[1]) }) + "\n");
    return;
  }
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

const history = framed(count, start);
next = start + BigInt(count) * 20_000n;
server.listen(0, "127.0.0.1", () => {
  const port = (server.address() as { port: number }).port;
  process.stdout.write(JSON.stringify({ address: `127.0.0.1:${port}` }) + "\n");
});
