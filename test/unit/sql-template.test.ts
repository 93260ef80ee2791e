/**
 * Templates (issue 16, third round): a statement built once with numbered slots, rendered and
 * prepared once per driver, run with each call's values in their slots.
 */
import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { Template } from '../../storage/catalog/sql-driver.js';
import { SqliteDriver } from '../../storage/catalog/sqlite/sqlite-driver.js';

function driver(): { driver: SqliteDriver; prepares: string[] } {
  const db = new Database(':memory:');
  db.exec('create table t (a text, b integer, c integer)');
  const prepares: string[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => {
    prepares.push(source);
    return prepare(source);
  }) as typeof db.prepare;
  return { driver: new SqliteDriver(db), prepares };
}

describe('Template', () => {
  it('is prepared once and fills every slot, a slot used twice included, in and outside transactions', async () => {
    const { driver: d, prepares } = driver();
    const insert = new Template((v) => sql`insert into t (a, b, c) values (${v(0)}, ${v(1)}, ${v(1)} + ${v(2)})`);
    const byA = new Template((v) => sql`select a, b, c from t where a = ${v(0)}`);
    const seen: unknown[][] = [];
    d.trace = (_source, params) => seen.push(params);
    for (let i = 0; i < 5; i++) await d.run(insert.bind(`x${i}`, i, 100));
    await d.transaction(async (tx) => {
      await tx.run(insert.bind('y', 7, 1));
      expect(await tx.all(byA.bind('y'))).toEqual([{ a: 'y', b: 7, c: 8 }]);
    });
    expect(await d.all(byA.bind('x3'))).toEqual([{ a: 'x3', b: 3, c: 103 }]);
    expect(prepares.filter((s) => s.startsWith('insert'))).toHaveLength(1);
    expect(prepares.filter((s) => s.startsWith('select'))).toHaveLength(1);
    // The trace sees the values in the rendered order (slot 1 twice).
    expect(seen[0]).toEqual(['x0', 0, 0, 100]);
    await d.close();
  });

  it('refuses a value written into the template instead of a slot', async () => {
    const { driver: d } = driver();
    const bad = new Template(() => sql`select a from t where a = ${'fixed'}`);
    await expect(d.all(bad.bind())).rejects.toThrow(/slot/);
    await d.close();
  });
});
