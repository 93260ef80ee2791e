import { sql, type Placeholder, type SQL } from 'drizzle-orm';

/**
 * What the one catalog query layer (storage/catalog/sql-catalog.ts) needs from a database:
 * run a statement, run a transaction, take a lock. Everything dialect-specific lives behind
 * this interface: SQLite (storage/catalog/sqlite/sqlite-driver.ts) and PostgreSQL (pg-driver.ts).
 */

/** A result row as the database returns it; the query layer decodes it. */
export type Row = Record<string, unknown>;

export interface SqlExec {
  /** Rows of a query (or of `returning`). */
  all(q: SQL | Bound): Promise<Row[]>;
  /** Runs a statement; returns the number of rows it changed. */
  run(q: SQL | Bound): Promise<number>;
}

/**
 * A statement of fixed text with numbered slots for its values, built once (at module load):
 * a driver renders it once and keeps it (SQLite: prepared), where a `sql` query is built and
 * rendered again at every call (drizzle's rendering was most of the catalog's CPU per file of a
 * batch). For the statements that run once per file.
 */
export class Template {
  readonly query: SQL;
  constructor(build: (slot: (n: number) => Placeholder) => SQL) {
    this.query = build((n) => sql.placeholder(String(n)));
  }

  /** This statement with its slots' values (slot n takes values[n]). */
  bind(...values: unknown[]): Bound {
    return new Bound(this, values);
  }
}

export class Bound {
  constructor(
    readonly template: Template,
    readonly values: readonly unknown[],
  ) {}
}

/**
 * A driver's templates, each rendered by its dialect once: the text, and which slot fills each
 * parameter (drizzle renders a placeholder as a parameter naming it). Templates are a fixed set
 * built at module load, so the cache only grows to that.
 */
export class TemplateCache {
  readonly #rendered = new Map<Template, { sql: string; slots: number[] }>();

  constructor(private readonly dialect: { sqlToQuery(q: SQL): { sql: string; params: unknown[] } }) {}

  /** The text and the parameters, in the text's order, of a bound template. */
  render(b: Bound): { sql: string; params: unknown[] } {
    let t = this.#rendered.get(b.template);
    if (!t) {
      const { sql, params } = this.dialect.sqlToQuery(b.template.query);
      const slots = params.map((p) => {
        const name = (p as { name?: unknown } | null)?.name;
        if (typeof name !== 'string') throw new Error('a Template holds a bound value: use slot(n) for every value');
        return Number(name);
      });
      t = { sql, slots };
      this.#rendered.set(b.template, t);
    }
    return { sql: t.sql, params: t.slots.map((n) => b.values[n]) };
  }
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
