/**
 * A flow's 16-byte dedup key: its uuid when the agent sent a canonical one, else md5(node name,
 * 0xff, flow bytes). Both read the bytes in place (no string, no concatenated copy per flow): the
 * keys are stored and compared with keys stored before, so they are the very bytes the former
 * `Buffer.from(uuid.replaceAll("-", ""), "hex")` and `md5(Buffer.concat(…))` gave (docs/adr/0013).
 */
import { hash } from "node:crypto";

/** hex digit value of a byte, -1 for anything else (upper case included: the canonical form is lower case) */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) HEX[0x61 + i] = 10 + i;

/**
 * The 16 bytes of a canonical uuid (8-4-4-4-12 lower-case hex digits) spelled by bytes
 * [start, end), or null when they spell anything else.
 */
export function uuidKey(buf: Uint8Array, start: number, end: number): Buffer | null {
  if (end - start !== 36) return null;
  const key = Buffer.allocUnsafe(16);
  let j = 0;
  for (let i = start; i < end; ) {
    const at = i - start;
    if (at === 8 || at === 13 || at === 18 || at === 23) {
      if (buf[i] !== 0x2d) return null;
      i++;
      continue;
    }
    const hi = HEX[buf[i]];
    const lo = HEX[buf[i + 1]];
    if ((hi | lo) < 0) return null;
    key[j++] = (hi << 4) | lo;
    i += 2;
  }
  return key;
}

let scratch = Buffer.alloc(0);

/** md5(node name as UTF-8, 0xff, flow bytes): the key of a flow without a canonical uuid */
export function derivedKey(nodeName: string, flowBytes: Uint8Array): Buffer {
  // UTF-8 takes at most 3 bytes per UTF-16 unit
  const need = 3 * nodeName.length + 1 + flowBytes.length;
  if (scratch.length < need) scratch = Buffer.allocUnsafeSlow(Math.max(need, 2 * scratch.length, 4096));
  const n = scratch.write(nodeName, 0, "utf8");
  scratch[n] = 0xff;
  scratch.set(flowBytes, n + 1);
  return hash("md5", scratch.subarray(0, n + 1 + flowBytes.length), "buffer");
}
