/**
 * The fast client of bench:grpc, in its own process: one GetFlows call over plain node:http2,
 * messages counted from their 5-byte gRPC prefixes (no decode). A grpc-js client takes ~10 µs a
 * message here and would measure itself; `hubble observe` (Go) reads far faster, so this one stands
 * in for it. Prints {flows, events, firstMs, totalMs} as JSON, like grpc-read.ts.
 * argv: address, request as JSON (GetFlowsRequest init; number as a string).
 */
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { GetFlowsRequestSchema } from "@/proto/gen/observer/observer_pb";

const [address, reqJson] = process.argv.slice(2);
const init = JSON.parse(reqJson) as Record<string, unknown>;
if (typeof init.number === "string") init.number = BigInt(init.number);
const body = toBinary(GetFlowsRequestSchema, create(GetFlowsRequestSchema, init));
const request = Buffer.alloc(5 + body.length);
request.writeUInt32BE(body.length, 1);
request.set(body, 5);

const session = http2.connect(`http://${address}`);
const started = performance.now();
let first = -1;
let flows = 0;
let events = 0;
let pending: Buffer | null = null;
const req = session.request({ ":method": "POST", ":path": "/observer.Observer/GetFlows", "content-type": "application/grpc", te: "trailers" });
req.end(request);
req.on("response", (headers) => {
  if (headers["grpc-status"] && headers["grpc-status"] !== "0") fail(`grpc-status ${headers["grpc-status"]}: ${headers["grpc-message"]}`);
});
req.on("trailers", (t) => {
  if (t["grpc-status"] !== "0") fail(`grpc-status ${t["grpc-status"]}: ${t["grpc-message"]}`);
});
req.on("data", (chunk: Buffer) => {
  if (first < 0) first = performance.now() - started;
  const b = pending ? Buffer.concat([pending, chunk]) : chunk;
  pending = null;
  let o = 0;
  while (b.length - o >= 5) {
    const len = b.readUInt32BE(o + 1);
    if (b.length - o < 5 + len) break;
    // field 1 (flow) is tag 0x0a; lost events are field 3
    if (b[o + 5] === 0x0a) flows++;
    else events++;
    o += 5 + len;
  }
  if (o < b.length) pending = Buffer.from(b.subarray(o));
});
req.on("error", (e) => fail(String(e)));
req.on("end", () => {
  console.log(JSON.stringify({ flows, events, firstMs: first, totalMs: performance.now() - started }));
  session.close();
});

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}
