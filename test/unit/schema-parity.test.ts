import { getTableConfig as pgConfig } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteConfig } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import * as pgSchema from '../../drizzle/pg/schema.js';
import * as sqliteSchema from '../../drizzle/schema.js';

/**
 * Both catalogs run the same SQL (storage/catalog/sql-catalog.ts), so their schemas must have
 * the same tables, columns (name, nullability, key) and indexes (name, columns).
 */
type Shape = { columns: string[]; indexes: string[] };

function indexColumn(c: unknown): string {
  if (c && typeof c === 'object' && 'name' in c && typeof c.name === 'string') return c.name;
  return 'expr'; // an expression (the mtime sort key): compared by presence
}

function shapes(tables: Record<string, unknown>, config: (t: never) => { name: string; columns: { name: string; notNull: boolean; primary: boolean; isUnique: boolean }[]; indexes: { config: { name: string; columns: unknown[]; unique?: boolean } }[] }): Record<string, Shape> {
  const out: Record<string, Shape> = {};
  for (const t of Object.values(tables)) {
    const c = config(t as never);
    out[c.name] = {
      columns: c.columns.map((col) => `${col.name}${col.notNull ? ' not null' : ''}${col.primary ? ' primary' : ''}${col.isUnique ? ' unique' : ''}`).sort(),
      indexes: c.indexes.map((i) => `${i.config.unique ? 'unique ' : ''}${i.config.name}(${i.config.columns.map(indexColumn).join(',')})`).sort(),
    };
  }
  return out;
}

describe('SQLite and PostgreSQL schemas', () => {
  it('have the same tables, columns and indexes', () => {
    const lite = shapes(sqliteSchema, sqliteConfig as never);
    const pg = shapes(pgSchema, pgConfig as never);
    expect(Object.keys(lite).length).toBeGreaterThanOrEqual(5);
    expect(pg).toEqual(lite);
  });
});
