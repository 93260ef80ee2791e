import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { Bound, TemplateCache, type Row, type SqlDialect, type SqlDriver, type SqlTx } from '../sql-driver.js';

const render = new PgDialect();

/** int8 and numeric (sums) as JS numbers: counts, sizes and times stay below 2^53. */
const numberTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export function pgPool(url: string, max: number): pg.Pool {
  return new pg.Pool({ connectionString: url, max, types: numberTypes });
}

/** SqlDriver over a node-postgres pool; a transaction holds one connection from the pool. */
export class PgDriver implements SqlDriver {
  readonly dialect: SqlDialect = { name: 'pg', likeFolded: 'ilike', greatest: 'greatest', forUpdate: ' for update' };
  /** Told each statement outside a transaction before it runs (tests read query plans with it). */
  trace?: (sql: string, params: unknown[]) => void;

  private readonly templates = new TemplateCache(render);

  constructor(readonly pool: pg.Pool) {}

  private textOf(q: SQL | Bound): { sql: string; params: unknown[] } {
    return q instanceof Bound ? this.templates.render(q) : render.sqlToQuery(q);
  }

  private rendered(q: SQL | Bound): { sql: string; params: unknown[] } {
    const r = this.textOf(q);
    this.trace?.(r.sql, r.params);
    return r;
  }

  async all(q: SQL | Bound): Promise<Row[]> {
    const { sql, params } = this.rendered(q);
    return (await this.pool.query(sql, params)).rows as Row[];
  }

  async run(q: SQL | Bound): Promise<number> {
    const { sql, params } = this.rendered(q);
    return (await this.pool.query(sql, params)).rowCount ?? 0;
  }

  async transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx: SqlTx = {
      all: async (q) => {
        const { sql, params } = this.textOf(q);
        return (await client.query(sql, params)).rows as Row[];
      },
      run: async (q) => {
        const { sql, params } = this.textOf(q);
        return (await client.query(sql, params)).rowCount ?? 0;
      },
      lock: async (key, mode = 'exclusive') => {
        const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
        await client.query(`select ${fn}(hashtextextended($1, 0))`, [key]);
      },
    };
    let broken: unknown;
    try {
      await client.query('begin');
      const result = await fn(tx);
      await client.query('commit');
      return result;
    } catch (err) {
      await client.query('rollback').catch((e: unknown) => (broken = e));
      throw err;
    } finally {
      // A connection that could not even roll back is not given back to the pool.
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
