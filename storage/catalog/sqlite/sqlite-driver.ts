import type Database from 'better-sqlite3';
import type { SQL } from 'drizzle-orm';
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core';
import type { Row, SqlDialect, SqlDriver, SqlTx } from '../sql-driver.js';

const render = new SQLiteSyncDialect();

/**
 * SqlDriver over one better-sqlite3 connection. Statements run synchronously; transactions
 * are async (the query layer awaits between statements), so they take turns through one
 * queue, and a statement issued while a transaction is open waits for it instead of joining it.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect: SqlDialect = { name: 'sqlite', likeFolded: 'like', greatest: 'max', forUpdate: '' };
  private readonly statements = new Map<string, Database.Statement>();
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  /** Told each statement before it runs (tests read query plans with it). */
  trace?: (sql: string, params: unknown[]) => void;

  constructor(readonly sqlite: Database.Database) {}

  private prepared(q: SQL): { stmt: Database.Statement; params: unknown[] } {
    const { sql, params } = render.sqlToQuery(q);
    this.trace?.(sql, params);
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.sqlite.prepare(sql);
      // Bounded: statements are built from a fixed set of shapes, but IN lists vary in length.
      if (this.statements.size > 500) this.statements.clear();
      this.statements.set(sql, stmt);
    }
    return { stmt, params };
  }

  private allNow(q: SQL): Row[] {
    const { stmt, params } = this.prepared(q);
    if (stmt.reader) return stmt.all(...params) as Row[];
    stmt.run(...params);
    return [];
  }

  private runNow(q: SQL): number {
    const { stmt, params } = this.prepared(q);
    return stmt.run(...params).changes;
  }

  /** Runs `fn` when every earlier queued transaction has finished. */
  private exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    this.queued++;
    return prev.then(fn).finally(() => {
      this.queued--;
      release();
    });
  }

  async all(q: SQL): Promise<Row[]> {
    return this.queued === 0 ? this.allNow(q) : this.exclusive(() => this.allNow(q));
  }

  async run(q: SQL): Promise<number> {
    return this.queued === 0 ? this.runNow(q) : this.exclusive(() => this.runNow(q));
  }

  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const tx: SqlTx = {
        all: async (q) => this.allNow(q),
        run: async (q) => this.runNow(q),
        lock: async () => {},
      };
      this.sqlite.exec('begin immediate');
      try {
        const result = await fn(tx);
        this.sqlite.exec('commit');
        return result;
      } catch (err) {
        if (this.sqlite.inTransaction) this.sqlite.exec('rollback');
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.tail;
    if (this.sqlite.open) this.sqlite.close();
  }
}
