/**
 * The history queries stay index-driven (issue 13: fast at 100k files and 1M versions; the
 * figures are `npm run bench -- --only history`): the tree at T, a path's versions and their
 * pages read the versions_path_time index and never scan the versions table.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { PgCatalog } from '../../storage/catalog/pg/pg-catalog.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
import { bothCatalogs } from '../helpers/catalogs.js';

const SHA = (i: number) => i.toString(16).padStart(64, '0');

type Traced = SqliteCatalog | PgCatalog;

/** 30 files with 5 versions each (one deleted at the end), plus one with 40: enough for every branch. */
async function fill(catalog: Traced): Promise<void> {
  for (let k = 0; k < 5; k++) {
    for (let i = 0; i < 30; i++) await catalog.putFile({ path: `alice/docs/f${String(i).padStart(2, '0')}.txt`, sha256: SHA(k * 100 + i), size: 10, mtime: 1, now: 1000 * (k + 1) + i });
  }
  await catalog.deleteFile('alice/docs/f07.txt', 9000);
  for (let j = 0; j < 40; j++) await catalog.putFile({ path: 'alice/busy.log', sha256: SHA(10_000 + j), size: 10, mtime: 1, now: 10_000 + j });
}

/** The plans of the selects one catalog call runs, one string per statement. */
async function plansOf(catalog: Traced, call: () => Promise<unknown>): Promise<string[]> {
  const statements: [string, unknown[]][] = [];
  catalog.driver.trace = (source, params) => {
    if (/^\s*select/i.test(source)) statements.push([source, params]);
  };
  try {
    await call();
  } finally {
    catalog.driver.trace = undefined;
  }
  const plans: string[] = [];
  for (const [source, params] of statements) {
    if (catalog instanceof SqliteCatalog) {
      plans.push((catalog.sqlite.prepare(`explain query plan ${source}`).all(...params) as { detail: string }[]).map((r) => r.detail).join(' | '));
    } else {
      // With sequential scans priced out, a query no index can serve still plans a Seq Scan.
      const client = await catalog.pool.connect();
      try {
        await client.query('set enable_seqscan = off');
        const rows = (await client.query(`explain ${source}`, params)).rows as { 'QUERY PLAN': string }[];
        plans.push(rows.map((r) => r['QUERY PLAN'].trim()).join(' | '));
      } finally {
        await client.query('reset enable_seqscan');
        client.release();
      }
    }
  }
  return plans;
}

const backends = bothCatalogs();

describe.each(backends)('%s: history queries use versions_path_time', (name, open) => {
  let catalog: Traced;
  const sqlite = name === 'SqliteCatalog';
  beforeAll(async () => {
    catalog = await open();
    await fill(catalog);
    return () => catalog.close();
  });

  /** Every plan reads versions through the index and none scans the table. */
  function expectIndexed(plans: string[]): void {
    const onVersions = plans.filter((p) => /versions/.test(p));
    expect(onVersions.length).toBeGreaterThan(0);
    for (const p of onVersions) expect(p).toContain('versions_path_time');
    for (const p of plans) expect(p).not.toMatch(sqlite ? /\bSCAN (versions|v2?|c)\b/ : /Seq Scan on versions/);
  }

  it('the tree at T, first page and the next (the result checked too)', async () => {
    const first = await plansOf(catalog, async () => {
      const page = await catalog.listFiles({ prefix: 'alice/docs/', limit: 10, at: 3500 });
      expect(page.map((f) => f.path)).toEqual(Array.from({ length: 10 }, (_, i) => `alice/docs/f${String(i).padStart(2, '0')}.txt`));
      expect(page[0]?.sha256).toBe(SHA(200));
    });
    expectIndexed(first);
    const next = await plansOf(catalog, () => catalog.listFiles({ prefix: 'alice/docs/', limit: 10, at: 3500, after: 'alice/docs/f09.txt' }));
    expectIndexed(next);
  });

  it('a page after a cursor seeks to the cursor: one lower bound on path, now and at T', async () => {
    for (const at of [undefined, 3500]) {
      const sources: string[] = [];
      catalog.driver.trace = (source) => sources.push(source);
      try {
        const page = await catalog.listFiles({ prefix: 'alice/docs/', limit: 3, at, after: 'alice/docs/f09.txt' });
        expect(page.map((f) => f.path)).toEqual(['alice/docs/f10.txt', 'alice/docs/f11.txt', 'alice/docs/f12.txt']);
      } finally {
        catalog.driver.trace = undefined;
      }
      // Given both `path >= prefix` and `path > cursor`, SQLite seeks on the first: a walk went quadratic.
      const listing = sources.find((s) => /order by (f\.)?path/.test(s)) ?? '';
      expect(listing.match(/\bpath >=? /g)).toEqual(['path > ']);
      // A cursor before the prefix (made up by a client) still gives only paths under it.
      const early = await catalog.listFiles({ prefix: 'alice/docs/', limit: 2, at, after: 'alice/a' });
      expect(early.map((f) => f.path)).toEqual(['alice/docs/f00.txt', 'alice/docs/f01.txt']);
    }
    const trash = await catalog.listDeleted({ prefix: 'alice/docs/', limit: 5, after: 'alice/docs/f01.txt' });
    expect(trash.map((t) => t.path)).toEqual(['alice/docs/f07.txt']);
  });

  it("a path's versions, and a later page seeks to its cursor instead of stepping over the newer ones", async () => {
    expectIndexed(await plansOf(catalog, () => catalog.listVersions({ path: 'alice/busy.log', limit: 10 })));
    const top = await catalog.listVersions({ path: 'alice/busy.log', limit: 10 });
    const cursor = top[top.length - 1]?.version as string;
    let page: Awaited<ReturnType<typeof catalog.listVersions>> = [];
    const plans = await plansOf(catalog, async () => {
      page = await catalog.listVersions({ path: 'alice/busy.log', limit: 10, before: cursor });
    });
    expectIndexed(plans);
    expect(page.map((v) => v.sha256)).toEqual(Array.from({ length: 10 }, (_, j) => SHA(10_000 + 29 - j)));
    // The cursor's time bounds the index range: without it the scan starts at the newest version.
    const main = plans.find((p) => /versions_path_time/.test(p)) ?? '';
    expect(main).toMatch(sqlite ? /versions_path_time \(path=\? AND uploaded_at<\?\)/ : /Index Cond: \(\(path = .*uploaded_at <=/);
  });

  it('a cursor whose version is gone meanwhile still pages on', async () => {
    const top = await catalog.listVersions({ path: 'alice/busy.log', limit: 5 });
    const gone = top[4]?.version as string;
    expect((await catalog.deleteVersions('alice/busy.log', [gone])).removed).toBe(1);
    const page = await catalog.listVersions({ path: 'alice/busy.log', limit: 3, before: gone });
    expect(page.map((v) => v.sha256)).toEqual([SHA(10_034), SHA(10_033), SHA(10_032)]);
  });
});
