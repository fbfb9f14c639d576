/**
 * Hostile content (markup, SQL, formulas, a 2,000-character label, emoji and RTL text, a NUL byte)
 * is stored verbatim, returned exactly (JSON-escaped by the encoder), quoted in CSV, and never
 * reaches SQL as code — neither from stored flows nor from filter parameters.
 */
import { describe, expect, it } from "vitest";
import { GET as flowsGET } from "@/app/api/flows/route";
import { CSV_COLUMNS } from "@/server/domain/flows/flow-csv";
import type { FlowPage } from "@/server/domain/flows/flow-item";
import { EMOJI_RTL, HOSTILE_WINDOW, LONG, MESSY_SUMMARY, NUL, SQLI, XSS, hostileFlows } from "../fixtures/api-dataset";
import { call, parseCsv, qs, type ApiEnv } from "../fixtures/api-harness";
import { keyOf, toItem } from "../fixtures/flow-builder";
import { storedCount } from "../fixtures/test-pipeline";

export const HOSTILE = hostileFlows();

async function hostilePage(params: Record<string, string> = {}): Promise<{ res: Response; text: string; page: FlowPage }> {
  const res = await call(flowsGET, `/api/flows?${qs({ ...HOSTILE_WINDOW, ...params })}`);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return { res, text, page: JSON.parse(text) as FlowPage };
}

const byKey = <T extends { key: string }>(items: T[]) => [...items].sort((a, b) => a.key.localeCompare(b.key));
const names = (page: FlowPage) =>
  page.flows.map((f) => Object.entries(HOSTILE).find(([, flow]) => keyOf(flow) === f.key)?.[0] ?? `?${f.key}`).sort();

export function hostileTests(env: ApiEnv): void {
  describe("hostile content", () => {
    it("is returned exactly by the JSON API", async () => {
      const { res, text, page } = await hostilePage();
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(byKey(page.flows)).toEqual(byKey(Object.values(HOSTILE).map(toItem)));
      const labels = page.flows.find((f) => f.key === keyOf(HOSTILE.labels))!.flow.source as { labels: string[]; pod_name: string };
      expect(labels.pod_name).toBe(XSS);
      expect(labels.labels).toContain(`k8s:long=${LONG}`);
      expect(labels.labels).toContain(`k8s:i18n=${EMOJI_RTL}`);
      expect(labels.labels).toContain(`k8s:nul=${NUL}`);
      // the encoder escaped what JSON must escape: NUL, quotes, newlines
      expect(text).not.toContain("\u0000");
      expect(text).toContain("a\\u0000b");
      expect(text).toContain(JSON.stringify(MESSY_SUMMARY));
    });

    it("never reaches SQL as code, stored or as a filter", async () => {
      for (const [param, value, expected] of [
        ["http-path", SQLI, []],
        ["http-path", "<script>alert\\(1\\)</script>", ["http"]],
        ["label", "sql", ["dns", "http", "labels"]],
        ["pod", "hostile/", ["dns", "formula", "http", "labels"]],
      ] as const) {
        expect(names((await hostilePage({ [param]: value })).page), `${param}=${value}`).toEqual(expected);
      }
      const tables = await env.rt.db.query<{ t: string | null }>(
        `SELECT to_regclass(t)::text AS t FROM unnest(ARRAY['flows', 'flow_contexts', 'endpoints', 'summaries']) AS t`,
      );
      expect(tables.map((r) => r.t)).toEqual(["flows", "flow_contexts", "endpoints", "summaries"]);
      expect(await storedCount(env.rt.db)).toBe(env.rt.ingest.stored);
    });

    it("is quoted in CSV, with formula-looking cells prefixed by '", async () => {
      const res = await call(flowsGET, `/api/flows?${qs({ ...HOSTILE_WINDOW, format: "csv" })}`);
      const text = await res.text();
      const rows = parseCsv(text);
      expect(rows).toHaveLength(Object.keys(HOSTILE).length + 1);
      const col = (row: string[], name: (typeof CSV_COLUMNS)[number]) => row[CSV_COLUMNS.indexOf(name)];
      const row = (name: keyof typeof HOSTILE) => rows.find((r) => col(r, "uuid") === keyOf(HOSTILE[name]))!;

      const labels = row("labels");
      expect(col(labels, "source_pod")).toBe(XSS);
      expect(col(labels, "destination_pod")).toBe(SQLI);
      expect(col(labels, "source_labels")).toBe(HOSTILE.labels.source!.labels.join(" "));
      expect(col(labels, "summary")).toBe(MESSY_SUMMARY);
      expect(text).toContain(`"${MESSY_SUMMARY.replaceAll('"', '""')}"`);
      expect(col(row("http"), "http_url")).toBe(`http://evil.example/${XSS}?q=${SQLI}`);
      expect(col(row("dns"), "dns_query")).toBe(`${XSS}.${EMOJI_RTL}.example.`);

      const formula = row("formula");
      expect(col(formula, "source_pod")).toBe("'=cmd|' /C calc'!A0");
      expect(col(formula, "destination_pod")).toBe("'+SUM(A1:A9)");
      expect(col(formula, "summary")).toBe("'@SUM(1+1)");
      // no cell of any row starts like a formula
      for (const r of rows) for (const c of r) expect(c).not.toMatch(/^[=+\-@\t\r]/);
    });
  });
}
