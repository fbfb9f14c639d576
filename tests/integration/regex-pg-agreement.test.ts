/**
 * The in-memory matcher (RE2 via compileLinearRegex, ADR 0007) and PostgreSQL read every pattern
 * the API builds or accepts alike: label requirements, FQDN and node-name patterns, the URL path
 * extraction, and http-path regexes end to end (compileMatcher over a flow vs flow-sql's SQL),
 * for hand-picked regexes and fast-check generated ones.
 */
import fc from "fast-check";
import { it, expect } from "vitest";
import { PGlite } from "@electric-sql/pglite";
import { HTTP_PATH_SQL } from "@/server/db/flow-sql";
import { labelRequirementPattern } from "@/server/domain/label-selector";
import { compileLinearRegex } from "@/server/domain/linear-regex";
import { compileMatcher, fqdnPatternRegex, nodeNamePatternRegex, httpUrlPath, HTTP_URL_PATH_PATTERN } from "@/server/domain/flow-match";
import { parseCidr, compileCidrList } from "@/server/domain/cidr";
import { parseLabelSelector } from "@/server/domain/label-selector";
import { toPortableRegex } from "@/server/domain/flow-query";
import type { LabelRequirement } from "@/server/domain/flow-filter-spec";

it("agrees with postgres", async () => {
  const db = new PGlite();
  const mismatches: unknown[] = [];
  const rejected: unknown[] = [];
  async function cmp(kind: string, pattern: string, subject: string, js: boolean, op = "~") {
    const r = await db.query<{ m: boolean }>(`select $1::text ${op} $2::text as m`, [subject, pattern]);
    if (r.rows[0].m !== js) mismatches.push({ kind, pattern, subject, js, pg: r.rows[0].m });
  }
  const labels = ["k8s:app=web","k8s:app=","k8s:app","app=web","app","reserved:world","container:app=web","k8s:app.kubernetes.io/name=web","k8s:x=app=web","app=a:b","a:b:c=d","cidr:2001:db8::/32","k8s:app=web.prod","k8s:app=we","k8s:a.b=c+d","k8s:a-b=x_y","k8s:ÄPP=ü","k8s:app=we\nb"];
  const sels = ["app","k8s:app","world","reserved:world","b:c","c","c=d","app=web","app=","app in (,web)".replace("(,", "(x,"),"k8s:app in (web,web.prod)","x=app","app=a:b","app.kubernetes.io/name=web","a.b=c+d","a-b=x_y","k8s:ÄPP=ü","cidr:2001:db8::/32","app!=web","!app"];
  const reqs: LabelRequirement[] = sels.flatMap(s => { const r = parseLabelSelector(s); if (!r.ok) throw new Error(s + r.error); return r.value; });
  reqs.push({ op: "in", key: "app", values: ["", "web"] });
  for (const req of reqs) { const p = labelRequirementPattern(req); const re = compileLinearRegex(p, { dotAll: true }); for (const l of labels) await cmp("label", p, l, re.test(l)); }
  const fq = [["*.github.com"],["api.github.com"],["*"],["a*b.c"],["_srv.x"],["x-y.*"]];
  const names = ["api.github.com","API.GitHub.COM.","github.com","a.b.github.com","axb.c","ab.c","a.b.c","_srv.x","_SRV.X.","x-y.z","x-y.","weird$name.github.com","", "a/b.github.com","\u212aind.x","\u017frv.x","ſ.github.com"];
  // ASCII case-insensitive by classes, no flag: PostgreSQL `~` (its `~*` would fold the Kelvin sign K to k)
  for (const p of fq) { const src = fqdnPatternRegex(p); const re = compileLinearRegex(src); for (const n of names) await cmp("fqdn", src, n, re.test(n)); }
  const np = [["kind-*"],["c1/n"],["default/n"],["/"],["c*/"],["KIND-worker"],["*.example.com/*"]];
  const nodes = ["kind-worker","KIND-WORKER","c1/n","n","default/n","c2/kind-worker","a/b/c","x.example.com/node1","node_1","\u212aind-worker","C1/N"];
  for (const p of np) { const src = nodeNamePatternRegex(p); const re = compileLinearRegex(src); for (const n of nodes) await cmp("node", src, n, re.test(n)); }
  const urls = ["http://10.128.0.4:9990/metrics","https://user@host/a/b?c=d#e","/a?b","http://host","","HTTP://H/x#y?z","/a\nb?c","grpc://svc/pkg.Svc/Method","a:b/c"];
  for (const u of urls) { const r = await db.query<{ p: string | null }>("select substring($1::text from $2::text) as p", [u, HTTP_URL_PATH_PATTERN]); if ((r.rows[0].p ?? "") !== httpUrlPath(u)) mismatches.push({ kind: "path", u, js: httpUrlPath(u), pg: r.rows[0].p }); }
  const regexes = ["^/api/v[12]/(?:users|orders)/\\d+$","\\.(js|css)$","(ab)+","(a+)?b","[a-z]+/[0-9]{1,3}","\\/x\\-y","a*?b","[\\d\\]]+","^$","\\w+\\s","[^/]+$","x{2}","a.c","[.]","^/metrics$","(?:a|b)c", "[a-]", "\\W", "a{,3}", "a{1", "}", "a{1000}", "é+", "^\\w+$", "[^a]", "a$", "^a", "\\s", "\\S+", "\\d", "[\\s]", "[^\\d]", "\\D", "^/.$", "^/.{2}$", "[^a]$", ".*.*.*.*.*.*.*.*x", "^/(?:é|😀)+$"];
  const paths = ["/😀", "/é😀", "/api/v1/users/12","/app.js","/abab","/b","/aab","abc/123","/x-y","ab","aaab","/9]","","/héllo w","/xx","a\nc","/.","/metrics","/ac","/bc","a-","a{,3}","a{1","}","é","éé","b\na","a\n","٣"," ","\u00a0","\t","\f","\v"];
  // http-path end to end: the matcher of /api/live over a flow vs flow-sql's condition over its url
  const httpPathCmp = async (rx: string, url: string) => {
    const live = compileMatcher({ httpPath: [rx] })({ key: "k", flow: { l7: { http: { url } } } });
    const r = await db.query<{ m: boolean }>(`select ${HTTP_PATH_SQL} ~ $2::text as m from (select $1::text as http_url) f`, [url, rx]);
    if (r.rows[0].m !== live) mismatches.push({ kind: "http-path", rx, url, live, pg: r.rows[0].m });
  };
  for (const rx0 of regexes) {
    const pr = toPortableRegex(rx0);
    if (!pr.ok) { rejected.push([rx0, pr.error]); continue; }
    for (const p of paths) {
      try { await httpPathCmp(pr.value, `http://h:1${p.startsWith("/") ? "" : "/"}${p}?q=${p}`); } catch (e) { mismatches.push({ kind: "pgerror", rx: pr.value, e: String(e) }); break; }
    }
  }
  // generated: every accepted regex compiles in PostgreSQL and matches the same paths
  const piece = fc.constantFrom("a", "b", "/", ".", "é", "😀", "\\d", "\\w", "\\s", "[^a]", "[a-c]", "\\.", "^", "$", "(", ")", "(?:", "|", "*", "+", "?", "{2}", "{1,3}", "{2,}", "*?", "{");
  const genPaths = fc.array(fc.constantFrom("a", "b", "/", ".", "é", "😀", "1", "_", " ", "\n", "ab"), { maxLength: 8 }).map((p) => p.join(""));
  let generated = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(piece, { minLength: 1, maxLength: 8 }), fc.array(genPaths, { minLength: 3, maxLength: 3 }), async (pieces, ps) => {
      const pr = toPortableRegex(pieces.join(""));
      if (!pr.ok) return;
      generated++;
      for (const p of ps) await httpPathCmp(pr.value, `/${p}`);
    }),
    { numRuns: 250, seed: 11 },
  );
  expect(generated).toBeGreaterThan(50);
  const prefixes = ["10.0.0.0/8","10.244.128.0/17","0.0.0.0/0","192.168.1.1","2001:db8::/32","::/0","2001:db8:0:0:8000::/65","::ffff:10.0.0.0/104","fe80::1"];
  const addrs = ["10.0.0.1","10.244.127.255","10.244.128.0","203.0.113.9","192.168.1.1","2001:db8:ffff::1","2001:db9::1","fe80::1","::ffff:10.0.0.1","2001:db8::8000:0:0:1","2001:db8::7fff:0:0:0"];
  for (const p of prefixes) { const c = (parseCidr(p) as any).value; const t = compileCidrList([c]); for (const a of addrs) { const r = await db.query<{ m: boolean }>("select $1::inet <<= $2::cidr as m", [a, `${c.address}/${c.bits}`]); if (r.rows[0].m !== t(a)) mismatches.push({ kind: "cidr", p, a, js: t(a), pg: r.rows[0].m }); } }
  console.log(JSON.stringify({ mismatches, rejected }, null, 1));
  expect(mismatches).toEqual([]);
}, 120_000);
