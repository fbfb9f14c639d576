/**
 * Ingest leases and per-node progress in PostgreSQL (docs/adr/0011-roles-leases-fanout.md). Every
 * time is the database's (now()), so the replicas' clocks never have to agree; a lease is held while
 * `expires_at` is in the future, and taken over by anyone once it is not.
 */
import type { CopyTarget, Queryable } from "./connection";

export class LeaseLostError extends Error {
  constructor(readonly lease: string) {
    super(`ingest lease "${lease}" is no longer held by this replica`);
  }
}

export class LeaseRepo {
  constructor(
    private readonly db: Queryable,
    readonly holder: string,
    private readonly ttlMs: number,
  ) {}

  /**
   * Takes the free or expired leases among `names` and renews the ones this replica holds, in one
   * statement; returns the names held afterwards (a name missing from it is someone else's).
   */
  async acquire(names: readonly string[]): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    const rows = await this.db.query<{ name: string }>(
      `INSERT INTO ingest_leases AS l (name, holder, expires_at)
       SELECT n, $2, now() + make_interval(secs => $3::float8 / 1000) FROM unnest($1::text[]) AS n
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at,
         acquired_at = CASE WHEN l.holder = EXCLUDED.holder THEN l.acquired_at ELSE now() END
       WHERE l.holder = EXCLUDED.holder OR l.expires_at < now()
       RETURNING name`,
      [names, this.holder, this.ttlMs],
    );
    return new Set(rows.map((r) => r.name));
  }

  /**
   * Extends the leases whose row still names this replica; returns those. One that expired (the
   * store was away) but that nobody took is still ours: a takeover writes its own name, a release
   * deletes the row, so a row that still names us means no one else has written since.
   */
  async renew(names: readonly string[]): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    const rows = await this.db.query<{ name: string }>(
      `UPDATE ingest_leases SET expires_at = now() + make_interval(secs => $3::float8 / 1000)
       WHERE name = ANY($1::text[]) AND holder = $2 RETURNING name`,
      [names, this.holder, this.ttlMs],
    );
    return new Set(rows.map((r) => r.name));
  }

  /** Gives leases up at once (a graceful stop or a hand-over): another replica need not wait for expiry. */
  async release(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    await this.db.query(`DELETE FROM ingest_leases WHERE name = ANY($1::text[]) AND holder = $2`, [names, this.holder]);
  }

  /** Unexpired leases whose name starts with `prefix`, with their holders. */
  async live(prefix: string): Promise<{ name: string; holder: string }[]> {
    return this.db.query<{ name: string; holder: string }>(
      `SELECT name, holder FROM ingest_leases WHERE starts_with(name, $1) AND expires_at > now() ORDER BY name`,
      [prefix],
    );
  }

  /**
   * Inside a write transaction: fails it unless the lease row still names this replica. The row is
   * locked (FOR SHARE) until the commit, so a takeover (an UPDATE of the row) waits for this batch,
   * and a batch after the takeover fails: a replica that stalled past its lease never writes behind
   * the new holder's back. (Expired but not taken over is still safe to write: nobody else has.)
   */
  async fence(tx: Queryable, name: string): Promise<void> {
    const rows = await tx.query(`SELECT 1 FROM ingest_leases WHERE name = $1 AND holder = $2 FOR SHARE`, [name, this.holder]);
    if (rows.length === 0) throw new LeaseLostError(name);
  }
}

/** Per-node resume points: written with the batch that stored the flows. */
export class ProgressRepo {
  constructor(private readonly db: Queryable) {}

  async lastTs(stream: string): Promise<bigint | null> {
    const rows = await this.db.query<{ ts: string }>(`SELECT last_ts::text AS ts FROM ingest_progress WHERE stream = $1`, [stream]);
    return rows[0] ? BigInt(rows[0].ts) : null;
  }

  async advance(tx: CopyTarget | Queryable, stream: string, ts: bigint): Promise<void> {
    await tx.query(
      `INSERT INTO ingest_progress AS p (stream, last_ts) VALUES ($1, $2::bigint)
       ON CONFLICT (stream) DO UPDATE SET last_ts = GREATEST(p.last_ts, EXCLUDED.last_ts)`,
      [stream, ts.toString()],
    );
  }

  /**
   * Keys (hex) and times of the node's flows stored or quarantined from `sinceNs` on: what a resumed
   * stream of that node re-sends. A node's flows are those whose context names it.
   */
  async keysSince(node: string, sinceNs: bigint): Promise<[string, bigint][]> {
    const rows = await this.db.query<{ key: string; ts: string }>(
      `SELECT f.key::text AS key, f.ts::text AS ts FROM flows f
       WHERE f.ts >= $1::bigint AND f.ctx_id IN (SELECT id FROM flow_contexts WHERE node_name = $2)
       UNION ALL SELECT key::text, ts::text FROM quarantine WHERE ts >= $1::bigint AND key IS NOT NULL AND node_name = $2
       ORDER BY ts`,
      [sinceNs.toString(), node],
    );
    return rows.map((r) => [r.key.replaceAll("-", ""), BigInt(r.ts)]);
  }
}
