/** Events per second over a sliding window of whole seconds. */
export class RateMeter {
  private buckets: number[];
  private second = 0;

  constructor(private readonly windowSeconds: number) {
    this.buckets = new Array(windowSeconds).fill(0);
  }

  private roll(now: number): void {
    const s = Math.floor(now / 1000);
    if (s - this.second >= this.windowSeconds) this.buckets.fill(0);
    else for (let t = this.second + 1; t <= s; t++) this.buckets[t % this.windowSeconds] = 0;
    this.second = s;
  }

  add(n: number, now = Date.now()): void {
    this.roll(now);
    this.buckets[this.second % this.windowSeconds] += n;
  }

  perSecond(now = Date.now()): number {
    this.roll(now);
    // the current second is partial: average over the full seconds before it plus the elapsed part
    const total = this.buckets.reduce((a, b) => a + b, 0);
    const elapsed = this.windowSeconds - 1 + (now % 1000) / 1000;
    return total / elapsed;
  }
}
