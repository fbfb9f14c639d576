/**
 * The client side of bench:grpc, in its own process (as `hubble observe` would be): one GetFlows
 * call, responses counted as raw bytes (no decode), prints {flows, events, firstMs, totalMs} as JSON.
 * argv: address, request as JSON (GetFlowsRequest init; since/until as ns strings).
 */
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { GetFlowsRequestSchema } from "@/proto/gen/observer/observer_pb";
import { rawGetFlows } from "@/server/hubble/observer-service";

const [address, reqJson] = process.argv.slice(2);
const init = JSON.parse(reqJson) as Record<string, unknown>;
if (typeof init.number === "string") init.number = BigInt(init.number);
const Client = grpc.makeGenericClientConstructor({ getFlows: rawGetFlows }, "Observer");
const client = new Client(address, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": 64 * 1024 * 1024 }) as unknown as {
  getFlows(r: unknown): grpc.ClientReadableStream<Buffer>;
  close(): void;
};
const started = performance.now();
let first = -1;
let flows = 0;
let events = 0;
const stream = client.getFlows(create(GetFlowsRequestSchema, init));
stream.on("data", (b: Buffer) => {
  if (first < 0) first = performance.now() - started;
  // field 1 (flow) is tag 0x0a; lost events are field 3
  if (b[0] === 0x0a) flows++;
  else events++;
});
stream.on("error", (e) => {
  console.error(String(e));
  process.exit(1);
});
stream.on("end", () => {
  console.log(JSON.stringify({ flows, events, firstMs: first, totalMs: performance.now() - started }));
  client.close();
});
