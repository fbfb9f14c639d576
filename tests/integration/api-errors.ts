/**
 * Bad input answers 400 with {error, parameter} naming the parameter — never 500 (nor 503): an
 * invalid value for every parameter of /api/flows, in every format, and for /api/live.
 */
import { describe, expect, it } from "vitest";
import { GET as flowsGET } from "@/app/api/flows/route";
import { GET as liveGET } from "@/app/api/live/route";
import { FLOW_QUERY_PARAMETERS } from "@/server/domain/flow-query";
import { call } from "../fixtures/api-harness";

const b64 = (s: string) => Buffer.from(s).toString("base64url");

/** [parameter the answer must name, raw query string, description when the query is unreadable] */
const BAD: [string, string, string?][] = [
  ["since", "since=yesterday"],
  ["since", "since=2026-11-23T18:00:00Z&until=2026-11-22T18:00:00Z"], // since after until
  ["until", "until=2026-02-30T00:00:00Z"],
  ["until", "until=15000000000m"],
  ["last", "last=0"],
  ["last", "last=-3"],
  ["verdict", "verdict=MAYBE"],
  ["verdict", "verdict=DROPPED,"],
  ["namespace", "namespace=Shop_1"],
  ["namespace", `namespace=${"a".repeat(2000)}`, "namespace of 2000 characters"],
  ["from-namespace", "from-namespace=%3Cscript%3E"],
  ["to-namespace", "to-namespace=a%20b"],
  ["pod", "pod=a/b/c"],
  ["from-pod", "from-pod=/frontend"],
  ["to-pod", "to-pod=Front*"],
  ["label", "label=app%20in%20("],
  ["from-label", "from-label=%3D%3D"],
  ["to-label", "to-label=app%20in%20web"],
  ["ip", "ip=10.0.0.300/8"],
  ["from-ip", "from-ip=10.0.0.0/33"],
  ["to-ip", "to-ip=fd00::/129"],
  ["port", "port=99999"],
  ["from-port", "from-port=-1"],
  ["to-port", "to-port=http"],
  ["protocol", "protocol=ftp"],
  ["type", "type=bogus"],
  ["type", "type=drop:not-a-subtype"],
  ["drop-reason-desc", "drop-reason-desc=NOT_A_REASON"],
  ["http-status", "http-status=600"],
  ["http-method", "http-method=GE%20T"],
  ["http-path", "http-path=("],
  ["http-path", "http-path=%5Bz-a%5D"],
  ["http-path", "http-path=(a%2B)%2B"],
  ["http-path", "http-path=(%3F%3Dlookahead)"],
  ["fqdn", "fqdn=bad%20name!"],
  ["from-fqdn", "from-fqdn=."],
  ["to-fqdn", "to-fqdn=a/b"],
  ["node-name", "node-name=a/b/c"],
  ["traffic-direction", "traffic-direction=sideways"],
  ["cluster", "cluster=-bad"],
  ["uuid", "uuid=not-a-uuid"],
  ["limit", "limit=0"],
  ["limit", "limit=5001"],
  ["limit", "limit=1&limit=2"],
  ["cursor", "cursor=garbage"],
  ["cursor", "cursor=not%20printable"],
  ["cursor", `cursor=${b64(`1:${"-".repeat(36)}`)}`, "forged cursor whose key is no UUID"],
  ["cursor", `cursor=${b64("99999999999999999999:00000000-0000-4000-8000-000000000001")}`, "forged cursor whose time overflows int64"],
  ["format", "format=xml"],
  ["foo", "foo=bar"],
  ["verdicts", "verdicts=DROPPED"],
];

async function expectBadRequest(res: Response, parameter: string): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBe(400);
  const body = JSON.parse(text) as { error: string; parameter: string };
  expect(body.parameter).toBe(parameter);
  expect(body.error).toContain(parameter);
}

export function errorTests(): void {
  describe("bad input → 400 naming the parameter", () => {
    const cases = BAD.map(([parameter, query, note]) => ({ parameter, query, label: note ?? query }));

    it.each(cases)("/api/flows $parameter: $label", async ({ parameter, query }) => {
      await expectBadRequest(await call(flowsGET, `/api/flows?${query}`), parameter);
    });

    // exports validate by reading their first page before answering 200
    const exportCases = cases.filter((c) => c.parameter === "cursor" || c.parameter === "http-path");
    it.each(exportCases)("/api/flows csv and jsonl $parameter: $label", async ({ parameter, query }) => {
      for (const format of ["csv", "jsonl"]) {
        await expectBadRequest(await call(flowsGET, `/api/flows?format=${format}&${query}`), parameter);
      }
    });

    it("has a bad value for every parameter", () => {
      const tested = new Set(BAD.map(([p]) => p));
      expect(FLOW_QUERY_PARAMETERS.filter((p) => !tested.has(p))).toEqual([]);
    });

    it.each([
      ["verdict", "verdict=MAYBE&namespace=shop"],
      ["http-path", "http-path=("],
      ["foo", "foo=1"],
    ])("/api/live %s: %s", async (parameter, query) => {
      await expectBadRequest(await call(liveGET, `/api/live?${query}`), parameter);
    });

    it("ignores the cache-busters _ and _rsc", async () => {
      const res = await call(flowsGET, "/api/flows?_=123&_rsc=abc&limit=1");
      expect(res.status).toBe(200);
    });
  });
}
