import { describe, expect, it } from "vitest";
import {
  cidrContains,
  compileCidrList,
  formatCidr,
  formatIp,
  parseCidr,
  parseIp,
  parseIpv4,
  parseIpv6,
} from "@/server/domain/shared/cidr";
import type { CidrMatch } from "@/server/domain/flows/flow-filter-spec";

const cidr = (text: string): CidrMatch => {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

describe("parseIpv4", () => {
  it.each([
    ["0.0.0.0", 0],
    ["10.0.2.16", 0x0a000210],
    ["255.255.255.255", 0xffffffff],
    ["192.168.1.1", 0xc0a80101],
  ])("reads %s", (text, value) => {
    expect(parseIpv4(text)).toBe(value);
  });

  const bad = ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.04", "1..2.3", "1.2.3.", ".1.2.3"];
  it.each([...bad, "a.b.c.d", "1.2.3.4 ", "1.2.3.1000", "::1"])(
    "rejects %j",
    (text) => {
      expect(parseIpv4(text)).toBeUndefined();
    },
  );
});

describe("parseIpv6 / formatIp", () => {
  it.each([
    ["::", "::"],
    ["::1", "::1"],
    ["2001:DB8::1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["fe80::1:0:0:1", "fe80::1:0:0:1"],
    // RFC 5952: the longest run is compressed, the first one on a tie, never a single group
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["::ffff:10.0.0.1", "::ffff:a00:1"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
  ])("reads %s as %s", (text, canonical) => {
    const ip = parseIp(text);
    expect(ip?.version).toBe(6);
    expect(formatIp(ip!)).toBe(canonical);
  });

  const bad = ["", ":", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "g::1"];
  it.each([...bad, "fe80::1%eth0", "::1.2.3", "1:2:3:4:5:6:7:8::", "::ffff:256.0.0.1"])(
    "rejects %j",
    (text) => {
      expect(parseIpv6(text)).toBeUndefined();
    },
  );

  it("formats IPv4 as a dotted quad", () => {
    expect(formatIp(parseIp("10.244.0.160")!)).toBe("10.244.0.160");
  });
});

describe("parseCidr", () => {
  it("treats a bare address as a single host", () => {
    expect(cidr("10.0.2.16")).toEqual({ address: "10.0.2.16", bits: 32, version: 4 });
    expect(cidr("2001:db8::1")).toEqual({ address: "2001:db8::1", bits: 128, version: 6 });
  });

  it("clears host bits, like PostgreSQL's cidr()", () => {
    expect(cidr("10.1.2.3/8")).toEqual({ address: "10.0.0.0", bits: 8, version: 4 });
    expect(cidr("10.244.255.1/17")).toEqual({ address: "10.244.128.0", bits: 17, version: 4 });
    expect(cidr("2001:db8:abcd:12::1/33")).toEqual({ address: "2001:db8:8000::", bits: 33, version: 6 });
    expect(cidr("1.2.3.4/0")).toEqual({ address: "0.0.0.0", bits: 0, version: 4 });
    expect(cidr("ffff::/0")).toEqual({ address: "::", bits: 0, version: 6 });
  });

  it.each([
    ["10.0.0.0/33", 'prefix length "33" must be a number from 0 to 32'],
    ["::/129", 'prefix length "129" must be a number from 0 to 128'],
    ["10.0.0.0/08", 'prefix length "08" must be a number from 0 to 32'],
    ["10.0.0.0/", 'prefix length "" must be a number from 0 to 32'],
    ["10.0.0.0/-1", 'prefix length "-1" must be a number from 0 to 32'],
    ["10.0.0/8", '"10.0.0" is not an IPv4 or IPv6 address'],
    ["example.com", '"example.com" is not an IPv4 or IPv6 address'],
  ])("rejects %s", (text, error) => {
    expect(parseCidr(text)).toEqual({ ok: false, error });
  });

  it("formats back to the shortest text", () => {
    for (const text of ["10.0.0.0/8", "10.0.2.16", "2001:db8::/32", "::1", "0.0.0.0/0"]) {
      expect(formatCidr(cidr(text))).toBe(text);
    }
  });
});

describe("containment", () => {
  it.each([
    ["10.0.0.0/8", "10.0.0.0", true],
    ["10.0.0.0/8", "10.255.255.255", true],
    ["10.0.0.0/8", "11.0.0.0", false],
    ["10.0.0.0/8", "9.255.255.255", false],
    ["10.244.128.0/17", "10.244.127.255", false],
    ["10.244.128.0/17", "10.244.128.0", true],
    ["0.0.0.0/0", "203.0.113.9", true],
    ["192.168.1.1", "192.168.1.1", true],
    ["192.168.1.1", "192.168.1.2", false],
    ["255.255.255.255/32", "255.255.255.255", true],
    ["128.0.0.0/1", "127.255.255.255", false],
    ["128.0.0.0/1", "200.1.1.1", true],
    ["2001:db8::/32", "2001:db8:ffff::1", true],
    ["2001:db8::/32", "2001:db9::1", false],
    ["2001:db8::/127", "2001:db8::1", true],
    ["2001:db8::/127", "2001:db8::2", false],
    ["2001:db8:0:0:8000::/65", "2001:db8::7fff:0:0:0", false],
    ["2001:db8:0:0:8000::/65", "2001:db8::8000:0:0:1", true],
    ["::/0", "fe80::1", true],
    // the other family never matches, in both directions (PostgreSQL: inet <<= cidr is false)
    ["::/0", "10.0.0.1", false],
    ["0.0.0.0/0", "::1", false],
    ["::ffff:10.0.0.0/104", "10.0.0.1", false],
    ["10.0.0.0/8", "not-an-ip", false],
    ["10.0.0.0/8", "", false],
  ])("%s contains %s: %s", (prefix, address, expected) => {
    expect(cidrContains(cidr(prefix), address)).toBe(expected);
  });

  it("tests a list of prefixes of both versions at once", () => {
    const test = compileCidrList([cidr("10.0.0.0/8"), cidr("192.168.0.0/16"), cidr("fd00::/8")]);
    expect(test("10.1.1.1")).toBe(true);
    expect(test("192.168.3.3")).toBe(true);
    expect(test("172.16.0.1")).toBe(false);
    expect(test("fd12::1")).toBe(true);
    expect(test("fe80::1")).toBe(false);
    expect(test(undefined)).toBe(false);
  });

  it("rejects a CidrMatch whose address does not parse", () => {
    expect(() => compileCidrList([{ address: "nope", bits: 8, version: 4 }])).toThrow(/invalid CidrMatch/);
  });
});
