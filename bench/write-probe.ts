import { toBinary } from "@bufbuild/protobuf";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { openDatabase } from "@/server/db/connection";
import { applyMigrations } from "@/server/db/migrate";
import { FlowWriter } from "@/server/db/flow-writer";
import { splitResponse, type FlowRow } from "@/server/flow-codec/split-flow";
import { benchFlows } from "./bench-flows";
const N = 50_000;
const rows: FlowRow[] = [];
for (const r of benchFlows(N, BigInt(Date.now()) * 1_000_000n)) { const s = splitResponse(Buffer.from(toBinary(GetFlowsResponseSchema, r))); if (s.kind === "flow") rows.push(s.row); }
const db = await openDatabase({ url: `postgresql://postgres@127.0.0.1:5432/test?schema=probe_${Date.now()}` });
await applyMigrations(db);
const w = new FlowWriter(db);
const origCopy = db.copyIn.bind(db); let copyMs = 0;
db.copyIn = async (...a) => { const t = performance.now(); await origCopy(...a); copyMs += performance.now() - t; };
const origQ = db.query.bind(db); let qMs = 0; let qn = 0;
db.query = (async (...a: Parameters<typeof origQ>) => { const t = performance.now(); const r = await origQ(...a); qMs += performance.now() - t; qn++; return r; }) as typeof db.query;
for (let round = 0; round < 2; round++) {
  copyMs = 0; qMs = 0; qn = 0;
  const t0 = performance.now();
  for (let i = 0; i < rows.length; i += 5000) await w.write(rows.slice(i, i + 5000));
  const total = performance.now() - t0;
  console.log({ round, total: Math.round(total), copyMs: Math.round(copyMs), qMs: Math.round(qMs), qn, perSec: Math.round(N / (total / 1000)) });
}
await db.close(); process.exit(0);
