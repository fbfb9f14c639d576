import { describe, expect, it } from "vitest";
import { CSV_COLUMNS, csvLine, csvRow } from "@/server/domain/flows/flow-csv";
import { buildFlow, drop, endpoint, toItem } from "../fixtures/flow-builder";

describe("CSV export", () => {
  it("has one cell per column and the policies of a drop", () => {
    const item = toItem(drop({ reason: 133, deniedBy: ["shop/default-deny"] }));
    const row = csvRow(item);
    expect(row).toHaveLength(CSV_COLUMNS.length);
    const cell = (name: (typeof CSV_COLUMNS)[number]) => row[CSV_COLUMNS.indexOf(name)];
    expect(cell("verdict")).toBe("DROPPED");
    expect(cell("drop_reason")).toBe("POLICY_DENIED");
    expect(cell("denied_by")).toMatch(/shop\/default-deny/);
  });

  it("quotes separators and neutralises spreadsheet formulas", () => {
    expect(csvLine(['a,b', 'say "hi"', "line\nbreak", "=HYPERLINK(1)", "plain"])).toBe(
      '"a,b","say ""hi""","line\nbreak",\'=HYPERLINK(1),plain\r\n',
    );
  });

  it("keeps hostile labels as text", () => {
    const f = buildFlow({ source: endpoint({ ns: "shop", app: "<script>alert(1)</script>" }) });
    const line = csvLine(csvRow(toItem(f)));
    expect(line).toContain("<script>alert(1)</script>");
  });
});
