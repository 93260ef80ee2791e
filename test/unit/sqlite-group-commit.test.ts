/**
 * Group commit in the SQLite driver (issue 16.2): concurrent transactions share one COMMIT (one
 * WAL fsync), each settles only after that COMMIT, a failing one is rolled back alone, and
 * nothing uncommitted is ever read.
 */
import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { tempCatalogFile } from '../helpers/temp-catalog.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
import { SqliteDriver } from '../../storage/catalog/sqlite/sqlite-driver.js';

const SHA = (i: number) => i.toString(16).padStart(64, '0');
const tempFile = () => tempCatalogFile('group-commit');

/** Counts the COMMITs a connection runs. */
function countCommits(db: Database.Database): { commits: number } {
  const counter = { commits: 0 };
  const exec = db.exec.bind(db);
  db.exec = (source: string) => {
    if (/^\s*commit\b/i.test(source)) counter.commits++;
    return exec(source);
  };
  return counter;
}

describe('SqliteDriver group commit', () => {
  it('commits concurrent putFile calls together, and each is durable when it resolves', async () => {
    const file = tempFile();
    const catalog = new SqliteCatalog({ file });
    const counter = countCommits(catalog.sqlite);
    const other = new Database(file, { readonly: true });
    try {
      const seenAtResolve: number[] = [];
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          catalog.putFile({ path: `alice/f${i}.txt`, sha256: SHA(i), size: 1, mtime: null, now: 1 }).then(() => {
            // Another connection reads what is committed only.
            seenAtResolve.push((other.prepare('select count(*) as n from files where path = ?').get(`alice/f${i}.txt`) as { n: number }).n);
          }),
        ),
      );
      expect(counter.commits).toBeLessThan(20);
      expect(counter.commits).toBeGreaterThanOrEqual(1);
      expect(seenAtResolve).toEqual(Array(20).fill(1));
      expect((await catalog.listFiles({ prefix: 'alice/', limit: 100 })).length).toBe(20);
    } finally {
      other.close();
      await catalog.close();
    }
  });

  it('rolls a failing transaction back alone; the others of its group commit', async () => {
    const driver = new SqliteDriver(new Database(tempFile()));
    await driver.run(sql`create table t (k text primary key)`);
    const outcomes = await Promise.allSettled([
      driver.transaction(async (tx) => tx.run(sql`insert into t values ('a')`)),
      driver.transaction(async (tx) => {
        await tx.run(sql`insert into t values ('b')`);
        throw new Error('refused');
      }),
      driver.transaction(async (tx) => tx.run(sql`insert into t values ('c')`)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await driver.all(sql`select k from t order by k`)).map((r) => r.k)).toEqual(['a', 'c']);
    // The first of a group (it has no savepoint) failing takes nothing else with it either.
    const again = await Promise.allSettled([
      driver.transaction(async (tx) => {
        await tx.run(sql`insert into t values ('d')`);
        throw new Error('refused');
      }),
      driver.transaction(async (tx) => tx.run(sql`insert into t values ('e')`)),
    ]);
    expect(again.map((o) => o.status)).toEqual(['rejected', 'fulfilled']);
    expect((await driver.all(sql`select k from t order by k`)).map((r) => r.k)).toEqual(['a', 'c', 'e']);
    await driver.close();
  });

  it('fails every member when the COMMIT fails, and keeps nothing of them', async () => {
    const db = new Database(tempFile());
    db.pragma('foreign_keys = ON');
    const driver = new SqliteDriver(db);
    await driver.run(sql`create table p (id integer primary key)`);
    await driver.run(sql`create table c (pid integer references p(id) deferrable initially deferred)`);
    // The second member breaks a deferred foreign key: SQLite refuses at COMMIT, not before.
    const outcomes = await Promise.allSettled([
      driver.transaction(async (tx) => tx.run(sql`insert into p values (1)`)),
      driver.transaction(async (tx) => tx.run(sql`insert into c values (999)`)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(await driver.all(sql`select id from p`)).toEqual([]);
    // The next transaction starts a group of its own.
    await driver.transaction(async (tx) => tx.run(sql`insert into p values (2)`));
    expect((await driver.all(sql`select id from p`)).map((r) => r.id)).toEqual([2]);
    await driver.close();
  });

  it('a read whose turn comes while a group waits commits the group first: it sees committed rows only, and never waits on itself', async () => {
    const file = tempFile();
    const driver = new SqliteDriver(new Database(file));
    const other = new Database(file, { readonly: true });
    try {
      await driver.run(sql`create table t (k text primary key)`);
      // Queued behind the transaction; its turn comes when the group's COMMIT is still ahead.
      const write = driver.transaction(async (tx) => tx.run(sql`insert into t values ('a')`));
      const read = driver.all(sql`select k from t`).then((rows) => ({ rows, committed: other.prepare('select k from t').all() }));
      const outcome = await Promise.race([read, new Promise((r) => setTimeout(() => r('stuck'), 5000))]);
      expect(outcome).toEqual({ rows: [{ k: 'a' }], committed: [{ k: 'a' }] });
      await write;
      // And an idle read after a transaction whose COMMIT still waits for the end of the turn.
      const second = driver.transaction(async (tx) => tx.run(sql`insert into t values ('b')`));
      await Promise.resolve();
      await Promise.resolve();
      const rows = await driver.all(sql`select k from t order by k`);
      expect(rows.map((r) => r.k)).toEqual(['a', 'b']);
      expect(other.prepare('select k from t order by k').all()).toEqual([{ k: 'a' }, { k: 'b' }]);
      await second;
    } finally {
      other.close();
      await driver.close();
    }
  });
  it('a read that comes while a group waits for its COMMIT waits for it, so that uploads coming after the read still join the group', async () => {
    const driver = new SqliteDriver(new Database(tempFile()));
    await driver.run(sql`create table t (k text primary key)`);
    const counter = countCommits(driver.sqlite);
    const first = driver.transaction(async (tx) => tx.run(sql`insert into t values ('a')`));
    // The first one's work is done; its COMMIT waits for the end of the turn.
    for (let i = 0; i < 50; i++) await Promise.resolve();
    // A request's token lookup, then another upload of the same turn.
    const read = driver.all(sql`select k from t order by k`);
    const second = driver.transaction(async (tx) => tx.run(sql`insert into t values ('b')`));
    const [, rows] = await Promise.all([first, read, second]);
    expect(counter.commits).toBe(1);
    expect((rows as { k: string }[]).map((r) => r.k)).toEqual(['a', 'b']);
    await driver.close();
  });
});
