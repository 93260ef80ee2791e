import pg from 'pg';
import { KeyedMutex } from './keyed-mutex.js';

export interface PgKeyedMutexOptions {
  url: string;
  /**
   * Keys held at once by this process (each holds one connection while its work runs).
   * A separate pool from the catalog's, so that work under a lock can always reach the catalog.
   */
  max?: number;
  log?: (line: string) => void;
}

/**
 * KeyedMutex across every server instance sharing one PostgreSQL: inside a process the
 * in-memory queue orders work per key as before; around each piece of work a session advisory
 * lock on the key makes other instances wait too. A connection that dies releases its locks, so
 * a crashed instance never leaves a key locked.
 */
export class PgKeyedMutex extends KeyedMutex {
  readonly pool: pg.Pool;
  readonly log: (line: string) => void;

  constructor(options: PgKeyedMutexOptions) {
    super();
    this.log = options.log ?? console.error;
    this.pool = new pg.Pool({ connectionString: options.url, max: options.max ?? 8 });
    this.pool.on('error', (err) => this.log(`postgres (locks): idle connection error: ${err.message}`));
  }

  /** One connection holds the advisory locks of all `keys` (sorted by the caller) around `work`. */
  protected override async guard<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const shown = keys.length === 1 ? `"${keys[0]}"` : `${keys.length} keys`;
    // The connection sits idle while the work runs: if the server drops it then, the error
    // arrives as an event (the lock is gone with it); without a listener it would crash us.
    const onError = (err: Error) => {
      broken = err;
      this.log(`postgres (locks): lost the connection holding ${shown}: ${err.message}`);
    };
    client.on('error', onError);
    try {
      try {
        // Seed 1: a key space apart from the catalog's transaction locks. One at a time, in order.
        for (const key of keys) await client.query('select pg_advisory_lock(hashtextextended($1, 1))', [key]);
        return await work();
      } finally {
        // Also after a failure half-way through the keys: a pooled connection keeps none.
        await client.query('select pg_advisory_unlock_all()').catch((err: Error) => {
          // Dropping the connection releases the locks just as well.
          broken = err;
        });
      }
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
