/**
 * Randomness for the demo cluster. With a seed everything (including flow uuids) is reproducible,
 * which the unit tests rely on; without one it uses Math.random and crypto.randomUUID.
 */
import { randomUUID } from "node:crypto";

export class DemoRandom {
  private state: number;

  constructor(readonly seed?: number) {
    this.state = (seed ?? 0) >>> 0;
  }

  /** [0, 1) */
  next(): number {
    if (this.seed === undefined) return Math.random();
    // mulberry32: tiny, fast, good enough for traffic shapes
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** integer in [min, max] */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** float in [min, max) */
  between(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** items: [value, weight] */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [v, w] of items) {
      r -= w;
      if (r < 0) return v;
    }
    return items[items.length - 1][0];
  }

  /** Linux ephemeral port range (net.ipv4.ip_local_port_range 32768 60999). */
  ephemeralPort(): number {
    return this.int(32768, 60999);
  }

  uuid(): string {
    if (this.seed === undefined) return randomUUID();
    const hex = (n: number) => Math.floor(this.next() * 16 ** n).toString(16).padStart(n, "0");
    const variant = (8 + Math.floor(this.next() * 4)).toString(16);
    return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(8)}${hex(4)}`;
  }
}
