/**
 * Rows of the SQLite driver: read as arrays (better-sqlite3's raw mode) and named in JS. They must
 * be the objects better-sqlite3 itself would return, in the same key order, for every statement.
 */
import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { SqliteDriver } from '../../storage/catalog/sqlite/sqlite-driver.js';

function driverWith(setup: string): { db: Database.Database; driver: SqliteDriver } {
  const db = new Database(':memory:');
  db.exec(setup);
  return { db, driver: new SqliteDriver(db) };
}

describe('SqliteDriver rows', () => {
  it('are the objects better-sqlite3 returns: names, aliases, order, nulls, a name twice (the later value)', async () => {
    const { db, driver } = driverWith(`
      create table t (id integer primary key, name text, size integer, note text);
      insert into t values (1, 'a', 10, null), (2, 'b', 20, 'x');`);
    const cases = [
      'select * from t order by id',
      'select name, size as "bytes", note from t order by id desc',
      'select id, name as id, size from t order by id',
      'select count(*) from t',
      'select name from t where id = 3',
    ];
    for (const q of cases) {
      const rows = await driver.all(sql.raw(q));
      expect(rows, q).toEqual(db.prepare(q).all());
      expect(rows.map((r) => Object.keys(r)), q).toEqual((db.prepare(q).all() as object[]).map((r) => Object.keys(r)));
    }
    expect(await driver.all(sql.raw('select id, name as id from t order by id'))).toEqual([{ id: 'a' }, { id: 'b' }]);
    db.close();
  });

  it('of a write with returning come back, a write without rows gives none, and both write', async () => {
    const { db, driver } = driverWith('create table t (id integer primary key, name text);');
    expect(await driver.all(sql`insert into t (name) values (${'a'}) returning id, name`)).toEqual([{ id: 1, name: 'a' }]);
    expect(await driver.all(sql`insert into t (name) values (${'b'})`)).toEqual([]);
    expect(await driver.transaction((tx) => tx.all(sql`insert into t (name) values (${'c'}) returning name`))).toEqual([{ name: 'c' }]);
    expect(db.prepare('select name from t order by id').pluck().all()).toEqual(['a', 'b', 'c']);
    db.close();
  });
});
