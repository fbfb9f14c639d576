/**
 * Shares ingest work among replicas through leases in PostgreSQL (docs/adr/0011): the work is a set
 * of names — "relay" (one Relay stream), or "node:<name>" per agent (per-node ingest). Every tick
 * (1 s) a replica renews its member lease and the work leases it holds, gives up what it lost, and
 * takes free or expired work up to its share: ceil(work / live members), preferring names by
 * rendezvous hash so the split stays put when replicas come and go. A replica over its share (a
 * replica joined) hands one name over per tick: it stops that stream, stores what it received, and
 * releases the lease, so the next holder starts at once from what is stored.
 *
 * What keeps a replica that lost a lease from writing is the batches' fence (LeaseRepo.fence, in
 * each batch's transaction), not this loop: while the store is away nothing is written anyway, and
 * a lease that expired meanwhile but that nobody took is simply renewed, queue and stream intact.
 */
import { createHash } from "node:crypto";
import { LeaseRepo } from "@/server/db/lease-repo";
import { metrics } from "@/server/metrics";

export interface LeasedWorker {
  start(): Promise<void>;
  /** abandon: the lease is gone, drop what is not stored */
  stop(opts: { abandon?: boolean }): Promise<void>;
}

export interface LeasedWorkOptions {
  repo: LeaseRepo;
  ttlMs: number;
  tickMs?: number;
  /** the work there is now (lease names) */
  work: () => string[];
  /** a worker for a lease just taken; `version` changes (an agent's new address) restart it */
  make: (name: string) => LeasedWorker;
  version?: (name: string) => string;
  log: { info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void; error: (o: object, m?: string) => void };
}

const rank = (holder: string, name: string) => createHash("md5").update(holder).update("\0").update(name).digest().readUInt32BE(0);

export class LeasedWork {
  private readonly held = new Map<string, { worker: LeasedWorker; version: string }>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | null = null;
  private stopped = false;
  readonly member: string;
  /** lease changes, for status and tests */
  acquisitions = 0;
  losses = 0;

  constructor(private readonly o: LeasedWorkOptions) {
    this.member = `member:${o.repo.holder}`;
  }

  get holding(): string[] {
    return [...this.held.keys()].sort();
  }

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.ticking = this.tick()
        .catch((e) => this.o.log.warn({ err: String(e) }, "ingest lease round failed"))
        .finally(() => {
          this.ticking = null;
          if (!this.stopped) this.timer = setTimeout(tick, this.o.tickMs ?? 1000);
        });
    };
    tick();
  }

  /** one round now (tests) */
  async tick(): Promise<void> {
    let renewed = await this.o.repo.renew([this.member, ...this.held.keys()]);
    if (!renewed.has(this.member)) renewed = new Set([...(await this.o.repo.acquire([this.member])), ...renewed]);
    for (const name of [...this.held.keys()]) if (!renewed.has(name)) await this.lose(name, "the lease expired and was taken over");

    const work = this.o.work();
    const workSet = new Set(work);
    // work that went away (a node deleted): hand over gracefully
    for (const name of [...this.held.keys()]) if (!workSet.has(name)) await this.handOver(name);
    // an agent that moved: restart its stream, keeping the lease
    for (const [name, h] of this.held) {
      const v = this.o.version?.(name) ?? "";
      if (v !== h.version) {
        await h.worker.stop({});
        const worker = this.o.make(name);
        this.held.set(name, { worker, version: v });
        await worker.start();
      }
    }
    if (work.length === 0) return;

    const members = Math.max(1, (await this.o.repo.live("member:")).length);
    const share = Math.ceil(work.length / members);
    const holder = this.o.repo.holder;
    if (this.held.size > share) {
      const extra = [...this.held.keys()].sort((a, b) => rank(holder, a) - rank(holder, b))[0];
      await this.handOver(extra);
      return;
    }
    if (this.held.size >= share) return;
    const taken = new Set((await this.o.repo.live("")).filter((l) => !l.name.startsWith("member:")).map((l) => l.name));
    const free = work.filter((n) => !this.held.has(n) && !taken.has(n)).sort((a, b) => rank(holder, b) - rank(holder, a));
    if (free.length === 0) return;
    const got = await this.o.repo.acquire(free.slice(0, share - this.held.size));
    for (const name of got) {
      const worker = this.o.make(name);
      this.held.set(name, { worker, version: this.o.version?.(name) ?? "" });
      this.acquisitions++;
      metrics().leasesTaken.inc();
      metrics().leasesHeld.set(this.held.size);
      const t0 = performance.now();
      try {
        await worker.start();
        this.o.log.info({ lease: name, holder, startMs: Math.round(performance.now() - t0) }, "took the ingest lease");
      } catch (e) {
        this.o.log.error({ lease: name, err: String(e) }, "starting the leased ingest failed; giving the lease up");
        await this.handOver(name);
      }
    }
  }

  private async lose(name: string, why: string): Promise<void> {
    const h = this.held.get(name);
    if (!h) return;
    this.held.delete(name);
    this.losses++;
    metrics().leasesLost.inc();
    metrics().leasesHeld.set(this.held.size);
    this.o.log.warn({ lease: name }, `${why}: stopped without writing what was queued`);
    await h.worker.stop({ abandon: true }).catch((e) => this.o.log.warn({ err: String(e) }, "stopping a lost ingest failed"));
  }

  /** stop, store what was received, release: the next holder starts from there at once */
  private async handOver(name: string): Promise<void> {
    const h = this.held.get(name);
    if (!h) return;
    this.held.delete(name);
    metrics().leasesHeld.set(this.held.size);
    try {
      await h.worker.stop({});
    } finally {
      await this.o.repo.release([name]).catch(() => {});
      this.o.log.info({ lease: name }, "handed the ingest lease over");
    }
  }

  /** lease names lost by a batch's fence: stop at once (the next round would notice too) */
  async fenced(name: string): Promise<void> {
    await this.lose(name, "a batch found the lease gone");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    for (const name of [...this.held.keys()]) await this.handOver(name);
    await this.o.repo.release([this.member]).catch(() => {});
  }
}
