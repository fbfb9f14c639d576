/**
 * The coalesced gRPC writes of grpc-frames.ts, against a real grpc-js client: with the installed
 * grpc-js the fast path is taken (this test fails if an upgrade takes it away), every message
 * arrives whole and in order whatever its size (empty, tiny, larger than a chunk), a live queue and
 * history mix without reordering, interceptors turn the fast path off (and the stream stays right),
 * and a client that cancels mid-stream stops the writer.
 */
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { GetFlowsRequestSchema } from "@/proto/gen/observer/observer_pb";
import { rawStreamOf } from "@/server/hubble/grpc-frames";
import { Outbox, StreamClosedError } from "@/server/hubble/grpc-outbox";
import { rawGetFlows } from "@/server/hubble/observer-service";

type Handler = (call: grpc.ServerWritableStream<unknown, Buffer>) => Promise<void>;

let server: grpc.Server | null = null;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
  server = null;
});

async function serve(handler: Handler, options: grpc.ServerOptions = {}): Promise<string> {
  server = new grpc.Server(options);
  server.addService({ getFlows: rawGetFlows } as unknown as grpc.ServiceDefinition, { getFlows: handler } as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server!.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return `127.0.0.1:${port}`;
}

function read(address: string, cancelAfter?: number): Promise<{ messages: Buffer[]; status: grpc.StatusObject | null; error: grpc.ServiceError | null }> {
  const Client = grpc.makeGenericClientConstructor({ getFlows: rawGetFlows }, "Observer");
  const client = new Client(address, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": -1 }) as unknown as {
    getFlows(r: unknown): grpc.ClientReadableStream<Buffer>;
    close(): void;
  };
  return new Promise((resolve) => {
    const messages: Buffer[] = [];
    let status: grpc.StatusObject | null = null;
    const s = client.getFlows(create(GetFlowsRequestSchema, {}));
    s.on("data", (b: Buffer) => {
      messages.push(b);
      if (cancelAfter !== undefined && messages.length === cancelAfter) s.cancel();
    });
    s.on("status", (st) => (status = st));
    s.on("error", (error: grpc.ServiceError) => {
      client.close();
      resolve({ messages, status, error });
    });
    s.on("end", () => {
      client.close();
      resolve({ messages, status, error: null });
    });
  });
}

/** message i: i's bytes repeated to the given size, so a message cut or swapped shows */
const message = (i: number, size: number) => Buffer.alloc(size, i % 251);

async function sendAll(call: grpc.ServerWritableStream<unknown, Buffer>, sizes: number[], expectCoalesced: boolean): Promise<void> {
  const abort = new AbortController();
  call.on("cancelled", () => abort.abort());
  const out = new Outbox(call, abort.signal, 1 << 20);
  expect(out.coalesced).toBe(expectCoalesced);
  for (let i = 0; i < sizes.length; i++) {
    const wait = out.send(message(i, sizes[i]));
    if (wait) await wait;
  }
  await out.flush();
  call.end();
}

describe("coalesced gRPC frames", () => {
  it("the installed grpc-js gives the fast path", async () => {
    let found: boolean | null = null;
    const address = await serve(async (call) => {
      found = rawStreamOf(call) !== null;
      call.end();
    });
    await read(address);
    expect(found).toBe(true);
  });

  it("every message arrives whole and in order, whatever the sizes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.constantFrom(0, 1, 65_531, 65_536, 200_000), fc.nat(3000)), { minLength: 1, maxLength: 400 }), async (sizes) => {
        const address = await serve((call) => sendAll(call, sizes, true));
        const { messages, error } = await read(address);
        expect(error).toBeNull();
        expect(messages.map((m) => m.length)).toEqual(sizes);
        messages.forEach((m, i) => expect(m.equals(message(i, sizes[i]))).toBe(true));
        await new Promise<void>((resolve) => server!.tryShutdown(() => resolve()));
        server = null;
      }),
      { numRuns: 25 },
    );
  });

  it("a large stream keeps its order across many chunks and drains", async () => {
    const sizes = Array.from({ length: 30_000 }, (_, i) => 200 + ((i * 7919) % 900));
    const address = await serve((call) => sendAll(call, sizes, true));
    const { messages, error } = await read(address);
    expect(error).toBeNull();
    expect(messages.length).toBe(sizes.length);
    expect(messages.every((m, i) => m.length === sizes[i] && m[0] === i % 251)).toBe(true);
  });

  it("history then queued live messages go out in order", async () => {
    const address = await serve(async (call) => {
      const abort = new AbortController();
      const out = new Outbox(call, abort.signal, 1 << 20);
      for (let i = 0; i < 100; i++) out.send(message(i, 50));
      await out.flush();
      for (let i = 100; i < 300; i++) out.enqueue(message(i, 50), BigInt(i));
      while (out.pending > 0) await new Promise((r) => setTimeout(r, 5));
      call.end();
    });
    const { messages } = await read(address);
    expect(messages.map((m) => m[0])).toEqual(Array.from({ length: 300 }, (_, i) => i % 251));
  });

  it("with interceptors every message goes through grpc-js (fast path off), still whole and in order", async () => {
    let seen = 0;
    const counting: grpc.ServerInterceptor = (_method, call) =>
      new grpc.ServerInterceptingCall(call, {
        sendMessage: (msg, next) => {
          seen++;
          next(msg);
        },
      });
    const sizes = [0, 10, 70_000, 5];
    const address = await serve((call) => sendAll(call, sizes, false), { interceptors: [counting] });
    const { messages, error } = await read(address);
    expect(error).toBeNull();
    expect(messages.map((m) => m.length)).toEqual(sizes);
    expect(seen).toBe(sizes.length); // the interceptor saw each one
  });

  it("a client that cancels mid-stream stops the writer", async () => {
    let ended: unknown = null;
    const address = await serve(async (call) => {
      const abort = new AbortController();
      call.on("cancelled", () => abort.abort());
      const out = new Outbox(call, abort.signal, 1 << 20);
      try {
        for (let i = 0; i < 10_000_000; i++) {
          const wait = out.send(message(i, 1000));
          if (wait) await wait;
        }
        ended = "all sent";
      } catch (e) {
        ended = e;
      }
    });
    const { messages, error } = await read(address, 2000);
    expect(messages.length).toBeGreaterThanOrEqual(2000);
    expect(error?.code).toBe(grpc.status.CANCELLED);
    const deadline = Date.now() + 5000;
    while (ended === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(ended).toBeInstanceOf(StreamClosedError);
  });
});
