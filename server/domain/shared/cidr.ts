/**
 * IPv4/IPv6 addresses and CIDR prefixes without dependencies.
 *
 * Why our own: the live matcher tests every flow's two IPs against the filter's prefixes, thousands
 * of times a second, so addresses become plain numbers (IPv4: one uint32, IPv6: four uint32 words)
 * and containment is a few masked compares. The text rules follow Go's netip (what Cilium and Hubble
 * use) and PostgreSQL's inet: no leading zeros in IPv4 octets or prefix lengths, no zones, at most
 * one `::`. Host bits right of the prefix are cleared (`10.1.2.3/8` means `10.0.0.0/8`), so the
 * canonical text can be handed to PostgreSQL as `'10.0.0.0/8'::cidr`.
 */
import type { CidrMatch } from "../flows/flow-filter-spec";

/** A parsed address: IPv4 in words[0]; IPv6 as four big-endian 32-bit words. */
export interface IpAddress {
  version: 4 | 6;
  words: readonly number[];
}

export type CidrResult = { ok: true; value: CidrMatch } | { ok: false; error: string };

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Parses dotted-quad IPv4 into an unsigned 32-bit number, or undefined. */
export function parseIpv4(text: string): number | undefined {
  // Hand-rolled loop: this runs for every flow IP in the live matcher, so no split/regex here.
  let value = 0;
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return undefined; // leading zero ("010")
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return undefined;
    } else if (c === 46 /* . */) {
      if (digits === 0 || parts === 3) return undefined;
      value = value * 256 + octet;
      parts++;
      octet = 0;
      digits = 0;
    } else {
      return undefined;
    }
  }
  if (digits === 0 || parts !== 3) return undefined;
  return value * 256 + octet;
}

/** Parses IPv6 text (RFC 4291 forms, incl. a trailing dotted quad) into four 32-bit words. */
export function parseIpv6(text: string): number[] | undefined {
  if (text.length < 2 || text.length > 45 || text.includes("%")) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string, allowV4Tail: boolean): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (allowV4Tail && i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4(piece);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (HEX_GROUP.test(piece)) {
        out.push(parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  let groups: number[];
  if (halves.length === 1) {
    const all = parseGroups(halves[0], true);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  } else {
    const head = parseGroups(halves[0], false);
    const tail = parseGroups(halves[1], true);
    // "::" stands for at least one zero group.
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  return [0, 1, 2, 3].map((w) => ((groups[2 * w] << 16) | groups[2 * w + 1]) >>> 0);
}

export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { version: 4, words: [v4] };
  const v6 = parseIpv6(text);
  return v6 ? { version: 6, words: v6 } : undefined;
}

/** Canonical text: dotted quad, or RFC 5952 (lower case, longest run of 2+ zero groups as `::`). */
export function formatIp(ip: IpAddress): string {
  if (ip.version === 4) {
    const v = ip.words[0];
    return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
  }
  const groups = ip.words.flatMap((w) => [w >>> 16, w & 0xffff]);
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed (RFC 5952 §4.2.2)
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((n) => n.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** 32-bit mask word for `bits` prefix bits falling into word `index`. */
function maskWord(bits: number, index: number): number {
  const inWord = Math.min(32, Math.max(0, bits - 32 * index));
  return inWord === 0 ? 0 : (0xffffffff << (32 - inWord)) >>> 0;
}

/**
 * Parses `address` or `address/bits`. A bare address means the single host (/32, /128).
 * Host bits are cleared in the result.
 */
export function parseCidr(text: string): CidrResult {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const ip = parseIp(addressText);
  if (!ip) return { ok: false, error: `"${addressText}" is not an IPv4 or IPv6 address` };
  const max = ip.version === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const bitsText = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(bitsText) || Number(bitsText) > max) {
      return { ok: false, error: `prefix length "${bitsText}" must be a number from 0 to ${max}` };
    }
    bits = Number(bitsText);
  }
  const words = ip.words.map((w, i) => (w & maskWord(bits, i)) >>> 0);
  return { ok: true, value: { address: formatIp({ version: ip.version, words }), bits, version: ip.version } };
}

/** Text form: the bare address for a single host, `address/bits` otherwise. */
export function formatCidr(cidr: CidrMatch): string {
  return cidr.bits === (cidr.version === 4 ? 32 : 128) ? cidr.address : `${cidr.address}/${cidr.bits}`;
}

/** Does the prefix contain the address? Other IP versions and unparseable text never match. */
export function cidrContains(cidr: CidrMatch, address: string): boolean {
  return compileCidrList([cidr])(address);
}

/**
 * One test for a whole list of prefixes (the OR of a filter field): the address is parsed once,
 * then compared against each prefix of its version with precomputed masks.
 */
export function compileCidrList(cidrs: readonly CidrMatch[]): (address: string | undefined) => boolean {
  const v4: { mask: number; base: number }[] = [];
  const v6: { masks: number[]; base: number[] }[] = [];
  for (const c of cidrs) {
    const net = parseIp(c.address);
    if (!net || net.version !== c.version) throw new Error(`invalid CidrMatch address ${c.address}`);
    if (c.version === 4) {
      const mask = maskWord(c.bits, 0);
      v4.push({ mask, base: (net.words[0] & mask) >>> 0 });
    } else {
      const masks = [0, 1, 2, 3].map((i) => maskWord(c.bits, i));
      v6.push({ masks, base: net.words.map((w, i) => (w & masks[i]) >>> 0) });
    }
  }
  return (address) => {
    if (!address) return false;
    if (v4.length > 0) {
      const a = parseIpv4(address);
      if (a !== undefined) {
        for (const { mask, base } of v4) if ((a & mask) >>> 0 === base) return true;
        return false;
      }
    }
    if (v6.length === 0 || !address.includes(":")) return false;
    const a = parseIpv6(address);
    if (!a) return false;
    outer: for (const { masks, base } of v6) {
      for (let i = 0; i < 4; i++) if ((a[i] & masks[i]) >>> 0 !== base[i]) continue outer;
      return true;
    }
    return false;
  };
}
