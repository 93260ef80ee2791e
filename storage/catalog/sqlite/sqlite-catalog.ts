import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from '../../../drizzle/schema.js';
import { findUp } from '../../../shared/find-up.js';
import { SqlCatalog } from '../sql-catalog.js';
import { SqliteDriver } from './sqlite-driver.js';
import { WalSync, type DataSync } from './wal-sync.js';

/** The catalog connection's page cache, KiB. */
const CACHE_KIB = 32 * 1024;

export const MIGRATIONS_FOLDER = findUp(import.meta.url, 'drizzle/migrations');

export interface SqliteCatalogOptions {
  /** Path of the SQLite file; ':memory:' for throwaway tests. */
  file: string;
  /** Sync the WAL at every commit (default true), so an acknowledged write survives a power cut. */
  durable?: boolean;
  /** The WAL's fdatasync (tests hold it to see what waits for it); node:fs's by default. */
  dataSync?: DataSync;
}

/** The catalog in one SQLite file (WAL mode). Migrations run on open; queries are SqlCatalog's. */
export class SqliteCatalog extends SqlCatalog {
  readonly sqlite: Database.Database;
  declare readonly driver: SqliteDriver;

  constructor(options: SqliteCatalogOptions) {
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    const sqlite = new Database(options.file);
    sqlite.pragma('journal_mode = WAL');
    // NORMAL: a COMMIT writes the WAL without syncing it (the database stays consistent through a
    // power cut). Durable (the default), the WAL is then synced in the thread pool and a commit
    // is reported only after that (WalSync): a write acknowledged with 201 survives a power cut.
    // --durable false skips that sync: it survives process crashes only.
    sqlite.pragma('synchronous = NORMAL');
    const walSync = options.durable !== false && options.file !== ':memory:' ? new WalSync(`${options.file}-wal`, options.dataSync) : undefined;
    sqlite.pragma('foreign_keys = ON');
    // Page cache of up to 32 MiB (SQLite's default is 2 MiB), filled only as pages are read: the
    // five indexes keyed by SHA-256 put each new file on random pages, and with 2 MiB nearly every
    // insert of a batch read its pages back from the OS (putFiles here: 170-180 -> 110-130 us of
    // CPU per file for 20k-60k files).
    sqlite.pragma(`cache_size = -${CACHE_KIB}`);
    sqlite.pragma('busy_timeout = 5000');
    // Statement journals (every statement inside the driver's savepoints has one) and sorts in
    // memory, not in files under /tmp: a systemd unit with ProtectSystem=strict may not write there.
    sqlite.pragma('temp_store = MEMORY');
    migrate(drizzle(sqlite, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
    walSync?.syncNow();
    super(new SqliteDriver(sqlite, walSync));
    this.sqlite = sqlite;
  }
}
