import type { SQL } from 'drizzle-orm';

/**
 * What the one catalog query layer (storage/catalog/sql-catalog.ts) needs from a database:
 * run a statement, run a transaction, take a lock. Everything dialect-specific lives behind
 * this interface: SQLite (storage/catalog/sqlite/sqlite-driver.ts) and PostgreSQL (pg-driver.ts).
 */

/** A result row as the database returns it; the query layer decodes it. */
export type Row = Record<string, unknown>;

export interface SqlExec {
  /** Rows of a query (or of `returning`). */
  all(q: SQL): Promise<Row[]>;
  /** Runs a statement; returns the number of rows it changed. */
  run(q: SQL): Promise<number>;
}

export interface SqlTx extends SqlExec {
  /**
   * Serialises this transaction with others that lock the same key (until commit). On
   * PostgreSQL an advisory lock, so it holds across server instances; SQLite transactions are
   * serialised whole already, so there it is a no-op.
   */
  lock(key: string, mode?: 'exclusive' | 'shared'): Promise<void>;
}

/** The few spellings that differ between the dialects. */
export interface SqlDialect {
  name: 'sqlite' | 'pg';
  /** LIKE that folds ASCII case (SQLite's LIKE does; PostgreSQL needs ILIKE). */
  likeFolded: string;
  /** The larger of two values: max(a, b) in SQLite, greatest(a, b) in PostgreSQL. */
  greatest: string;
  /** Row lock suffix for a select inside a transaction ('' where transactions are serial). */
  forUpdate: string;
}

export interface SqlDriver extends SqlExec {
  readonly dialect: SqlDialect;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Row decoding: both drivers hand back numbers (PostgreSQL's int8 is parsed), SQLite 0/1 for booleans. */
export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? 0));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
export const bool = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 't';
export const str = (v: unknown): string => String(v);
export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
