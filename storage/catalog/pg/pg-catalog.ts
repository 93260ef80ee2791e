import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type pg from 'pg';
import * as schema from '../../../drizzle/pg/schema.js';
import { findUp } from '../../../shared/find-up.js';
import { PgDriver, pgPool } from './pg-driver.js';
import { SqlCatalog } from '../sql-catalog.js';

export const PG_MIGRATIONS_FOLDER = findUp(import.meta.url, 'drizzle/pg/migrations');

/** Every instance migrating at once must take turns: one fixed advisory lock id. */
const MIGRATION_LOCK = 0x63622d6d; // "cb-m"

export interface PgCatalogOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Connections in the pool (default 10). */
  max?: number;
  log?: (line: string) => void;
}

/**
 * The catalog in PostgreSQL, so that several server instances share one. Text compares
 * byte-wise (COLLATE "C") as in SQLite, so cursors and prefixes mean the same on both.
 * Open with PgCatalog.open(), which runs the migrations; queries are SqlCatalog's.
 */
export class PgCatalog extends SqlCatalog {
  declare readonly driver: PgDriver;

  private constructor(readonly pool: pg.Pool) {
    super(new PgDriver(pool));
  }

  static async open(options: PgCatalogOptions): Promise<PgCatalog> {
    const pool = pgPool(options.url, options.max ?? 10);
    // An idle connection dropped by the server must not crash the process; the pool reconnects.
    pool.on('error', (err) => (options.log ?? console.error)(`postgres: idle connection error: ${err.message}`));
    const catalog = new PgCatalog(pool);
    try {
      await catalog.migrate();
    } catch (err) {
      await pool.end();
      throw err;
    }
    return catalog;
  }

  /** Applies pending migrations, one instance at a time. */
  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await migrate(drizzle(client, { schema }), { migrationsFolder: PG_MIGRATIONS_FOLDER });
      } finally {
        await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } finally {
      client.release();
    }
  }

  #closed = false;

  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await super.close();
  }
}
