/**
 * npm run bench:auth — prints figures, asserts nothing.
 * What the access check costs on GET /api/flows (the route handler, as Next.js calls it): the
 * production runtime on a fresh PostgreSQL schema with BENCH_AUTH_FLOWS flows (default 200,000, 12
 * namespaces) ingested from a real gRPC relay, then, interleaved in blocks so the machine's noise
 * hits every case alike:
 *
 *   local          no sign-in configured (the default): no check at all
 *   token *        FLOWLENS_AUTH=on, an admin token for every namespace: token lookup (sha256 + one
 *                  indexed query), no scope
 *   local ns=      no sign-in, ?namespace=team-3: the answer the scoped token gets
 *   token team-3   FLOWLENS_AUTH=on, a token scoped to team-3: lookup + the scope in the matcher
 *
 * Ratios: token * / local (the check), token team-3 / local ns= (the scope, same answer).
 * Env: BENCH_AUTH_FLOWS, BENCH_AUTH_ROUNDS (default 40), BENCH_AUTH_LIMIT (default 100), DATABASE_URL.
 */
import { GET as flowsGET } from "@/app/api/flows/route";
import { authRepoFor } from "@/server/db/auth-repo";
import { authorize, scoped } from "@/server/http/access";
import { compileMatcher } from "@/server/domain/flows/flow-match";
import { startRelayServer } from "@/server/demo/relay/relay-server";
import { getRuntime } from "@/server/runtime";
import { benchFlows } from "./bench-flows";
import { dropSchema } from "@/tests/fixtures/test-db";

const FLOWS = Number(process.env.BENCH_AUTH_FLOWS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_AUTH_ROUNDS ?? 40);
const LIMIT = Number(process.env.BENCH_AUTH_LIMIT ?? 100);
const BLOCK = 5;
const BASE = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const schema = `bench_auth_${Date.now().toString(36)}`;

interface Case {
  name: string;
  auth: "off" | "on";
  token?: string;
  query: string;
  ms: number[];
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
};
const p90 = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length * 0.9)];

async function main(): Promise<void> {
  const relay = await startRelayServer({ ringSize: FLOWS + 10 });
  const start = BigInt(Date.now() - 3_600_000) * 1_000_000n;
  let published = 0;
  for (const r of benchFlows(FLOWS, start, 10_000_000n)) {
    relay.publish(r);
    published++;
  }
  Object.assign(process.env, {
    DATABASE_URL: `${BASE}${BASE.includes("?") ? "&" : "?"}schema=${schema}`,
    HUBBLE_SERVER: relay.address,
    FLOWLENS_RETENTION: "off",
    LOG_LEVEL: "silent",
  });
  delete process.env.FLOWLENS_AUTH;
  delete process.env.FLOWLENS_OIDC_ISSUER;
  const t0 = Date.now();
  const rt = await getRuntime();
  while (rt.ingest.received < published) await new Promise((r) => setTimeout(r, 200));
  await rt.ingest.flush();
  console.log(`ingested ${published.toLocaleString("en-US")} flows in ${((Date.now() - t0) / 1000).toFixed(1)} s (schema ${schema})`);

  const repo = authRepoFor(rt.db);
  const all = (await repo.createToken({ name: "bench-all", role: "viewer", namespaces: ["*"], createdBy: "bench" })).token;
  const team3 = (await repo.createToken({ name: "bench-team-3", role: "viewer", namespaces: ["team-3"], createdBy: "bench" })).token;
  const cases: Case[] = [
    { name: "local", auth: "off", query: `limit=${LIMIT}`, ms: [] },
    { name: "token *", auth: "on", token: all, query: `limit=${LIMIT}`, ms: [] },
    { name: "local ns=team-3", auth: "off", query: `namespace=team-3&limit=${LIMIT}`, ms: [] },
    { name: "token team-3", auth: "on", token: team3, query: `limit=${LIMIT}`, ms: [] },
  ];
  const run = async (c: Case): Promise<{ ms: number; keys: string[] }> => {
    if (c.auth === "on") process.env.FLOWLENS_AUTH = "on";
    else delete process.env.FLOWLENS_AUTH;
    const req = new Request(`http://bench.local/api/flows?${c.query}`, c.token ? { headers: { authorization: `Bearer ${c.token}` } } : {});
    const t = performance.now();
    const res = await flowsGET(req);
    const body = (await res.json()) as { flows: { key: string }[] };
    const ms = performance.now() - t;
    if (res.status !== 200) throw new Error(`${c.name}: ${res.status} ${JSON.stringify(body)}`);
    return { ms, keys: body.flows.map((f) => f.key) };
  };

  // the scoped token's answer is the namespace filter's answer
  const [a, b] = [await run(cases[2]), await run(cases[3])];
  if (a.keys.join() !== b.keys.join()) throw new Error("the team-3 token and namespace=team-3 answer differently");
  for (const c of cases) for (let i = 0; i < BLOCK; i++) await run(c); // warm-up

  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? cases : [...cases].reverse();
    for (const c of order) {
      await run(c); // the first request after switching FLOWLENS_AUTH re-reads the settings: not counted
      for (let i = 0; i < BLOCK; i++) c.ms.push((await run(c)).ms);
    }
  }

  console.log(`\nGET /api/flows?limit=${LIMIT} over ${published.toLocaleString("en-US")} flows, ${ROUNDS} rounds × ${BLOCK} requests per case (ms)`);
  console.log("case               median     p90");
  for (const c of cases) console.log(`${c.name.padEnd(18)} ${median(c.ms).toFixed(2).padStart(6)}  ${p90(c.ms).toFixed(2).padStart(6)}`);
  const ratio = (x: Case, y: Case) => `${((median(x.ms) / median(y.ms) - 1) * 100).toFixed(1)} %`;
  console.log(`\naccess check (token *, no scope) vs no sign-in:        ${ratio(cases[1], cases[0])}`);
  console.log(`scoped token vs the same answer by namespace filter:   ${ratio(cases[3], cases[2])}`);

  // the check alone, free of the page's noise: authorize() with a (cached) token, and the scope's
  // cost in the matcher per context
  process.env.FLOWLENS_AUTH = "on";
  const N = 20_000;
  const reqs = Array.from({ length: N }, () => new Request("http://bench.local/api/flows", { headers: { authorization: `Bearer ${team3}` } }));
  let t = performance.now();
  for (const r of reqs) {
    const a = await authorize(r, "view");
    if (a instanceof Response) throw new Error(`authorize: ${a.status}`);
    scoped({}, a);
  }
  const perCall = ((performance.now() - t) * 1000) / N;
  const contexts = (await import("@/server/db/flows/context-catalog")).contextCatalogFor(rt.writer.dimensions).all();
  const plain = compileMatcher({ verdict: [1] });
  const withScope = compileMatcher({ verdict: [1], scope: ["team-3"] });
  const time = (m: (i: (typeof contexts)[number]["item"]) => boolean) => {
    const s = performance.now();
    for (let k = 0; k < 50; k++) for (const c of contexts) m(c.item);
    return ((performance.now() - s) * 1e6) / (50 * contexts.length);
  };
  time(plain);
  time(withScope);
  const [pn, sn] = [time(plain), time(withScope)];
  console.log(`\nauthorize() with a token, alone: ${perCall.toFixed(1)} µs per request = ${((perCall / 1000 / median(cases[0].ms)) * 100).toFixed(2)} % of the no-sign-in median`);
  console.log(`matcher per context over ${contexts.length.toLocaleString("en-US")} contexts: ${pn.toFixed(0)} ns, with the scope ${sn.toFixed(0)} ns`);

  await rt.shutdown();
  await relay.stop();
  await dropSchema(schema, BASE);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
