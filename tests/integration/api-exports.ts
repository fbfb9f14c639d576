/**
 * Streamed exports of /api/flows: jsonl equals what the relay sent (recorded samples), csv has a
 * header and one RFC 4180 row per flow with formula-looking cells defused.
 */
import { describe, expect, it } from "vitest";
import { GET as flowsGET } from "@/app/api/flows/route";
import { CSV_COLUMNS } from "@/server/domain/flows/flow-csv";
import type { FlowPage } from "@/server/domain/flows/flow-item";
import { FILTER_FLOWS, FILTER_WINDOW } from "../fixtures/api-dataset";
import { call, parseCsv, qs } from "../fixtures/api-harness";
import { keyOf } from "../fixtures/flow-builder";
import { canonical, recordedDistinctLines } from "../fixtures/recorded-flows";

/** The recorded samples are from 2021; nothing else is stored before 2022. */
const RECORDED = { until: "2022-01-01T00:00:00Z" };

async function download(params: Record<string, string>): Promise<{ res: Response; text: string; chunks: number }> {
  const res = await call(flowsGET, `/api/flows?${qs(params)}`);
  expect(res.status).toBe(200);
  let text = "";
  let chunks = 0;
  const dec = new TextDecoder();
  const reader = res.body!.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    text += dec.decode(r.value, { stream: true });
    chunks++;
  }
  return { res, text: text + dec.decode(), chunks };
}

const rowsByUuid = (rows: string[][]) => {
  const col = (name: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(name);
  return new Map(rows.map((r) => [r[col("uuid")], (name: (typeof CSV_COLUMNS)[number]) => r[col(name)]]));
};

export function exportTests(): void {
  describe("exports", () => {
    it("format=jsonl streams every recorded flow exactly as the relay sent it", async () => {
      const { res, text } = await download({ ...RECORDED, format: "jsonl" });
      expect(res.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
      expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="[^"/]+\.jsonl"$/);
      expect(text.endsWith("\n")).toBe(true);
      const got = text.slice(0, -1).split("\n").map((l) => canonical(JSON.parse(l))).sort();
      const sent = recordedDistinctLines().map((l) => canonical(JSON.parse(l))).sort();
      expect(got.length).toBe(sent.length);
      expect(got).toEqual(sent);
    });

    it("format=jsonl with last=N streams the N newest, like the JSON API", async () => {
      const { text } = await download({ ...RECORDED, format: "jsonl", last: "10" });
      const lines = text.trimEnd().split("\n").map((l) => JSON.parse(l));
      const res = await call(flowsGET, `/api/flows?${qs({ ...RECORDED, limit: "10" })}`);
      const { flows } = (await res.json()) as FlowPage;
      expect(lines).toEqual(flows.map(({ flow, node_name, time }) => ({ flow, node_name, time })));
    });

    it("format=csv has the header row and one RFC 4180 row per recorded flow", async () => {
      const { res, text } = await download({ ...RECORDED, format: "csv" });
      expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
      expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="[^"/]+\.csv"$/);
      const rows = parseCsv(text);
      expect(rows[0]).toEqual([...CSV_COLUMNS]);
      expect(rows).toHaveLength(recordedDistinctLines().length + 1);
      for (const r of rows) expect(r).toHaveLength(CSV_COLUMNS.length);
    });

    it("format=csv rows carry the flow's fields", async () => {
      const rows = parseCsv((await download({ ...FILTER_WINDOW, format: "csv" })).text);
      expect(rows).toHaveLength(Object.keys(FILTER_FLOWS).length + 1);
      const byUuid = rowsByUuid(rows.slice(1));
      expect([...byUuid.keys()].sort()).toEqual(Object.values(FILTER_FLOWS).map(keyOf).sort());

      const denied = byUuid.get(keyOf(FILTER_FLOWS.denied))!;
      expect(denied("verdict")).toBe("DROPPED");
      expect(denied("drop_reason")).toBe("POLICY_DENIED");
      expect(denied("source_pod")).toBe("frontend-5d8c7-x1");
      expect(denied("destination_port")).toBe("9090");
      expect(denied("denied_by")).toBe("ingress:shop/deny-payments");
      expect(denied("node")).toBe("kind-worker2");
      const http = byUuid.get(keyOf(FILTER_FLOWS["http-503"]))!;
      expect([http("http_method"), http("http_code"), http("http_url")]).toEqual(["POST", "503", "http://api.shop:8080/v1/checkout"]);
      expect(byUuid.get(keyOf(FILTER_FLOWS.dns))!("dns_query")).toBe("api.github.com.");
    });

    it("format=csv streams every match (no default limit) and honours last", async () => {
      const all = parseCsv((await download({ format: "csv" })).text);
      expect(all.length - 1).toBeGreaterThan(recordedDistinctLines().length);
      const last = parseCsv((await download({ ...FILTER_WINDOW, format: "csv", last: "3" })).text);
      expect(last).toHaveLength(4);
    });
  });
}
