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

  override async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    return super.run(key, async () => {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      // The connection sits idle while the work runs: if the server drops it then, the error
      // arrives as an event (the lock is gone with it); without a listener it would crash us.
      const onError = (err: Error) => {
        broken = err;
        this.log(`postgres (locks): lost the connection holding "${key}": ${err.message}`);
      };
      client.on('error', onError);
      try {
        // Seed 1: a key space apart from the catalog's transaction locks.
        await client.query('select pg_advisory_lock(hashtextextended($1, 1))', [key]);
        try {
          return await work();
        } finally {
          await client.query('select pg_advisory_unlock(hashtextextended($1, 1))', [key]).catch((err: Error) => {
            // Dropping the connection releases the lock just as well.
            broken = err;
          });
        }
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
