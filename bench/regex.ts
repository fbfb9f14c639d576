/**
 * npm run bench:regex — prints figures, asserts nothing (ADR 0007).
 *
 * What matching patterns in linear time (re2js) costs against JavaScript's backtracking RegExp:
 *  1. per pattern kind, the work the flow matcher does for that field — every text a flow offers
 *     (its URL path, its DNS names, its endpoints' labels, its node) tested until one matches —
 *     over the recorded real flows (samples/hubble-otel), as flows/s for RegExp and for re2js and
 *     their ratio (best of BENCH_REGEX_RUNS interleaved runs, same process, same texts);
 *  2. the whole matcher (compileMatcher, re2js) in flows/s for the same filters;
 *  3. compile time per pattern (re2js compiles far slower than RegExp; compiled patterns are cached);
 *  4. a hostile pattern over growing paths: the time RegExp takes against re2js.
 */
import { compileMatcher, fqdnPatternRegex, httpUrlPath, nodeNamePatternRegex } from "@/server/domain/flow-match";
import type { FlowItem } from "@/server/domain/flow-item";
import { parseFlowQuery } from "@/server/domain/flow-query";
import { labelRequirementPattern } from "@/server/domain/label-selector";
import { compileLinearRegex } from "@/server/domain/linear-regex";
import { readRecordedLines } from "@/server/demo/recorded-flows";

const RUNS = Number(process.env.BENCH_REGEX_RUNS ?? 5);
const MIN_MS = 300;

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const items: FlowItem[] = readRecordedLines().map(({ file, index, text }) => ({ key: `${file}:${index}`, ...JSON.parse(text) }) as FlowItem);
const flow = (i: FlowItem) => i.flow as J;
const labelsOf = (i: FlowItem): string[] => [...(flow(i).source?.labels ?? []), ...(flow(i).destination?.labels ?? [])];
const namesOf = (i: FlowItem): string[] => [...(flow(i).source_names ?? []), ...(flow(i).destination_names ?? [])];
const pathOf = (i: FlowItem): string[] => (flow(i).l7?.http ? [httpUrlPath(flow(i).l7.http.url)] : []);
const nodeOf = (i: FlowItem): string[] => [flow(i).node_name || i.node_name || ""].filter(Boolean);

interface Case {
  name: string;
  query: string;
  /** the regex the matcher compiles for it, its flags, and the texts each flow offers it */
  source: string;
  dotAll: boolean;
  texts: (i: FlowItem) => string[];
}

function spec(query: string) {
  const r = parseFlowQuery(new URLSearchParams(query));
  if (!r.ok) throw new Error(r.error);
  return r.query.filter;
}

const CASES: Case[] = [
  ...["^/api/v[12]/(?:users|orders)/[0-9]+$", "\\.(js|css)$", "/metrics", "^/details/[0-9]+", "reviews|ratings"].map((p) => ({
    name: `http-path ${p}`,
    query: `http-path=${encodeURIComponent(p)}`,
    source: spec(`http-path=${encodeURIComponent(p)}`).httpPath![0],
    dotAll: true,
    texts: pathOf,
  })),
  ...["*.github.com", "api.example.com,*.svc.cluster.local"].map((p) => ({
    name: `fqdn ${p}`,
    query: `fqdn=${p}`,
    source: fqdnPatternRegex(spec(`fqdn=${p}`).fqdn!),
    dotAll: false,
    texts: namesOf,
  })),
  ...["app=reviews", "app in (reviews,ratings)", "k8s:io.kubernetes.pod.namespace=bookinfo"].map((p) => ({
    name: `label ${p}`,
    query: `label=${encodeURIComponent(p)}`,
    source: labelRequirementPattern(spec(`label=${encodeURIComponent(p)}`).label![0][0]),
    dotAll: true,
    texts: labelsOf,
  })),
  {
    name: "node-name kind-*",
    query: "node-name=kind-*",
    source: nodeNamePatternRegex(["kind-*"]),
    dotAll: false,
    texts: nodeOf,
  },
];

/** flows/s of `perFlow` over all items, repeated until MIN_MS passed */
function rate(perFlow: (i: FlowItem) => boolean): number {
  let n = 0;
  let hits = 0;
  const t0 = performance.now();
  do {
    for (const i of items) if (perFlow(i)) hits++;
    n += items.length;
  } while (performance.now() - t0 < MIN_MS);
  if (hits < 0) console.log(hits); // keeps the loop from being optimised away
  return n / ((performance.now() - t0) / 1000);
}

const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(0)}k`);

console.log(`bench:regex — ${items.length} recorded flows, best of ${RUNS} interleaved runs, ≥ ${MIN_MS} ms each\n`);
console.log("1. per field: every text of a flow tested until one matches (flows/s)");
console.log(`${"pattern".padEnd(48)} ${"texts/flow".padStart(10)} ${"RegExp".padStart(9)} ${"re2js".padStart(9)} ${"ratio".padStart(7)}  ${"matcher".padStart(9)}`);
for (const c of CASES) {
  const js = new RegExp(c.source, c.dotAll ? "s" : "");
  const re2 = compileLinearRegex(c.source, { dotAll: c.dotAll });
  const texts = items.map(c.texts);
  const byIndex = new Map(items.map((i, k) => [i, texts[k]]));
  const run = (test: (s: string) => boolean) => (i: FlowItem) => byIndex.get(i)!.some(test);
  const matcher = compileMatcher(spec(c.query));
  let bestJs = 0;
  let bestRe2 = 0;
  let bestMatcher = 0;
  for (let r = 0; r < RUNS; r++) {
    bestJs = Math.max(bestJs, rate(run((s) => js.test(s))));
    bestRe2 = Math.max(bestRe2, rate(run((s) => re2.test(s))));
    bestMatcher = Math.max(bestMatcher, rate(matcher));
  }
  const perFlow = texts.reduce((a, t) => a + t.length, 0) / items.length;
  console.log(
    `${c.name.slice(0, 48).padEnd(48)} ${perFlow.toFixed(1).padStart(10)} ${fmt(bestJs).padStart(9)} ${fmt(bestRe2).padStart(9)} ${`${(bestJs / bestRe2).toFixed(1)}×`.padStart(7)}  ${fmt(bestMatcher).padStart(9)}`,
  );
}

console.log("\n2. compile time per pattern (first compile; the cache serves repeats)");
for (const [name, source] of [
  ["typical http-path", "^/api/v[12]/(?:users|orders)/[0-9]+$"],
  ["uuid", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"],
  ["fqdn *.github.com", fqdnPatternRegex(["*.github.com"])],
  ["1000-instruction budget, 250 wildcards", fqdnPatternRegex(["*a".repeat(250)])],
] as const) {
  const t0 = performance.now();
  const re = new RegExp(source + "(?:)");
  const jsMs = performance.now() - t0;
  const t1 = performance.now();
  const re2 = compileLinearRegex(source + "(?:)");
  const re2Ms = performance.now() - t1;
  if (!re || !re2) continue;
  console.log(`${name.padEnd(40)} RegExp ${jsMs.toFixed(3)} ms   re2js ${re2Ms.toFixed(2)} ms (${re2.programSize} instructions)`);
}

console.log("\n3. hostile: .*.*.*.*.*.*.*.*x over a path of n 'a's (RegExp stops being tried past 5 s)");
const hostile = ".*.*.*.*.*.*.*.*x";
const re2Hostile = compileLinearRegex(hostile, { dotAll: true });
const jsHostile = new RegExp(hostile, "s");
let jsGaveUp = false;
for (const n of [25, 50, 100, 200, 10_000]) {
  const text = "/" + "a".repeat(n);
  const t1 = performance.now();
  re2Hostile.test(text);
  const re2Ms = performance.now() - t1;
  let jsText = "not tried";
  if (!jsGaveUp) {
    const t0 = performance.now();
    jsHostile.test(text);
    const jsMs = performance.now() - t0;
    jsText = `${jsMs.toFixed(1)} ms`;
    if (jsMs > 5000) jsGaveUp = true;
  }
  console.log(`n=${String(n).padEnd(6)} RegExp ${jsText.padStart(12)}   re2js ${re2Ms.toFixed(2)} ms`);
}
